//! The operator's commands: `plock check` and `plock backup`.

use std::path::Path;

use crate::app::{Opened, store_error};
use crate::exit::{Class, CliError, fail};
use crate::out::done_json;

type Result<T> = std::result::Result<T, CliError>;

/// `plock check`: everything the store holds, checked; a problem is an I/O failure naming it.
pub fn check(s: &Opened, path: &Path, as_json: bool) -> Result<String> {
    s.store.check().map_err(|e| {
        fail(
            Class::Io,
            format!("{} is damaged: {}", path.display(), store_error(e)),
        )
    })?;
    if as_json {
        done_json("checked", "data_file", &path)
    } else {
        Ok(format!(
            "{}: ok (integrity, accounts, subscriptions, usage, invoices)",
            path.display()
        ))
    }
}

/// `plock backup PATH`: a copy of one committed state, made while others write.
pub fn backup(s: &Opened, path: &Path, to: &Path, as_json: bool) -> Result<String> {
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
                "cannot back up {} to {}: {}",
                path.display(),
                to.display(),
                store_error(e)
            ),
        )
    })?;
    if as_json {
        done_json("backed_up", "backup", &to)
    } else {
        Ok(format!("backed up {} to {}", path.display(), to.display()))
    }
}
