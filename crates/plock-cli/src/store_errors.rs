//! Store errors as the command reports them: each refusal's exit class and one line that names
//! what was refused, a busy database as a conflict.

use plock_core::store::StoreError;

use crate::exit::{Class, CliError, fail};

/// A store failure as the command reports it: a database another process holds is a
/// conflict, anything else an I/O failure.
pub fn store_failed(e: StoreError) -> CliError {
    let message = e.to_string();
    let waited = plock_store_sqlite::BUSY_TIMEOUT.as_secs();
    if message.contains("database is locked") {
        fail(
            Class::Conflict,
            format!(
                "the data file is locked by another plock process (waited {waited} s); try again"
            ),
        )
    } else if message.contains("lock timeout") {
        fail(
            Class::Conflict,
            format!(
                "rows this command changes are locked by another plock process (waited the \
                 store's lock timeout, {waited} s unless the connection sets one); try again"
            ),
        )
    } else {
        fail(Class::Io, message)
    }
}

fn store_class(e: &StoreError) -> Class {
    match e {
        StoreError::Account { source, .. } => match source {
            plock_core::account::AccountError::NotFound { .. } => Class::NotFound,
            plock_core::account::AccountError::DuplicateId { .. }
            | plock_core::account::AccountError::DuplicateKey { .. }
            | plock_core::account::AccountError::DuplicateExternalId { .. }
            | plock_core::account::AccountError::KeyDismissed { .. } => Class::Conflict,
            _ => Class::Validation,
        },
        StoreError::Subscription { .. } => Class::Validation,
        StoreError::NotFound { .. } => Class::NotFound,
        StoreError::Conflict { .. } => Class::Conflict,
        StoreError::Backend { .. } => Class::Io,
    }
}

/// Why the store refused, without its "change N refused" (the position of a change in a batch
/// the operator never sees), and that position.
fn refusal(e: &StoreError) -> (String, Option<usize>) {
    match e {
        StoreError::Account { index, source } => (source.to_string(), Some(*index)),
        StoreError::Subscription { index, source } => (source.to_string(), Some(*index)),
        StoreError::NotFound { index, what, id } => (format!("no {what} {id:?}"), Some(*index)),
        StoreError::Conflict {
            index,
            what,
            id,
            reason,
        } => (format!("{what} {id:?} {reason}"), Some(*index)),
        StoreError::Backend { .. } => (e.to_string(), None),
    }
}

/// Maps a store error to its class.
pub fn store_error(e: StoreError) -> CliError {
    refused(&e, &|_| None)
}

/// A refused batch as the command reports it: the refused change named by `subject_of` its
/// index in the batch, else by the command.
pub fn refused(e: &StoreError, subject_of: &dyn Fn(usize) -> Option<String>) -> CliError {
    if let StoreError::Backend { .. } = e {
        return store_failed(StoreError::Backend {
            message: refusal(e).0,
        });
    }
    let class = store_class(e);
    let (reason, index) = refusal(e);
    match index.and_then(subject_of) {
        Some(subject) => fail(class, format!("{subject}: {reason}")),
        None => fail(class, reason),
    }
}
