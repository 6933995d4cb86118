//! Why a statement of a batch failed: a rule refused it, or the database failed.

use plock_core::store::StoreError;
use plock_store_sql::error::chain;
use postgres::error::SqlState;

use crate::codec::backend;

/// Why a batch did not commit: a rule refused it, or the database failed (maybe a lost race).
pub(crate) enum Failure {
    Refused(StoreError),
    Database {
        what: &'static str,
        error: postgres::Error,
    },
}

impl From<StoreError> for Failure {
    fn from(error: StoreError) -> Failure {
        Failure::Refused(error)
    }
}

/// Names what failed: `.db("writing accounts")?`.
pub(crate) trait Db<T> {
    fn db(self, what: &'static str) -> Result<T, Failure>;
}

impl<T> Db<T> for Result<T, postgres::Error> {
    fn db(self, what: &'static str) -> Result<T, Failure> {
        self.map_err(|error| Failure::Database { what, error })
    }
}

/// A failure as the store reports it: a refusal as it is, a deadlock or a lost race with
/// another writer as a conflict on `what`, anything else as a backend failure.
pub(crate) fn refusal(failure: Failure, index: usize, what: &'static str) -> StoreError {
    match failure {
        Failure::Refused(error) => error,
        Failure::Database { what: doing, error } => {
            let raced = [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::UNIQUE_VIOLATION,
            ]
            .iter()
            .any(|code| error.code() == Some(code));
            if raced {
                StoreError::Conflict {
                    index,
                    what,
                    id: error
                        .as_db_error()
                        .map(|e| e.message().to_owned())
                        .unwrap_or_default(),
                    reason: "conflicted with another writer; nothing was written, try again",
                }
            } else {
                backend(format!("{doing}: {}", chain(&error)))
            }
        }
    }
}
