//! Where the company's data is: a SQLite data file (`--data`, `$PLOCK_DATA`, `./plock.data`)
//! or a PostgreSQL database (`--store`, `$PLOCK_STORE`).
//!
//! A flag beats an environment variable, so `--data` works in a shell that sets
//! `$PLOCK_STORE` and the other way round; two flags, or two variables, that name both kinds
//! are a usage error rather than a silent choice. A PostgreSQL connection string may hold a
//! password: it is shown, in every message, with the password replaced by `***`.

use std::fmt;
use std::path::PathBuf;

use serde::{Serialize, Serializer};

use crate::exit::{Class, CliError, fail};

/// The data file's default name in the working directory: a SQLite database, under the name
/// plock's data file has always had, so scripts and `$PLOCK_DATA` keep working.
pub const DEFAULT_DATA: &str = "plock.data";

/// What a password is shown as.
const HIDDEN: &str = "***";

/// Where the company's data is.
#[derive(Debug, Clone)]
pub enum Location {
    /// A SQLite data file.
    File(PathBuf),
    /// A PostgreSQL database.
    Postgres(Connection),
}

/// A PostgreSQL connection string: a `postgres://` or `postgresql://` URL, or libpq's
/// `key=value` settings.
#[derive(Clone)]
pub struct Connection {
    config: String,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Connection").field(&self.shown()).finish()
    }
}

impl Connection {
    /// Takes `config` if it is a PostgreSQL connection string; `source` names where it came
    /// from for the error.
    fn new(config: String, source: &str) -> Result<Connection, CliError> {
        let trimmed = config.trim();
        if is_url(trimmed) || trimmed.contains('=') {
            return Ok(Connection {
                config: trimmed.to_owned(),
            });
        }
        // The value itself is not repeated: it may be a password pasted in the wrong place.
        Err(fail(
            Class::Usage,
            format!(
                "{source} is not a PostgreSQL connection string: give a postgres:// URL \
                 (postgres://USER@HOST:PORT/DATABASE) or key=value settings (host=HOST \
                 dbname=DATABASE); a SQLite data file is --data"
            ),
        ))
    }

    /// The connection string itself, password included: for the store only, never printed.
    pub fn config(&self) -> &str {
        &self.config
    }

    /// The connection string with its password hidden.
    pub fn shown(&self) -> String {
        if is_url(&self.config) {
            hide_in_url(&self.config)
        } else {
            hide_in_settings(&self.config)
                .unwrap_or_else(|| "(PostgreSQL connection settings)".to_owned())
        }
    }

    /// `message` with every form of the connection string's password hidden.
    pub fn scrub(&self, message: &str) -> String {
        let mut out = message.to_owned();
        for secret in self.passwords() {
            if !secret.is_empty() {
                out = out.replace(&secret, HIDDEN);
            }
        }
        out
    }

    /// The password as written and as decoded, wherever the string holds one.
    fn passwords(&self) -> Vec<String> {
        let mut found = Vec::new();
        if is_url(&self.config) {
            if let Some((user_info, _)) = authority(&self.config).and_then(|a| a.rsplit_once('@'))
                && let Some((_, password)) = user_info.split_once(':')
            {
                found.push(password.to_owned());
                found.push(percent_decoded(password));
            }
            let query = self.config.split_once('?').map(|(_, q)| q).unwrap_or("");
            for (name, value) in query.split('&').filter_map(|p| p.split_once('=')) {
                if name == "password" {
                    found.push(value.to_owned());
                    found.push(percent_decoded(value));
                }
            }
        } else if let Some(pairs) = settings(&self.config) {
            found.extend(
                pairs
                    .into_iter()
                    .filter(|(key, _)| key == "password")
                    .map(|(_, value)| value),
            );
        }
        found
    }
}

impl Location {
    /// The field naming it in a `--json` report: `data_file` or `store`.
    pub fn json_field(&self) -> &'static str {
        match self {
            Location::File(_) => "data_file",
            Location::Postgres(_) => "store",
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(connection) => write!(f, "{}", connection.shown()),
        }
    }
}

