//! CSV import and export (domain reference, section 10): accounts and subscriptions from
//! another billing system, validated whole before anything is written.

// Used by the account and subscription importers, which land with those modules.
#[allow(dead_code)]
mod table;

pub use table::{
    Delimiter, ImportError, ImportErrors, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, MAX_REPORTED_ERRORS,
};
