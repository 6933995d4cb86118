//! plock-core: the pure customer and billing domain of plock.
//!
//! No I/O, no clock, no randomness: every function takes what it needs, "today" included,
//! and returns values or typed errors. Each module holds one concept of the domain; the root
//! re-exports what the main path needs: an account book, subscriptions, usage packed in a
//! [`UsageTable`], and [`run`].
//!
//! # Threads
//!
//! The billing run and bulk usage ingestion split their work across the threads of the
//! current rayon pool, which is the global pool unless the caller runs them inside its own
//! pool's `install`: that is how a caller chooses the thread count. The `rayon` feature is on
//! by default; built without it (`default-features = false`), they run on the calling thread
//! and give the same results.
//!
//! # Example
//!
//! An account on a monthly licence with a 10% rebate and metered API calls, billed on the
//! first of February:
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use plock_core::account::{AccountName, Contact};
//! use plock_core::period::PeriodMode;
//! use plock_core::pricing::Rebate;
//! use plock_core::subscription::BillingPractice;
//! use plock_core::usage::Aggregation;
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
//! let data = CompanyData { accounts: &accounts, subscriptions: &subscriptions, metrics: &metrics, usage: &usage, billed_usage: &[] };
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
//! let data = CompanyData { accounts: &accounts, subscriptions: &subscriptions, metrics: &metrics, usage: &usage, billed_usage: &[] };
//! assert!(run(&data, &options)?.invoices.is_empty());
//! # Ok(())
//! # }
//! ```
//!
//! Each module's documentation explains its concept with an example. The crate's `examples/`
//! folder holds three longer walks, run by `cargo test`: `group_billing` (a master invoice
//! consolidating its children), `csv_migration` (another billing system's exports imported,
//! then billed) and `expand_report` (adoption scores and usage signals).
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

pub mod account;
pub mod billing;
pub mod book;
pub mod bounds;
#[cfg(feature = "store-contract")]
pub mod contract;
pub mod discovery;
pub mod erp;
pub mod expand;
#[cfg(feature = "fuzz-support")]
pub mod fuzzing;
pub mod group;
mod hash;
pub mod id;
pub mod import;
pub mod invoice;
mod mantissa;
pub mod money;
mod par;
pub mod period;
pub mod pricing;
pub mod store;
pub mod subscription;
pub mod usage;

pub use account::Account;
pub use billing::{BillingRun, CompanyData, RunOptions, run};
pub use book::AccountBook;
pub use id::{AccountId, AccountKey, MetricId, ProductId, SubscriptionId};
pub use invoice::Invoice;
pub use money::{Currency, Money};
pub use period::BillingInterval;
pub use pricing::PriceModel;
pub use store::Store;
pub use subscription::{BillingPractice, Item, Subscription, SubscriptionSpec};
pub use usage::{Metric, UsageRecord, UsageTable};

/// The README's Rust example, compiled and run with the doctests so it keeps to the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeDoctests;
