//! plock-core: the pure customer and billing domain of plock.
//!
//! No I/O, no clock, no randomness: every function takes what it needs, "today" included,
//! and returns values or typed errors. The billing run and bulk usage ingestion split their
//! work across the threads of the current rayon pool: call them inside a pool's `install` to
//! choose how many. Each module holds one concept of the domain.
//!
//! # Example
//!
//! An account on a monthly licence with a 10% rebate and metered API calls, billed on the
//! first of February:
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use plock_core::*;
//! use rust_decimal::dec;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let jan = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?;
//! let mut accounts = AccountBook::new();
//! accounts.add(Account::new(
//!     AccountId::new("dentist-johnson")?,
//!     AccountKey::new("dentist-johnson")?,
//!     AccountName::new("Dentist Johnson")?,
//!     Contact::default(),
//!     Currency::EUR,
//!     jan,
//! ))?;
//!
//! let mut subscription = Subscription::new(
//!     SubscriptionSpec {
//!         id: SubscriptionId::new("sub-1")?,
//!         account: AccountId::new("dentist-johnson")?,
//!         start: jan,
//!         end: None,
//!         interval: BillingInterval::MONTHLY,
//!         mode: PeriodMode::Calendar,
//!         anchor: None,
//!         practice: BillingPractice::InAdvance,
//!         currency: Currency::EUR,
//!         items: vec![
//!             Item::flat_fee(ProductId::new("licence")?, dec!(450.00), dec!(1))
//!                 .with_rebate(Rebate::percent(dec!(10))?),
//!             Item::usage(ProductId::new("api")?, MetricId::new("calls")?, PriceModel::PerUnit { unit_price: dec!(0.002) }),
//!         ],
//!         minimum_invoice_amount: None,
//!     },
//!     Currency::EUR,
//! )?;
//! subscription.activate()?;
//!
//! let usage = vec![UsageRecord::new(
//!     AccountKey::new("dentist-johnson")?,
//!     MetricId::new("calls")?,
//!     Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).single().ok_or("time")?,
//!     dec!(12500),
//!     None,
//! )?];
//! let metrics = vec![Metric { id: MetricId::new("calls")?, aggregation: Aggregation::Sum }];
//! // Usage is packed in a table: 6 to 12 bytes a record, summed exactly.
//! let usage = UsageTable::from_records(&usage)?;
//! let mut subscriptions = vec![subscription];
//! let data = CompanyData { accounts: &accounts, subscriptions: &subscriptions, metrics: &metrics, usage: &usage };
//! let options = RunOptions { run_date: NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("date")?, first_invoice_number: 1, dispatch_erp: None };
//!
//! let result = run(&data, &options)?;
//! let invoice = &result.invoices[0];
//! // January's and February's licence in advance (405.00 each), January's calls in arrears (25.00).
//! assert_eq!(invoice.total(), Money::new(dec!(835.00), Currency::EUR));
//! assert_eq!(invoice.lines().len(), 3);
//! // What the run billed, recorded on the subscription, makes a re-run bill nothing.
//! for billed in &result.billed {
//!     subscriptions[0].record_billed(billed.through);
//! }
//! let data = CompanyData { accounts: &accounts, subscriptions: &subscriptions, metrics: &metrics, usage: &usage };
//! assert!(run(&data, &options)?.invoices.is_empty());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod account;
mod adoption;
mod billing;
mod book;
mod bounds;
#[cfg(feature = "store-contract")]
pub mod contract;
mod country;
mod daily_usage;
mod discovery;
mod erp;
mod expand;
mod external;
#[cfg(feature = "fuzz-support")]
pub mod fuzzing;
mod group;
mod hash;
mod id;
mod import;
mod invoice;
mod invoice_kinds;
mod late_usage;
mod money;
mod period;
mod pricing;
mod restore;
mod signals;
mod store;
mod subscription;
mod tag;
mod usage;

