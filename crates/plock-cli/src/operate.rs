//! The operator's commands: `plock check` and `plock backup`.
//!
//! `plock backup` copies a SQLite data file; a PostgreSQL store is refused with a pointer to
//! the server's own tools (see [`crate::store_postgres::BACKUP_ELSEWHERE`]).

use std::path::Path;

use crate::app::Opened;
use crate::exit::{Class, CliError, fail};
use crate::location::Location;
use crate::out::done_json;
use crate::store_errors::store_error;

type Result<T> = std::result::Result<T, CliError>;

/// `plock check`: everything the store holds, checked; a problem is an I/O failure naming it.
pub fn check(s: &Opened, path: &Location, as_json: bool) -> Result<String> {
    s.store
        .check()
        .map_err(|e| fail(Class::Io, format!("{path} is damaged: {}", store_error(e))))?;
    if as_json {
        done_json("checked", path.json_field(), &path)
    } else {
        Ok(format!(
            "{path}: ok (integrity, accounts, subscriptions, usage, invoices)"
        ))
    }
}

/// `plock backup PATH`: a copy of one committed state, made while others write.
pub fn backup(path: &Location, to: &Path, as_json: bool) -> Result<String> {
    if let Location::Postgres(_) = path {
        return Err(fail(Class::Usage, crate::store_postgres::BACKUP_ELSEWHERE));
    }
    let s = Opened::open(path)?;
    if to.symlink_metadata().is_ok() {
        return Err(fail(
            Class::Conflict,
            format!("{} already exists; backup never overwrites", to.display()),
        ));
    }
    s.store.backup(to).map_err(|e| {
        fail(
            Class::Io,
            format!(
                "cannot back up {path} to {}: {}",
                to.display(),
                store_error(e)
            ),
        )
    })?;
    if as_json {
        done_json("backed_up", "backup", &to)
    } else {
        Ok(format!("backed up {path} to {}", to.display()))
    }
}
