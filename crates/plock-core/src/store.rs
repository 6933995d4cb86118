//! The store port: how plock-core reads and writes a company's data, whatever keeps it.
//!
//! The trait is synchronous (the CLI is) and shaped for a database as much as for memory:
//! reads are batched (`accounts(&[id])`, `usage(&[key], period)`) or paged
//! ([`AccountQuery::after`]); nothing assumes the whole company fits in memory.
//!
//! Writes go through [`Store::apply`]: a [`Batch`] of [`Change`]s applies entirely or not at
//! all, and the domain rules are checked before anything is written. The account rules live in
//! [`AccountBook`]: the memory store applies a batch to a copy of its book and swaps it in only
//! when every change succeeded; a database adapter loads the neighbourhood a batch touches (the
//! accounts named, their masters and children, the owners of the keys and external ids named)
//! into an `AccountBook`, applies the same methods, and writes the result in one transaction.
//!
//! The in-memory store of `plock-store-memory` and the SQLite store of `plock-store-sqlite`
//! implement [`Store`]; a program that runs billing reads a [`CompanySnapshot`] (or the parts a
//! run needs) and writes a run's invoices and watermarks back with [`Change::RecordRun`].
//! [`apply_to_book`] is the account half of applying a batch, shared by every store:
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{Account, AccountName, Contact};
//! use plock_core::book::AccountBook;
//! use plock_core::id::{AccountId, AccountKey};
//! use plock_core::money::Currency;
//! use plock_core::store::{Batch, Change, StoreError, apply_to_book};
//!
//! let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
//! let account = |key: &str| -> Result<Account, Box<dyn std::error::Error>> {
//!     Ok(Account::new(AccountId::new(key)?, AccountKey::new(key)?, AccountName::new(key)?, Contact::default(), Currency::EUR, day))
//! };
//! let batch = Batch {
//!     changes: vec![
//!         Change::AddAccount { account: account("globex")? },
//!         Change::AddAccount { account: account("globex-uk")? },
//!         Change::Link { child: AccountId::new("globex-uk")?, master: AccountId::new("globex")? },
//!         // Refused: the account is a child, and only a master bills its group.
//!         Change::SetGroupBilling { master: AccountId::new("globex-uk")?, on: true },
//!     ],
//! };
//! // A store applies a batch to a copy of its book and keeps the copy only if all succeeded.
//! let book = AccountBook::new();
//! let mut copy = book.clone();
//! let outcome: Result<(), StoreError> =
//!     batch.changes.iter().enumerate().try_for_each(|(index, change)| apply_to_book(&mut copy, index, change));
//! assert!(matches!(outcome, Err(StoreError::Account { index: 3, .. })));
//! assert!(book.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use serde::{Deserialize, Serialize};

use crate::account::external::{ExternalId, ExternalSystem};
use crate::account::tag::{Tag, TagFilter};
use crate::account::{Account, AccountError, AccountName, AccountState, Contact};
use crate::billing::{Billed, BilledUsage, RunPart};
use crate::book::AccountBook;
use crate::id::{AccountId, AccountKey, SubscriptionId};
use crate::invoice::Invoice;
use crate::money::Currency;
use crate::period::Period;
use crate::subscription::{Subscription, SubscriptionError};
use crate::usage::{Metric, UsageError, UsageRecord, UsageTable};

mod about;
mod billed;
mod rules;

pub use billed::check_billed_usage;
pub use rules::{apply_to_book, check_currency_change, subscription_to_store};

/// The most items one page holds.
pub const MAX_PAGE: usize = 10_000;

/// A page of results and the cursor of the next one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Page<T, C> {
    /// The items, in key order.
    pub items: Vec<T>,
    /// Pass as `after` for the next page; `None` on the last page.
    pub next: Option<C>,
}

/// Which accounts to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountQuery {
    /// Only this state.
    pub state: Option<AccountState>,
    /// Only accounts passing this tag filter.
    pub tags: Option<TagFilter>,
    /// Start after this id (the previous page's `next`).
    pub after: Option<AccountId>,
    /// At most this many (capped at [`MAX_PAGE`]; 0 means [`MAX_PAGE`]).
    pub limit: usize,
}

