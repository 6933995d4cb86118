//! Why a statement of a batch failed: a rule refused it, or the database failed.

use plock_core::store::StoreError;

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
