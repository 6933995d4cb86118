//! What a store does in its transaction for [`crate::batch::apply`]: each method is one read
//! or one kind of write, in the store's dialect.

use plock_core::billing::Billed;
use plock_core::store::StoreError;
use plock_core::subscription::BilledThrough;
use plock_core::{
    AccountBook, AccountId, AccountKey, Invoice, Metric, Subscription, SubscriptionId,
    UsageRecord,
};
use serde_json::Value;

use crate::rows::SubscriptionRow;

/// A store's transaction, as [`crate::batch::apply`] drives it.
pub trait Writer {
    /// Why a write failed: a refusal ([`StoreError`]) or the store's own failure.
    type Error: From<StoreError>;

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

    /// Adds change `index`'s usage records; every key must be held by an account, in `work`
    /// (the book as the batch has changed it) or among the stored accounts `original` (the
    /// book as read) does not hold.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an unknown key, or the store's failure.
    fn add_usage(
        &mut self,
        original: &AccountBook,
        work: &AccountBook,
        index: usize,
        records: &[UsageRecord],
    ) -> Result<(), Self::Error>;

    /// Records change `index`'s billing run.
    ///
    /// # Errors
    /// [`StoreError::Conflict`] or [`StoreError::NotFound`] as the store contract says, or
    /// the store's failure.
    fn record_run(
        &mut self,
        index: usize,
        invoices: &[Invoice],
        billed: &[Billed],
    ) -> Result<(), Self::Error>;

    /// Writes the accounts that differ between `original` and `work`
    /// ([`crate::plan::AccountWrites::plan`] says which rows).
    ///
    /// # Errors
    /// The store's failure.
    fn write_accounts(
        &mut self,
        original: &AccountBook,
        work: &AccountBook,
    ) -> Result<(), Self::Error>;
}