/// Which subscriptions to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionQuery {
    /// Only this account's.
    pub account: Option<AccountId>,
    /// Start after this id.
    pub after: Option<SubscriptionId>,
    /// At most this many (0 means [`MAX_PAGE`]).
    pub limit: usize,
}

/// Which invoices to list.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvoiceQuery {
    /// Only invoices to this owner.
    pub owner: Option<AccountId>,
    /// Start after this number.
    pub after: Option<u64>,
    /// At most this many (0 means [`MAX_PAGE`]).
    pub limit: usize,
}

/// One write. A [`Batch`] applies its changes in order, all or none.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "change")]
pub enum Change {
    /// Add an account (by hand or import).
    AddAccount {
        /// The account.
        account: Account,
    },
    /// Add an account found by discovery (Pending).
    AddDiscovered {
        /// The account.
        account: Account,
    },
    /// Change name, contact or currency.
    EditAccount {
        /// The account.
        id: AccountId,
        /// New name.
        name: Option<AccountName>,
        /// New contact.
        contact: Option<Contact>,
        /// New currency.
        currency: Option<Currency>,
    },
    /// Set the days an account has to pay an invoice, for invoices issued from now on.
    SetPaymentTerms {
        /// The account.
        id: AccountId,
        /// The terms.
        terms: crate::account::PaymentTerms,
    },
    /// Pending -> Active.
    Approve {
        /// The account.
        id: AccountId,
    },
    /// Pending -> removed, key remembered.
    Dismiss {
        /// The account.
        id: AccountId,
    },
    /// Active -> Archived.
    Archive {
        /// The account.
        id: AccountId,
    },
    /// Archived -> Active.
    Restore {
        /// The account.
        id: AccountId,
    },
    /// Link a child to a master.
    Link {
        /// The child.
        child: AccountId,
        /// The master.
        master: AccountId,
    },
    /// Detach a child.
    Unlink {
        /// The child.
        child: AccountId,
    },
    /// Switch group billing.
    SetGroupBilling {
        /// The master.
        master: AccountId,
        /// On or off.
        on: bool,
    },
    /// Add a tag.
    Tag {
        /// The account.
        id: AccountId,
        /// The tag.
        tag: Tag,
    },
    /// Remove a tag.
    Untag {
        /// The account.
        id: AccountId,
        /// The tag.
        tag: Tag,
    },
    /// Set an external id.
    SetExternalId {
        /// The account.
        id: AccountId,
        /// The system.
        system: ExternalSystem,
        /// The id in it.
        external_id: ExternalId,
    },
    /// Remove an external id.
    RemoveExternalId {
        /// The account.
        id: AccountId,
        /// The system.
        system: ExternalSystem,
    },
    /// Insert or replace a subscription.
    PutSubscription {
        /// The subscription.
        subscription: Subscription,
    },
    /// Insert or replace a metric.
    PutMetric {
        /// The metric.
        metric: Metric,
    },
    /// Add usage records.
    AddUsage {
        /// The records.
        records: Vec<UsageRecord>,
    },
    /// Record a billing run's invoices and what its subscriptions are billed through. A
    /// subscription another run has moved since this one read it is a conflict: a day is
    /// never billed twice.
    RecordRun {
        /// The invoices.
        invoices: Vec<Invoice>,
        /// The subscriptions billed, with their watermarks before and after.
        billed: Vec<Billed>,
        /// What the run billed of usage, period by period: each replaces the one of its key
        /// ([`BilledUsage::key`]).
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        billed_usage: Vec<BilledUsage>,
    },
}

/// An ordered list of changes, applied entirely or not at all.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Batch {
    /// The changes, in order.
    pub changes: Vec<Change>,
}

impl Batch {
    /// A batch of one change.
    pub fn one(change: Change) -> Batch {
        Batch {
            changes: vec![change],
        }
    }
}

