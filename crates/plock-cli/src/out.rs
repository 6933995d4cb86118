//! Writing to the terminal. Standard output may be a pipe its reader has closed
//! (`plock invoice list | head`): that ends the command quietly, as the reader asked, instead
//! of a panic from `println!`.

use std::io::{self, Write};

use serde::Serialize;

use crate::exit::{Class, CliError, fail};

type Result<T> = std::result::Result<T, CliError>;

/// Prints a command's output, with one final newline; nothing when it is empty.
///
/// # Errors
/// Any write error but a closed pipe, which is a normal end.
pub fn print(text: &str) -> io::Result<()> {
    if text.is_empty() {
        return Ok(());
    }
    let mut stdout = io::stdout().lock();
    let written = writeln!(stdout, "{}", text.trim_end()).and_then(|()| stdout.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

/// Prints one line on standard error; a closed standard error is ignored (there is nowhere
/// left to report to, and the exit code still tells).
pub fn error_line(line: &str) {
    let mut stderr = io::stderr().lock();
    let _ = writeln!(stderr, "{line}");
}

/// A value as pretty JSON, for `--json`.
pub fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| fail(Class::Io, e))
}

/// `value` as pretty JSON with `--json`, else as `text` renders it.
pub fn json_or_text<T: Serialize + ?Sized>(
    as_json: bool,
    value: &T,
    text: impl FnOnce(&T) -> String,
) -> Result<String> {
    if as_json {
        json(&value)
    } else {
        Ok(text(value))
    }
}

/// What a write command did, with `--json`: `{"action": "added", "account": {...}}`.
pub fn done_json(action: &str, field: &str, value: &impl Serialize) -> Result<String> {
    let mut object = serde_json::Map::new();
    object.insert("action".to_owned(), action.into());
    object.insert(
        field.to_owned(),
        serde_json::to_value(value).map_err(|e| fail(Class::Io, e))?,
    );
    json(&object)
}
