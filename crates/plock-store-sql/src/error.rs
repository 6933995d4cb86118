//! The stores' failures as [`StoreError::Backend`], naming what was being done.

use std::fmt::Display;

use plock_core::store::StoreError;

/// A failure of the backend, with what was being done.
pub fn backend(message: impl Into<String>) -> StoreError {
    StoreError::Backend {
        message: message.into(),
    }
}

/// Names what failed: `.context("reading accounts")?`.
pub trait Context<T> {
    /// The error as [`StoreError::Backend`], prefixed by `what`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when `self` is an error.
    fn context(self, what: &str) -> Result<T, StoreError>;
}

impl<T, E: Display> Context<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|e| backend(format!("{what}: {e}")))
    }
}

/// An error with its causes, for drivers whose error says little on its own (PostgreSQL's
/// `db error`) and whose cause says what happened.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// [`Context`] for drivers whose errors need their causes ([`chain`]): a store imports the
/// one that suits its driver, under either name.
pub trait CauseContext<T> {
    /// The error and its causes as [`StoreError::Backend`], prefixed by `what`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when `self` is an error.
    fn context(self, what: &str) -> Result<T, StoreError>;
}

impl<T, E: std::error::Error> CauseContext<T> for Result<T, E> {
    fn context(self, what: &str) -> Result<T, StoreError> {
        self.map_err(|e| backend(format!("{what}: {}", chain(&e))))
    }
}