/// Why a store refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// An account rule refused change `index` of the batch.
    #[error("change {index} refused: {source}")]
    Account {
        /// The change's position in the batch.
        index: usize,
        /// The rule.
        source: AccountError,
    },
    /// A subscription rule refused change `index`.
    #[error("change {index} refused: {source}")]
    Subscription {
        /// The change's position.
        index: usize,
        /// The rule.
        source: SubscriptionError,
    },
    /// Change `index` names something that does not exist.
    #[error("change {index} refused: no {what} {id:?}")]
    NotFound {
        /// The change's position.
        index: usize,
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// Change `index` conflicts with what is stored.
    #[error("change {index} refused: {what} {id:?} {reason}")]
    Conflict {
        /// The change's position.
        index: usize,
        /// What kind of thing.
        what: &'static str,
        /// Its id.
        id: String,
        /// Why.
        reason: &'static str,
    },
    /// The backend failed (I/O, connection, corrupt data).
    #[error("store backend failed: {message}")]
    Backend {
        /// What happened.
        message: String,
    },
}

/// A company's data, wherever it is kept. See the module documentation.
///
/// Code written against the trait works with every store; here a billing run that records its
/// result, on the in-memory store of `plock-store-memory`:
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{RunOptions, Store, run};
/// use plock_core::store::{Batch, Change};
/// use plock_store_memory::MemoryStore;
///
/// /// Bills what is due on `today` and records it; returns how many invoices were made.
/// fn bill(store: &mut impl Store, today: NaiveDate) -> Result<usize, Box<dyn std::error::Error>> {
///     let company = store.company()?;
///     let usage = company.usage_table()?;
///     let options = RunOptions { run_date: today, first_invoice_number: store.next_invoice_number()?, dispatch_erp: None };
///     let result = run(&company.data(&usage), &options)?;
///     let made = result.invoices.len();
///     store.apply(Batch::one(Change::RecordRun { invoices: result.invoices, billed: result.billed, billed_usage: result.billed_usage }))?;
///     Ok(made)
/// }
///
/// let mut store = MemoryStore::new();
/// assert_eq!(bill(&mut store, NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?)?, 0);
/// assert_eq!(store.next_invoice_number()?, 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub trait Store {
    /// The account with `id`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError>;
    /// The accounts with these ids, sorted by id; unknown ids are left out.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError>;
    /// The account with primary key `key`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn account_by_key(&self, key: &AccountKey) -> Result<Option<Account>, StoreError>;
    /// The account holding `id` in `system`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn account_by_external_id(
        &self,
        system: &ExternalSystem,
        id: &ExternalId,
    ) -> Result<Option<Account>, StoreError>;
    /// A page of accounts matching `query`, by id.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn list_accounts(&self, query: &AccountQuery) -> Result<Page<Account, AccountId>, StoreError>;
    /// The children of `master`, by id.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn children(&self, master: &AccountId) -> Result<Vec<Account>, StoreError>;
    /// Was `key` dismissed?
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn is_dismissed(&self, key: &AccountKey) -> Result<bool, StoreError>;
    /// The subscription with `id`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError>;
    /// The subscriptions of these accounts, by id.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn subscriptions_of(&self, accounts: &[AccountId]) -> Result<Vec<Subscription>, StoreError>;
    /// A page of subscriptions.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn list_subscriptions(
        &self,
        query: &SubscriptionQuery,
    ) -> Result<Page<Subscription, SubscriptionId>, StoreError>;
    /// The metric catalogue.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn metrics(&self) -> Result<Vec<Metric>, StoreError>;
    /// The usage of these accounts whose UTC date lies in `period`, sorted.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn usage(
        &self,
        accounts: &[AccountKey],
        period: &Period,
    ) -> Result<Vec<UsageRecord>, StoreError>;
    /// The invoice numbered `number`.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn invoice(&self, number: u64) -> Result<Option<Invoice>, StoreError>;
    /// A page of invoices, by number.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn list_invoices(&self, query: &InvoiceQuery) -> Result<Page<Invoice, u64>, StoreError>;
    /// The number the next billing run starts from.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn next_invoice_number(&self) -> Result<u64, StoreError>;
    /// Everything a billing run reads, owned. The simple path for stores that fit in memory; a
    /// database adapter may serve runs owner by owner instead.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn company(&self) -> Result<CompanySnapshot, StoreError>;
    /// What a billing run reads, its usage already packed in the engine's [`UsageTable`]: the
    /// snapshot's `usage` is left empty. The default packs [`Store::company`]'s records; a
    /// database adapter streams its usage rows straight into a
    /// [`UsageTableBuilder`](crate::usage::UsageTableBuilder), so the records never exist as a
    /// `Vec<UsageRecord>`.
    ///
    /// # Errors
    /// [`StoreError::Backend`], also for a stored record the table cannot hold.
    fn run_input(&self) -> Result<(CompanySnapshot, UsageTable), StoreError> {
        let mut company = self.company()?;
        let usage = company.usage_table().map_err(|e| StoreError::Backend {
            message: format!("stored usage the billing table cannot hold: {e}"),
        })?;
        company.usage = Vec::new();
        Ok((company, usage))
    }
    /// Applies every change of `batch`, or none.
    ///
    /// # Errors
    /// The first refused change, with its index; the store is then unchanged.
    fn apply(&mut self, batch: Batch) -> Result<(), StoreError>;
    /// Records a billing run as it goes. `bill` runs it (with
    /// [`run_streaming`](crate::billing::run_streaming)), handing each part to the sink it
    /// is given, and returns what the run billed its subscriptions through
    /// ([`BillingRun::billed`](crate::billing::BillingRun::billed)), or `None` when the run
    /// failed. The parts and the watermarks are recorded as one [`Change::RecordRun`] records
    /// them, in one transaction: a failed run or a refused part or watermark records nothing.
    /// Returns whether the run was recorded.
    ///
    /// The default keeps the parts and applies one [`Change::RecordRun`] at the end; a
    /// database adapter writes each part as it comes, so the run never holds every invoice.
    ///
    /// # Errors
    /// As [`Store::apply`] for a batch of one [`Change::RecordRun`] (index 0).
    fn record_streamed(&mut self, bill: &mut RunBill<'_>) -> Result<bool, StoreError> {
        let mut kept = RunPart::default();
        let billed = bill(&mut |part: RunPart| {
            kept.invoices.extend(part.invoices);
            kept.billed_usage.extend(part.billed_usage);
        });
        let Some(billed) = billed else {
            return Ok(false);
        };
        self.apply(Batch::one(Change::RecordRun {
            invoices: kept.invoices,
            billed,
            billed_usage: kept.billed_usage,
        }))?;
        Ok(true)
    }
}

