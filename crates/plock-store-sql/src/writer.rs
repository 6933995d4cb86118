//! What a store does in its transaction for [`crate::batch::apply`]: each method is one read
//! or one kind of write, in the store's dialect.

use plock_core::billing::{Billed, BilledUsage};
use plock_core::store::StoreError;
use plock_core::subscription::BilledThrough;
use plock_core::{
    AccountBook, AccountId, AccountKey, Invoice, Metric, Subscription, SubscriptionId, UsageRecord,
};
use serde_json::Value;

use crate::plan::AccountWrites;
use crate::rows::SubscriptionRow;

/// Change `index` of a batch, with the account book as the batch read it (`original`) and as
/// its changes so far left it (`work`).
#[derive(Debug, Clone, Copy)]
pub struct Step<'a> {
    /// The change's position in the batch.
    pub index: usize,
    /// The book as read.
    pub original: &'a AccountBook,
    /// The book after the changes before this one.
    pub work: &'a AccountBook,
}

/// A billing run's records: its invoices, and what its subscriptions are billed through.
#[derive(Debug, Clone, Copy)]
pub struct Run<'a> {
    /// The invoices.
    pub invoices: &'a [Invoice],
    /// The subscriptions billed, with their watermarks before and after.
    pub billed: &'a [Billed],
    /// What each usage item's periods are billed at, to rate late usage against.
    pub billed_usage: &'a [BilledUsage],
}

/// A store's transaction, as [`crate::batch::apply`] drives it.
pub trait Writer {
    /// Why a write failed: a refusal ([`StoreError`]) or the store's own failure.
    type Error: From<StoreError>;

    /// The store's `accounts` columns, `id` first, as [`AccountWrites::plan`] takes them.
    const ACCOUNT_COLUMNS: &'static str;

    /// Change `index` of the batch is being applied (PostgreSQL names it in a lost race).
    fn at(&mut self, index: usize) {
        let _ = index;
    }

    /// The ids of the accounts holding `keys`.
    ///
    /// # Errors
    /// The store's failure.
    fn ids_of_keys(&mut self, keys: &[&str]) -> Result<Vec<String>, Self::Error>;

    /// The account holding `external_id` in `system`.
    ///
    /// # Errors
    /// The store's failure.
    fn external_id_owner(
        &mut self,
        system: &str,
        external_id: &str,
    ) -> Result<Option<String>, Self::Error>;

    /// The accounts holding `external_ids`, each `(system, id)`: what
    /// [`Writer::external_id_owner`] answers for each, in any order. A store that answers a
    /// list with one statement overrides it.
    ///
    /// # Errors
    /// The store's failure.
    fn external_id_owners(
        &mut self,
        external_ids: &[(&str, &str)],
    ) -> Result<Vec<String>, Self::Error> {
        let mut owners = Vec::new();
        for (system, id) in external_ids {
            owners.extend(self.external_id_owner(system, id)?);
        }
        Ok(owners)
    }

    /// The masters of accounts `ids`; a store with concurrent writers locks `ids` and them.
    ///
    /// # Errors
    /// The store's failure.
    fn masters_of(&mut self, ids: &[&str]) -> Result<Vec<String>, Self::Error>;

    /// The children of accounts `ids`.
    ///
    /// # Errors
    /// The store's failure.
    fn children_of(&mut self, ids: &[&str]) -> Result<Vec<String>, Self::Error>;

    /// Accounts `ids`, each as the JSON [`crate::codec::account`] reads.
    ///
    /// # Errors
    /// The store's failure.
    fn accounts(&mut self, ids: &[&str]) -> Result<Vec<Value>, Self::Error>;

    /// Which of `keys` are dismissed.
    ///
    /// # Errors
    /// The store's failure.
    fn dismissed(&mut self, keys: &[&str]) -> Result<Vec<String>, Self::Error>;

    /// Accounts `ids` and which of `keys` are dismissed, as a book: by default read through
    /// [`Writer::accounts`] and [`Writer::dismissed`]; a store that reads its rows into the
    /// book without a JSON value an account overrides it.
    ///
    /// # Errors
    /// The store's failure, or [`StoreError::Backend`] for stored accounts that break a rule
    /// of the book.
    fn book_of(&mut self, ids: &[&str], keys: &[&str]) -> Result<AccountBook, Self::Error> {
        let accounts = self.accounts(ids)?;
        let dismissed = self.dismissed(keys)?;
        Ok(crate::codec::book(accounts, dismissed)?)
    }

    /// Does account `id` have subscriptions?
    ///
    /// # Errors
    /// The store's failure.
    fn has_subscriptions(&mut self, id: &AccountId) -> Result<bool, Self::Error>;

    /// Does any usage name account key `key`?
    ///
    /// # Errors
    /// The store's failure.
    fn has_usage(&mut self, key: &AccountKey) -> Result<bool, Self::Error>;

    /// The subscriptions of account `id`.
    ///
    /// # Errors
    /// The store's failure.
    fn subscriptions_of(&mut self, id: &AccountId) -> Result<Vec<Subscription>, Self::Error>;

    /// What stored subscription `id` is billed through; `None` when it is not stored.
    ///
    /// # Errors
    /// The store's failure.
    fn watermarks(&mut self, id: &SubscriptionId) -> Result<Option<BilledThrough>, Self::Error>;

    /// Inserts or replaces a subscription.
    ///
    /// # Errors
    /// The store's failure.
    fn put_subscription(&mut self, row: SubscriptionRow<'_>) -> Result<(), Self::Error>;

    /// Inserts or replaces a metric.
    ///
    /// # Errors
    /// The store's failure.
    fn put_metric(&mut self, metric: &Metric) -> Result<(), Self::Error>;

    /// Adds the usage records of `step`'s change; every key must be held by an account, in
    /// `work` or among the stored accounts `original` does not hold.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown key, or the store's failure.
    fn add_usage(&mut self, step: Step<'_>, records: &[UsageRecord]) -> Result<(), Self::Error>;

    /// Records change `index`'s billing run.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] or [`StoreError::NotFound`] as the store contract says, or
    /// the store's failure.
    fn record_run(&mut self, index: usize, run: Run<'_>) -> Result<(), Self::Error>;

    /// Writes the account rows that differ after the batch, planned with
    /// [`Writer::ACCOUNT_COLUMNS`].
    ///
    /// # Errors
    /// The store's failure.
    fn write_accounts(&mut self, writes: &AccountWrites) -> Result<(), Self::Error>;

    /// Called once the account rows are written, with the book as the batch read it and as
    /// it left it: a store that keeps rows under their invoice owner moves the ones whose
    /// owner changed.
    ///
    /// # Errors
    /// The store's failure.
    fn accounts_written(
        &mut self,
        original: &AccountBook,
        work: &AccountBook,
    ) -> Result<(), Self::Error> {
        let _ = (original, work);
        Ok(())
    }
}