pub use account::{
    Account, AccountError, AccountName, AccountState, Action, Contact, ContactInput, Country,
    Email, MAX_ADDRESS_LINES, MAX_CONTACT_CHARS, MAX_NAME_CHARS,
};
/// The reference billing run, the tests' oracle (feature `oracle`): test support, not a
/// second engine.
#[cfg(feature = "oracle")]
#[doc(hidden)]
pub use billing::oracle;
pub use billing::{
    Billed, BillingError, BillingRun, CompanyData, MismatchReason, NotBilled, RunOptions, Skipped,
    UnmatchedChild, UnpricedUsage, run,
};
pub use book::{AccountBook, InvariantViolation};
pub use bounds::{MAX_PRICE, MAX_QUANTITY};
pub use discovery::{
    FieldUpdate, SOURCE_COLUMNS, SourceCustomer, SyncPlan, parse_source, plan_discovery,
};
pub use external::{ExternalId, ExternalIds, ExternalSystem, MAX_EXTERNAL_CHARS, SystemKind};
pub use group::MAX_CHILDREN_PER_MASTER;

pub use adoption::{
    ADOPTION_WINDOW_DAYS, AdoptionBand, AdoptionError, AdoptionRanking, AdoptionScore,
    HIGH_BAND_FROM, MEDIUM_BAND_FROM, adoption_score,
};
pub use daily_usage::{DailyUsage, DailyUsageError, MAX_DAILY_USAGE_DAYS, UsageWindow};
pub use erp::{
    ErpExport, ErpPayload, FortnoxInvoice, FortnoxRow, GenericPayload, NotExported, export_to_erp,
};
pub use expand::{ExpandError, company_adoption, company_signals};
pub use id::{
    AccountId, AccountKey, IdError, InvoiceId, MAX_ID_CHARS, MetricId, ProductId, RecordId,
    SubscriptionId,
};
pub use import::{
    ACCOUNT_COLUMNS, CLEAR_CELL, Delimiter, EXTERNAL_COLUMNS, ImportError, ImportErrors,
    LineNumbers, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS, MAX_REPORTED_ERRORS, SUBSCRIPTION_COLUMNS,
    TimeFormat, USAGE_COLUMNS, UsageLayout, export_accounts, export_subscriptions, ingest_usage,
    parse_usage, plan_account_import, plan_subscription_import, read_usage,
};
pub use invoice::{
    Dispatch, HoldReason, Invoice, InvoiceError, InvoiceKind, InvoiceLine, LineKind, ProductTotal,
};
pub use invoice_kinds::{
    Accrual, CreditRequest, KindError, OneOffLine, accrual_schedule, compensation, credit, one_off,
    remaining_to_credit,
};
pub use late_usage::{LateUsage, late_usage};
pub use money::{Currency, Money, MoneyError, UnknownCurrency};
pub use period::{
    BillingInterval, BillingPeriod, MAX_INTERVAL_MONTHS, Period, PeriodError, PeriodMode, Schedule,
};
pub use pricing::{MAX_TIERS, PriceModel, PricingError, Rebate, Tier, Tiers};
pub use restore::restore_account;
pub use signals::{
    Evidence, OUTLIER_BASELINE_DAYS, OUTLIER_MAD_MULTIPLE, Signal, SignalError, SignalKind,
    TREND_MIN_ACTIVE_DAYS, TREND_WINDOW_DAYS, usage_signals,
};
pub use store::{
    AccountQuery, Batch, Change, CompanySnapshot, InvoiceQuery, MAX_PAGE, Page, Store, StoreError,
    SubscriptionQuery, apply_to_book, check_currency_change, page_limit, subscription_to_store,
};
pub use subscription::{
    BilledThrough, BillingPractice, Item, MAX_ITEMS, Subscription, SubscriptionError,
    SubscriptionSpec, SubscriptionState,
};
pub use tag::{MAX_TAG_CHARS, MAX_TAGS_PER_ACCOUNT, Tag, TagFilter, Tags};
pub use usage::{
    Aggregation, Metric, UsageError, UsageRecord, UsageTable, UsageTableBuilder, aggregate,
    deduplicate,
};
