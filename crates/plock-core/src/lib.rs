//! plock-core: the pure customer and billing domain of plock.
//!
//! No I/O, no clock, no randomness, no global state: every function takes what it needs,
//! "today" included, and returns values or typed errors. The rules come from the domain
//! reference; each module holds one concept of it.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod account;
mod adoption;
mod billing;
mod book;
#[cfg(feature = "store-contract")]
pub mod contract;
mod daily_usage;
mod discovery;
mod expand;
mod external;
#[cfg(feature = "fuzz-support")]
pub mod fuzzing;
mod group;
mod id;
mod import;
mod invoice;
mod money;
mod period;
mod pricing;
mod signals;
mod store;
mod subscription;
mod tag;
mod usage;

pub use account::{
    Account, AccountError, AccountName, AccountState, Action, Contact, ContactInput, Country,
    Email, MAX_ADDRESS_LINES, MAX_CONTACT_CHARS, MAX_NAME_CHARS,
};
pub use billing::{
    BillingError, BillingRun, CompanyData, MismatchReason, RunOptions, Skipped, UnmatchedChild,
    UnpricedUsage, run,
};
pub use book::{AccountBook, InvariantViolation};
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
pub use expand::{ExpandError, company_adoption, company_signals};
pub use id::{
    AccountId, AccountKey, IdError, InvoiceId, MAX_ID_CHARS, MetricId, ProductId, RecordId,
    SubscriptionId,
};
pub use import::{
    ACCOUNT_COLUMNS, Delimiter, EXTERNAL_COLUMNS, ImportError, ImportErrors, MAX_IMPORT_BYTES,
    MAX_IMPORT_ROWS, MAX_REPORTED_ERRORS, SUBSCRIPTION_COLUMNS, USAGE_COLUMNS, export_accounts,
    export_subscriptions, parse_usage, plan_account_import, plan_subscription_import,
};
pub use invoice::{
    BilledKey, Dispatch, HoldReason, Invoice, InvoiceError, InvoiceLine, LineKind, ProductTotal,
};
pub use money::{Currency, Money, MoneyError, UnknownCurrency};
pub use period::{
    BillingInterval, BillingPeriod, MAX_INTERVAL_MONTHS, Period, PeriodError, PeriodMode, Schedule,
};
pub use pricing::{MAX_TIERS, PriceModel, PricingError, Rebate, Tier, Tiers};
pub use signals::{
    Evidence, OUTLIER_BASELINE_DAYS, OUTLIER_MAD_MULTIPLE, Signal, SignalError, SignalKind,
    TREND_MIN_ACTIVE_DAYS, TREND_WINDOW_DAYS, usage_signals,
};
pub use store::{
    AccountQuery, Batch, Change, CompanySnapshot, InvoiceQuery, MAX_PAGE, Page, Store, StoreError,
    SubscriptionQuery, apply_to_book, page_limit,
};
pub use subscription::{
    BillingPractice, Item, MAX_ITEMS, Subscription, SubscriptionError, SubscriptionSpec,
    SubscriptionState,
};
pub use tag::{MAX_TAG_CHARS, MAX_TAGS_PER_ACCOUNT, Tag, TagFilter, Tags};
pub use usage::{Aggregation, Metric, UsageError, UsageRecord, aggregate, deduplicate};
