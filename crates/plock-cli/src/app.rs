//! The shell around core: where the data file is, how it is opened, locked, loaded and saved,
//! and how core's errors map to exit classes.

use std::path::PathBuf;
use std::time::Duration;

use chrono::NaiveDate;
use plock_core::{Account, AccountId, AccountKey, Batch, Store, StoreError};
use plock_store_memory::{DataFile, DataFileError, LockWait, MemoryStore};

use crate::exit::{Class, CliError, fail};

/// The data file's default name in the working directory.
pub const DEFAULT_DATA: &str = "plock.data";
/// How long a command waits for another plock process to release the data file.
const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Where the data file is: `--data`, else `$PLOCK_DATA`, else `./plock.data`.
pub fn data_path(flag: Option<PathBuf>) -> PathBuf {
    flag.or_else(|| std::env::var_os("PLOCK_DATA").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(DEFAULT_DATA))
}

/// Today's date in UTC, read from the system clock (only the CLI reads clocks).
pub fn today() -> NaiveDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(secs / 86_400)))
        .unwrap_or_default()
}

/// Maps a data-file error to its class.
pub fn file_error(e: DataFileError) -> CliError {
    let class = match e {
        DataFileError::InUse { .. } | DataFileError::LockTimeout { .. } => Class::Conflict,
        DataFileError::Corrupt { .. }
        | DataFileError::Truncated { .. }
        | DataFileError::NewerVersion { .. }
        | DataFileError::RefusedOverwrite { .. }
        | DataFileError::Encode { .. }
        | DataFileError::Io { .. } => Class::Io,
    };
    CliError::new(class, e)
}

/// Maps a store error to its class.
pub fn store_error(e: StoreError) -> CliError {
    let class = match &e {
        StoreError::Account { source, .. } => match source {
            plock_core::AccountError::NotFound { .. } => Class::NotFound,
            plock_core::AccountError::DuplicateId { .. }
            | plock_core::AccountError::DuplicateKey { .. }
            | plock_core::AccountError::DuplicateExternalId { .. }
            | plock_core::AccountError::KeyDismissed { .. } => Class::Conflict,
            _ => Class::Validation,
        },
        StoreError::Subscription { .. } => Class::Validation,
        StoreError::NotFound { .. } => Class::NotFound,
        StoreError::Conflict { .. } => Class::Conflict,
        StoreError::Backend { .. } => Class::Io,
    };
    CliError::new(class, e)
}

/// An open, locked data file and the store loaded from it.
pub struct Session {
    file: DataFile,
    /// The store.
    pub store: MemoryStore,
}

impl Session {
    /// Opens and loads the data file, which must exist (run `plock init` first).
    pub fn open(path: PathBuf) -> Result<Session, CliError> {
        let mut file = DataFile::open(&path, LockWait::Timeout(LOCK_WAIT)).map_err(file_error)?;
        if !file.exists() {
            return Err(fail(
                Class::NotFound,
                format!(
                    "no data file at {}; run `plock init` to create one, or pass --data",
                    path.display()
                ),
            ));
        }
        let store = MemoryStore::load(&mut file).map_err(file_error)?;
        Ok(Session { file, store })
    }

    /// Applies a batch and saves; on any refusal the file is untouched.
    pub fn commit(&mut self, batch: Batch) -> Result<(), CliError> {
        let mut next = self.store.clone();
        next.apply(batch).map_err(store_error)?;
        next.save(&mut self.file).map_err(file_error)?;
        self.store = next;
        Ok(())
    }
}

/// Creates an empty data file; refuses to overwrite one.
pub fn init(path: PathBuf) -> Result<(), CliError> {
    let mut file = DataFile::open(&path, LockWait::Timeout(LOCK_WAIT)).map_err(file_error)?;
    if file.exists() {
        return Err(fail(
            Class::Conflict,
            format!(
                "data file {} already exists; plock init never overwrites",
                path.display()
            ),
        ));
    }
    MemoryStore::new().save(&mut file).map_err(file_error)
}

/// Finds an account by id, else by key.
pub fn find_account(store: &MemoryStore, text: &str) -> Result<Account, CliError> {
    let by_id = AccountId::new(text)
        .ok()
        .and_then(|id| store.account(&id).ok().flatten());
    let by_key = || {
        AccountKey::new(text)
            .ok()
            .and_then(|k| store.account_by_key(&k).ok().flatten())
    };
    by_id.or_else(by_key).ok_or_else(|| {
        fail(
            Class::NotFound,
            format!("no account with id or key {text:?}"),
        )
    })
}

/// A validation error from any displayable cause.
pub fn invalid(e: impl std::fmt::Display) -> CliError {
    fail(Class::Validation, e)
}
