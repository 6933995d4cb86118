//! The shell around core: where the data file is, how it is opened, locked, loaded and saved,
//! and how core's errors map to exit classes.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chrono::NaiveDate;
use plock_core::store::{Batch, Change, StoreError};
use plock_core::{Account, AccountId, AccountKey, Store};
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
    let class = store_class(&e);
    fail(class, refusal(&e).0)
}

/// What a change is about, to name it when the store refuses it: `account acme`,
/// `subscription s1`, ...
pub fn subject(change: &Change) -> String {
    match change {
        Change::AddAccount { account } | Change::AddDiscovered { account } => {
            format!("account {}", account.id())
        }
        Change::EditAccount { id, .. }
        | Change::Approve { id }
        | Change::Dismiss { id }
        | Change::Archive { id }
        | Change::Restore { id }
        | Change::SetExternalId { id, .. }
        | Change::RemoveExternalId { id, .. } => format!("account {id}"),
        Change::Unlink { child } => format!("account {child}"),
        Change::SetGroupBilling { master, .. } => format!("account {master}"),
        Change::Link { child, master } => format!("link of {child} to master {master}"),
        Change::Tag { id, tag } | Change::Untag { id, tag } => {
            format!("tag {tag} of account {id}")
        }
        Change::PutSubscription { subscription } => format!("subscription {}", subscription.id()),
        Change::PutMetric { metric } => format!("metric {}", metric.id),
        Change::AddUsage { .. } => "usage records".to_owned(),
        Change::RecordRun { .. } => "billing run".to_owned(),
    }
}

/// An open, locked data file and the store loaded from it.
pub struct Session {
    file: DataFile,
    /// The store.
    pub store: MemoryStore,
}

fn missing(path: &Path) -> CliError {
    fail(
        Class::NotFound,
        format!(
            "no data file at {}; run `plock init` to create one, or pass --data",
            path.display()
        ),
    )
}

impl Session {
    /// Opens and loads the data file, which must exist (run `plock init` first).
    pub fn open(path: &Path) -> Result<Session, CliError> {
        // Look before locking: the lock is a sibling file, and a command that finds no data
        // file must leave nothing behind. Look again once locked, in case it went meanwhile.
        if !path.exists() {
            return Err(missing(path));
        }
        let mut file = DataFile::open(path, LockWait::Timeout(LOCK_WAIT)).map_err(file_error)?;
        if !file.exists() {
            return Err(missing(path));
        }
        let store = MemoryStore::load(&mut file).map_err(file_error)?;
        Ok(Session { file, store })
    }

    /// Applies a batch and saves; on any refusal the file is untouched.
    pub fn commit(&mut self, batch: Batch) -> Result<(), CliError> {
        self.commit_described(batch, &|_, change| subject(change))
    }

    /// As [`Session::commit`], naming a refused change of a batch of several with `describe`
    /// (given the store as it was before the batch).
    pub fn commit_described(
        &mut self,
        batch: Batch,
        describe: &dyn Fn(&MemoryStore, &Change) -> String,
    ) -> Result<(), CliError> {
        let next = self.check_described(batch, describe)?;
        next.save(&mut self.file).map_err(file_error)?;
        self.store = next;
        Ok(())
    }

    /// Applies a batch to a copy of the store and returns the copy; nothing is saved. A
    /// refused change of a batch of several is named with `describe`; a batch of one is
    /// named by the command that made it.
    pub fn check_described(
        &self,
        batch: Batch,
        describe: &dyn Fn(&MemoryStore, &Change) -> String,
    ) -> Result<MemoryStore, CliError> {
        let subjects: Vec<String> = if batch.changes.len() > 1 {
            batch
                .changes
                .iter()
                .map(|change| describe(&self.store, change))
                .collect()
        } else {
            Vec::new()
        };
        let mut next = self.store.clone();
        next.apply(batch).map_err(|e| {
            let class = store_class(&e);
            let (reason, index) = refusal(&e);
            match index.and_then(|i| subjects.get(i)) {
                Some(subject) => fail(class, format!("{subject}: {reason}")),
                None => fail(class, reason),
            }
        })?;
        Ok(next)
    }
}

/// Locks a data file that must not exist yet, for `init` and `demo --save`. It looks before
/// locking, so a refusal leaves no lock file behind.
pub fn create(path: &Path, command: &str) -> Result<DataFile, CliError> {
    let exists = || {
        fail(
            Class::Conflict,
            format!(
                "data file {} already exists; {command} never overwrites",
                path.display()
            ),
        )
    };
    if path.exists() {
        return Err(exists());
    }
    let file = DataFile::open(path, LockWait::Timeout(LOCK_WAIT)).map_err(file_error)?;
    if file.exists() {
        return Err(exists());
    }
    Ok(file)
}

/// Creates an empty data file; refuses to overwrite one.
pub fn init(path: &Path) -> Result<(), CliError> {
    let mut file = create(path, "plock init")?;
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