/// A billing run [`Store::record_streamed`] records: given where to hand each part, it runs
/// and returns the watermarks it moved, or `None` when it failed.
pub type RunBill<'s> = dyn FnMut(&mut (dyn FnMut(RunPart) + Send)) -> Option<Vec<Billed>> + 's;

/// A company's data, owned: what a billing run borrows as [`CompanyData`](crate::billing::CompanyData).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CompanySnapshot {
    /// The accounts.
    pub accounts: AccountBook,
    /// Every subscription, each with what it is billed through.
    pub subscriptions: Vec<Subscription>,
    /// The metric catalogue.
    pub metrics: Vec<Metric>,
    /// Every usage record.
    pub usage: Vec<UsageRecord>,
    /// What runs billed of usage, period by period, the latest of each key.
    pub billed_usage: Vec<BilledUsage>,
}

impl CompanySnapshot {
    /// The usage records packed for a billing run.
    ///
    /// # Errors
    /// [`UsageError`] for a record the table cannot hold.
    pub fn usage_table(&self) -> Result<UsageTable, UsageError> {
        UsageTable::from_records(&self.usage)
    }

    /// Borrows the snapshot as billing-run input, its usage packed in `usage` (see
    /// [`CompanySnapshot::usage_table`]).
    pub fn data<'a>(&'a self, usage: &'a UsageTable) -> crate::billing::CompanyData<'a> {
        crate::billing::CompanyData {
            accounts: &self.accounts,
            subscriptions: &self.subscriptions,
            metrics: &self.metrics,
            usage,
            billed_usage: &self.billed_usage,
        }
    }
}

/// The page size a query asks for, within `1..=MAX_PAGE`.
pub fn page_limit(limit: usize) -> usize {
    if limit == 0 {
        MAX_PAGE
    } else {
        limit.min(MAX_PAGE)
    }
}