impl Serialize for Location {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

/// Where the data is, from the flags and then the environment; see the module documentation.
///
/// # Errors
/// Usage when both kinds are named at one level, or `--store` is not a connection string.
pub fn resolve(data: Option<PathBuf>, store: Option<String>) -> Result<Location, CliError> {
    match (data, store) {
        (Some(_), Some(_)) => Err(both("--data", "--store")),
        (Some(path), None) => Ok(Location::File(path)),
        (None, Some(config)) => Ok(Location::Postgres(Connection::new(config, "--store")?)),
        (None, None) => {
            let data = std::env::var_os("PLOCK_DATA").filter(|v| !v.is_empty());
            let store = std::env::var("PLOCK_STORE")
                .ok()
                .filter(|v| !v.trim().is_empty());
            match (data, store) {
                (Some(_), Some(_)) => Err(both("$PLOCK_DATA", "$PLOCK_STORE")),
                (_, Some(config)) => {
                    Ok(Location::Postgres(Connection::new(config, "$PLOCK_STORE")?))
                }
                (data, None) => Ok(Location::File(
                    data.map_or_else(|| PathBuf::from(DEFAULT_DATA), PathBuf::from),
                )),
            }
        }
    }
}

fn both(data: &str, store: &str) -> CliError {
    fail(
        Class::Usage,
        format!(
            "{data} (a SQLite data file) and {store} (a PostgreSQL database) are both given; \
             give one"
        ),
    )
}

fn is_url(config: &str) -> bool {
    config.starts_with("postgres://") || config.starts_with("postgresql://")
}

/// What lies between a URL's `://` and its path or query: `user:password@host:port`.
fn authority(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    Some(rest.split(['/', '?']).next().unwrap_or(rest))
}

/// A URL with the password of its user part and of a `password=` parameter hidden.
fn hide_in_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at_checked(end).unwrap_or((rest, ""));
    let authority = match authority.rsplit_once('@') {
        Some((user_info, hosts)) => match user_info.split_once(':') {
            Some((user, _)) => format!("{user}:{HIDDEN}@{hosts}"),
            None => authority.to_owned(),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let params: Vec<String> = query
                .split('&')
                .map(|param| match param.split_once('=') {
                    Some(("password", _)) => format!("password={HIDDEN}"),
                    _ => param.to_owned(),
                })
                .collect();
            format!("{path}?{}", params.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// libpq settings with the password's value hidden; `None` when they do not parse.
fn hide_in_settings(config: &str) -> Option<String> {
    let pairs = settings(config)?;
    let shown: Vec<String> = pairs
        .into_iter()
        .map(|(key, value)| {
            if key == "password" {
                format!("{key}={HIDDEN}")
            } else if value.is_empty() || value.contains([' ', '\'', '\\']) {
                format!(
                    "{key}='{}'",
                    value.replace('\\', "\\\\").replace('\'', "\\'")
                )
            } else {
                format!("{key}={value}")
            }
        })
        .collect();
    Some(shown.join(" "))
}

/// libpq's `key = value` settings, a value bare or in single quotes with `\` escapes.
fn settings(config: &str) -> Option<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    let mut chars = config.chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        if chars.peek().is_none() {
            return Some(pairs);
        }
        let mut key = String::new();
        while let Some(c) = chars.next_if(|c| *c != '=' && !c.is_whitespace()) {
            key.push(c);
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        chars.next_if_eq(&'=')?;
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'\'').is_some() {
            loop {
                match chars.next()? {
                    '\'' => break,
                    '\\' => value.push(chars.next()?),
                    c => value.push(c),
                }
            }
        } else {
            while let Some(c) = chars.next_if(|c| !c.is_whitespace()) {
                value.push(c);
            }
        }
        if key.is_empty() {
            return None;
        }
        pairs.push((key, value));
    }
}

/// `%XX` escapes decoded; anything that is not one is kept as it is.
fn percent_decoded(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let escaped = (b == b'%')
            .then(|| bytes.get(i.saturating_add(1)..i.saturating_add(3)))
            .flatten()
            .and_then(|hex| std::str::from_utf8(hex).ok())
            .and_then(|hex| u8::from_str_radix(hex, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i = i.saturating_add(3);
            }
            None => {
                out.push(b);
                i = i.saturating_add(1);
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connection(config: &str) -> Connection {
        Connection::new(config.to_owned(), "--store").unwrap()
    }

    #[test]
    fn a_url_is_shown_without_its_password() {
        let c = connection(
            "postgres://billing:s%40cret@db.example:5433/plock?password=two&sslmode=disable",
        );
        assert_eq!(
            c.shown(),
            "postgres://billing:***@db.example:5433/plock?password=***&sslmode=disable"
        );
        let message = "failed for s@cret, s%40cret and two";
        assert_eq!(c.scrub(message), "failed for ***, *** and ***");
        assert_eq!(
            connection("postgresql://plock@localhost/db").shown(),
            "postgresql://plock@localhost/db"
        );
    }

    #[test]
    fn settings_are_shown_without_the_password() {
        let c = connection("host=127.0.0.1 port=5432 password = 'it''s \\'x y' user=plock");
        // `''` is not an escape in libpq's syntax: the quoted value ends at the second quote.
        assert_eq!(c.shown(), "(PostgreSQL connection settings)");
        let c = connection("host=127.0.0.1 password='a b\\'c' user=plock");
        assert_eq!(c.shown(), "host=127.0.0.1 password=*** user=plock");
        assert_eq!(c.scrub("bad a b'c"), "bad ***");
    }

    #[test]
    fn a_path_is_not_a_connection_string() {
        let e = Connection::new("/srv/plock.data".to_owned(), "--store").unwrap_err();
        assert_eq!(e.class, Class::Usage);
        assert!(!e.to_string().contains("/srv/plock.data"));
    }

    #[test]
    fn two_flags_are_a_usage_error() {
        let e = resolve(Some(PathBuf::from("x")), Some("host=h".to_owned())).unwrap_err();
        assert_eq!(e.class, Class::Usage);
        assert!(e.to_string().contains("--data"), "{e}");
    }
}
