//! The shell around core: how a command's writes reach the store,
//! and how core's errors map to exit classes.

use chrono::NaiveDate;
use plock_core::store::{Batch, Change, StoreError};
use plock_core::{Account, AccountId, AccountKey, Store};

use crate::exit::{Class, CliError, fail};
use crate::location::Location;
use crate::store_open::{self, Backend, store_failed};

/// Today's date in UTC, read from the system clock (only the CLI reads clocks).
pub fn today() -> NaiveDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(secs / 86_400)))
        .unwrap_or_default()
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

/// The open store a command works on. Every write of a command is one batch, one
/// transaction: all of it is saved, or nothing.
pub struct Opened {
    /// The store.
    pub store: Box<dyn Backend>,
}

/// A refused batch as the command reports it: the refused change named by `subject_of` its
/// index in the batch, else by the command.
fn refused(e: &StoreError, subject_of: &dyn Fn(usize) -> Option<String>) -> CliError {
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

impl Opened {
    /// Opens the store, which must exist (run `plock init` first).
    pub fn open(location: &Location) -> Result<Opened, CliError> {
        Ok(Opened {
            store: store_open::open(location)?,
        })
    }

    /// Applies a batch, all of it or nothing.
    pub fn commit(&mut self, batch: Batch) -> Result<(), CliError> {
        self.commit_described(batch, &|_, change| subject(change))
    }

    /// As [`Opened::commit`], naming a refused change of a batch of several with `describe`
    /// (given the store as it was before the batch: a refused batch leaves it so, and only the
    /// refused change is described, not one look-up a change).
    pub fn commit_described(
        &mut self,
        batch: Batch,
        describe: &dyn Fn(&dyn Backend, &Change) -> String,
    ) -> Result<(), CliError> {
        let kept = (batch.changes.len() > 1).then(|| batch.clone());
        let applied = self.store.apply(batch);
        applied.map_err(|e| refused(&e, &|i| self.describe(kept.as_ref(), i, describe)))
    }

    /// What [`Opened::commit_described`] would refuse; nothing is written.
    pub fn check_described(
        &mut self,
        batch: &Batch,
        describe: &dyn Fn(&dyn Backend, &Change) -> String,
    ) -> Result<(), CliError> {
        let checked = self.store.dry_run(batch);
        let several = (batch.changes.len() > 1).then_some(batch);
        checked.map_err(|e| refused(&e, &|i| self.describe(several, i, describe)))
    }

    /// Change `index` of a batch of several, described; a batch of one is named by the command
    /// that made it.
    fn describe(
        &self,
        batch: Option<&Batch>,
        index: usize,
        describe: &dyn Fn(&dyn Backend, &Change) -> String,
    ) -> Option<String> {
        let change = batch?.changes.get(index)?;
        Some(describe(self.store.as_ref(), change))
    }
}

/// Creates an empty store; refuses to overwrite anything at `location`.
pub fn init(location: &Location) -> Result<(), CliError> {
    store_open::create(location, "plock init").map(drop)
}

/// Finds an account by id, else by key.
pub fn find_account(store: &dyn Store, text: &str) -> Result<Account, CliError> {
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
