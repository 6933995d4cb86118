//! The shell around core: how a command's writes reach the store,
//! and how core's errors map to exit classes.

use chrono::NaiveDate;
use plock_core::store::{Batch, Change};
use plock_core::{Account, AccountBook, AccountId, AccountKey, Store};
use plock_store_sqlite::BookMark;

use crate::backend::Backend;
use crate::exit::{Class, CliError, fail};
use crate::location::Location;
use crate::store_errors::refused;
use crate::store_open;

/// Today's date in UTC, read from the system clock (only the CLI reads clocks).
pub fn today() -> NaiveDate {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    NaiveDate::from_ymd_opt(1970, 1, 1)
        .and_then(|epoch| epoch.checked_add_days(chrono::Days::new(secs / 86_400)))
        .unwrap_or_default()
}

/// What a change is about, to name it when the store refuses it: `account acme`,
/// `subscription s1`, ...
pub fn subject(change: &Change) -> String {
    match change {
        Change::Link { child, master } => format!("link of {child} to master {master}"),
        Change::Tag { id, tag } | Change::Untag { id, tag } => {
            format!("tag {tag} of account {id}")
        }
        Change::PutSubscription { subscription } => format!("subscription {}", subscription.id()),
        Change::PutMetric { metric } => format!("metric {}", metric.id),
        Change::AddUsage { .. } => "usage records".to_owned(),
        Change::RecordRun { .. } => "billing run".to_owned(),
        other => other
            .account()
            .map_or_else(|| "change".to_owned(), |id| format!("account {id}")),
    }
}

/// The open store a command works on. Every write of a command is one batch, one
/// transaction: all of it is saved, or nothing.
pub struct Opened {
    /// The store.
    pub store: Box<dyn Backend>,
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

    /// As [`Opened::commit`], naming refused change `index` with `name` (given the store as it
    /// was before the batch), so a large batch need not be kept beside the store's work; the
    /// store takes `book`, read with `mark`, for its stored accounts if nothing was written
    /// since.
    pub fn commit_named(
        &mut self,
        batch: Batch,
        book: AccountBook,
        mark: Option<BookMark>,
        name: &dyn Fn(&dyn Backend, usize) -> Option<String>,
    ) -> Result<(), CliError> {
        let applied = self.store.apply_on_book(batch, book, mark);
        applied.map_err(|e| refused(&e, &|i| name(self.store.as_ref(), i)))
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
