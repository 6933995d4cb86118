//! The billing run: accounts, subscriptions and usage in, invoices out, with a report of what
//! was skipped and why. Pure and deterministic: the same input, in any order, gives the same
//! output, whatever the number of threads.
//!
//! One run, [`run`], is what every caller uses: the `plock` command, the benchmarks and a
//! library user's program. Usage comes packed in a [`UsageTable`]. Each
//! subscription keeps what it is [billed through](crate::subscription::BilledThrough), so a run starts at
//! the first unbilled period: its work depends on what is due, not on how long subscriptions
//! have been running, and re-running a date bills nothing. The run returns the new watermarks
//! ([`BillingRun::billed`]); a store records them with the invoices, in one transaction.
//!
//! Control plane, then data plane: each subscription's account, owner and periods are
//! resolved once (`engine`), then its items are priced period by period over that account's
//! usage (`rules`, the rules the tests' oracle shares).
//!
//! What a run does not bill is reported, never dropped: accounts that are Pending or Archived,
//! Draft or paused subscriptions ([`BillingRun::skipped`]), group children billed on their own
//! ([`BillingRun::unmatched`]), usage no item prices ([`BillingRun::unpriced_usage`]) and
//! accounts whose data is inconsistent ([`BillingRun::not_billed`]). The crate root shows a
//! complete run; here a found, not yet approved account is skipped:
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{Account, AccountName, AccountState, Contact};
//! use plock_core::billing::{CompanyData, RunOptions, Skipped, run};
//! use plock_core::book::AccountBook;
//! use plock_core::id::{AccountId, AccountKey, ProductId, SubscriptionId};
//! use plock_core::money::Currency;
//! use plock_core::period::{BillingInterval, PeriodMode};
//! use plock_core::subscription::{BillingPractice, Item, Subscription, SubscriptionSpec};
//! use plock_core::usage::UsageTable;
//! use rust_decimal::dec;
//!
//! let jan = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
//! let mut accounts = AccountBook::new();
//! let prospect = AccountId::new("prospect")?;
//! accounts.add(
//!     Account::new(prospect.clone(), AccountKey::new("prospect")?, AccountName::new("Prospect AB")?, Contact::default(), Currency::SEK, jan)
//!         .with_state(AccountState::Pending),
//! )?;
//! let mut subscription = Subscription::new(
//!     SubscriptionSpec {
//!         id: SubscriptionId::new("sub-prospect")?,
//!         account: prospect.clone(),
//!         start: jan,
//!         end: None,
//!         interval: BillingInterval::MONTHLY,
//!         mode: PeriodMode::Calendar,
//!         anchor: None,
//!         practice: BillingPractice::InAdvance,
//!         currency: Currency::SEK,
//!         items: vec![Item::flat_fee(ProductId::new("licence")?, dec!(990.00), dec!(1))],
//!         minimum_invoice_amount: None,
//!     },
//!     Currency::SEK,
//! )?;
//! subscription.activate()?;
//! let subscriptions = [subscription];
//! let usage = UsageTable::default();
//! let data = CompanyData { accounts: &accounts, subscriptions: &subscriptions, metrics: &[], usage: &usage, billed_usage: &[] };
//! let options = RunOptions { run_date: NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?, first_invoice_number: 1, dispatch_erp: None };
//!
//! let result = run(&data, &options)?;
//! assert!(result.invoices.is_empty());
//! assert_eq!(result.skipped, [Skipped::AccountPending { account: prospect }]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod account_usage;
mod billed_days;
mod billed_usage;
mod catalogue;
mod changes;
mod chunks;
mod compensation;
mod engine;
mod handing;
mod id_order;
mod late;
mod line;
mod line_order;
#[cfg(feature = "oracle")]
pub mod oracle;
mod rank_order;
mod restore;
mod results;
mod rules;
mod segments;
mod totals;
mod usage_order;

pub use billed_usage::{BilledTally, BilledUsage};
pub use restore::restore_account;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::account::external::ExternalSystem;
use crate::book::AccountBook;
use crate::id::{AccountId, AccountKey, MetricId, ProductId, SubscriptionId};
use crate::invoice::{Invoice, InvoiceError};
use crate::money::Currency;
use crate::period::Period;
use crate::pricing::PricingError;
use crate::subscription::{BilledThrough, BillingPractice, Subscription};
use crate::usage::{Metric, UsageTable};

/// Everything a billing run reads. The order of every slice is irrelevant.
///
/// A store's [`CompanySnapshot`](crate::store::CompanySnapshot) lends itself as one:
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{CompanyData, RunOptions, run};
/// use plock_core::store::CompanySnapshot;
///
/// let company = CompanySnapshot::default();
/// let usage = company.usage_table()?;
/// let data: CompanyData<'_> = company.data(&usage);
/// let options = RunOptions { run_date: NaiveDate::from_ymd_opt(2025, 4, 1).ok_or("no such date")?, first_invoice_number: 1, dispatch_erp: None };
/// // Nothing to bill, nothing billed.
/// let result = run(&data, &options)?;
/// assert!(result.invoices.is_empty() && result.billed.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct CompanyData<'a> {
    /// The accounts.
    pub accounts: &'a AccountBook,
    /// Every subscription, of any state, each with what it is billed through.
    pub subscriptions: &'a [Subscription],
    /// The metric catalogue.
    pub metrics: &'a [Metric],
    /// Usage records, packed.
    pub usage: &'a UsageTable,
    /// What earlier runs billed of usage items in arrears, period by period (their
    /// [`BillingRun::billed_usage`], as a store keeps them): usage that arrived for those
    /// periods since is billed as late usage. Empty, no late usage is found.
    pub billed_usage: &'a [BilledUsage],
}

/// How to run.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::RunOptions;
/// use plock_core::account::ExternalSystem;
///
/// // The run of 1 April, numbering from 1043, for invoices that go to Fortnox: an owner without
/// // a Fortnox customer number has its invoice held from dispatch.
/// let options = RunOptions {
///     run_date: NaiveDate::from_ymd_opt(2025, 4, 1).ok_or("no such date")?,
///     first_invoice_number: 1043,
///     dispatch_erp: Some(ExternalSystem::Fortnox),
/// };
/// let written = serde_json::to_string(&options)?;
/// assert_eq!(written, r#"{"run_date":"2025-04-01","first_invoice_number":1043,"dispatch_erp":"fortnox"}"#);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunOptions {
    /// The run date: what is due on it is billed.
    pub run_date: NaiveDate,
    /// The number of the first invoice of this run; the rest follow without gaps.
    pub first_invoice_number: u64,
    /// The ERP invoices go to: an owner without a debtor id there is held from dispatch.
    #[serde(default)]
    pub dispatch_erp: Option<ExternalSystem>,
}

/// What was not billed, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum Skipped {
    /// A Pending account's subscriptions are never billed.
    AccountPending {
        /// The account.
        account: AccountId,
    },
    /// An Archived account's subscriptions are never billed again.
    AccountArchived {
        /// The account.
        account: AccountId,
    },
    /// A Draft subscription is never billed.
    SubscriptionDraft {
        /// The subscription.
        subscription: SubscriptionId,
    },
    /// A paused subscription accrues; the run after it resumes bills everything at once.
    SubscriptionPaused {
        /// The subscription.
        subscription: SubscriptionId,
        /// Paused since.
        since: NaiveDate,
    },
}

/// Why a child subscription was not consolidated into its master's invoice.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "reason")]
pub enum MismatchReason {
    /// The master has no billable subscription.
    NoMasterSubscription,
    /// No master subscription is in the child's currency.
    DifferentCurrency {
        /// The child subscription's currency.
        child: Currency,
        /// The master subscriptions' currencies.
        master: Vec<Currency>,
    },
    /// No master subscription in that currency has the same billing practice.
    DifferentPractice {
        /// The child's.
        child: BillingPractice,
        /// The practices of the master's subscriptions in that currency.
        #[serde(default)]
        master: Vec<BillingPractice>,
    },
    /// The master's subscriptions of the same currency and practice have no billing period on
    /// the day the child's charge starts (they start later, or have ended).
    MasterHasNoPeriod {
        /// The child's full period.
        child: Period,
        /// The day the child's charge starts.
        on: NaiveDate,
    },
    /// No matching master subscription has the same billing period.
    DifferentPeriod {
        /// The child's full period.
        child: Period,
        /// The master's periods on that day.
        master: Vec<Period>,
    },
}

/// A child subscription billed on its own although its master has group billing on.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnmatchedChild {
    /// The child account.
    pub child: AccountId,
    /// Its subscription.
    pub subscription: SubscriptionId,
    /// The master.
    pub master: AccountId,
    /// Why it did not match (for its first charge of the run).
    pub reason: MismatchReason,
}

/// Usage of a metric that no subscription of the account prices: reported, not billed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct UnpricedUsage {
    /// The account.
    pub account: AccountKey,
    /// The metric.
    pub metric: MetricId,
    /// How many records.
    pub records: u64,
}

/// A subscription a run billed: what it was billed through before the run, and after.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Billed {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// What it was billed through when the run read it: a store refuses to record the run
    /// when another run has moved it since.
    pub from: BilledThrough,
    /// What it is billed through after the run.
    pub through: BilledThrough,
}

/// An account a run could not bill, and why. A run bills every other owner: nothing of this
/// account's invoice owner's group (the owner with the children it may bill) is billed, and
/// what their subscriptions are billed through does not move, so a later run bills it once
/// the data is fixed.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct NotBilled {
    /// The invoice owner whose group was held (the account itself, or its master).
    pub owner: AccountId,
    /// The account whose subscription failed.
    pub account: AccountId,
    /// The subscription.
    pub subscription: SubscriptionId,
    /// Why, as [`BillingError`] says it.
    pub reason: String,
}

impl NotBilled {
    /// What was not billed of `account`'s subscription `sub`, in the group of `owner`.
    pub(crate) fn new(
        owner: &AccountId,
        account: &AccountId,
        sub: &Subscription,
        error: &BillingError,
    ) -> NotBilled {
        NotBilled {
            owner: owner.clone(),
            account: account.clone(),
            subscription: sub.id().clone(),
            reason: error.to_string(),
        }
    }
}

/// The result of a billing run.
///
/// A run's [`billed`](BillingRun::billed) watermarks, recorded on the subscriptions, make the
/// next run start where this one ended:
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, BillingInterval, BillingPractice, CompanyData, Currency, Item, ProductId, RunOptions, Subscription, SubscriptionId, SubscriptionSpec, UsageTable, run};
/// use plock_core::account::{AccountName, Contact};
/// use plock_core::period::PeriodMode;
/// use rust_decimal::dec;
///
/// let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
/// let mut accounts = AccountBook::new();
/// accounts.add(Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, d(1, 1)?))?;
/// let mut subscription = Subscription::new(
///     SubscriptionSpec {
///         id: SubscriptionId::new("sub-globex")?,
///         account: AccountId::new("globex")?,
///         start: d(1, 1)?,
///         end: None,
///         interval: BillingInterval::MONTHLY,
///         mode: PeriodMode::Calendar,
///         anchor: None,
///         practice: BillingPractice::InAdvance,
///         currency: Currency::EUR,
///         items: vec![Item::flat_fee(ProductId::new("platform")?, dec!(2000.00), dec!(1))],
///         minimum_invoice_amount: None,
///     },
///     Currency::EUR,
/// )?;
/// subscription.activate()?;
/// let mut subscriptions = vec![subscription];
/// let usage = UsageTable::default();
/// let options = |month| -> Result<RunOptions, &str> { Ok(RunOptions { run_date: d(month, 1)?, first_invoice_number: 1, dispatch_erp: None }) };
///
/// let february = run(&CompanyData { accounts: &accounts, subscriptions: &subscriptions, metrics: &[], usage: &usage, billed_usage: &[] }, &options(2)?)?;
/// // January and February in advance.
/// assert_eq!(february.invoices.first().map(|i| i.lines().len()), Some(2));
/// for billed in &february.billed {
///     subscriptions.iter_mut().filter(|s| s.id() == &billed.subscription).for_each(|s| s.record_billed(billed.through));
/// }
/// let march = run(&CompanyData { accounts: &accounts, subscriptions: &subscriptions, metrics: &[], usage: &usage, billed_usage: &[] }, &options(3)?)?;
/// // Only March is new.
/// assert_eq!(march.invoices.first().map(|i| i.lines().len()), Some(1));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRun {
    /// The run date.
    pub run_date: NaiveDate,
    /// The invoices, by number.
    pub invoices: Vec<Invoice>,
    /// The subscriptions this run billed, in id order, with their new watermarks: record
    /// them with the invoices.
    pub billed: Vec<Billed>,
    /// What was not billed, and why.
    pub skipped: Vec<Skipped>,
    /// Child subscriptions billed on their own despite group billing.
    pub unmatched: Vec<UnmatchedChild>,
    /// Usage no item prices.
    pub unpriced_usage: Vec<UnpricedUsage>,
    /// Accounts not billed because of an error in their data, by subscription id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub not_billed: Vec<NotBilled>,
    /// What the run billed of usage items in arrears, period by period, in key order: record
    /// it with the invoices (a store keeps the latest of each key), so a later run bills
    /// usage that arrives for these periods.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub billed_usage: Vec<BilledUsage>,
    /// How many subscription periods the run looked at: its work, which follows what is due,
    /// not how long subscriptions have been running.
    #[serde(default)]
    pub periods_visited: u64,
}

/// Inconsistent input: the run refuses rather than guess.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    /// A subscription names an account the book does not have.
    #[error("subscription {:?} belongs to unknown account {:?}", subscription.as_str(), account.as_str())]
    UnknownAccount {
        /// The subscription.
        subscription: SubscriptionId,
        /// The account named.
        account: AccountId,
    },
    /// Usage names an account key the book does not have.
    #[error("usage of metric {:?} for unknown account key {:?}", metric.as_str(), key.as_str())]
    UnknownUsageAccount {
        /// The key.
        key: AccountKey,
        /// The metric.
        metric: MetricId,
    },
    /// An item counts a metric the catalogue does not have.
    #[error("subscription {:?}, item {:?}: unknown metric {:?}", subscription.as_str(), product.as_str(), metric.as_str())]
    UnknownMetric {
        /// The subscription.
        subscription: SubscriptionId,
        /// The item's product.
        product: ProductId,
        /// The metric.
        metric: MetricId,
    },
    /// The catalogue lists a metric twice with different aggregations.
    #[error("metric {:?} is listed twice with different aggregations", metric.as_str())]
    DuplicateMetric {
        /// The metric.
        metric: MetricId,
    },
    /// Two different subscriptions share an id.
    #[error("subscription id {:?} is used twice", subscription.as_str())]
    DuplicateSubscription {
        /// The id.
        subscription: SubscriptionId,
    },
    /// A subscription is not in its account's currency.
    #[error("subscription {:?} is in {subscription_currency} but account {:?} bills in {account_currency}", subscription.as_str(), account.as_str())]
    CurrencyMismatch {
        /// The subscription.
        subscription: SubscriptionId,
        /// Its currency.
        subscription_currency: Currency,
        /// The account.
        account: AccountId,
        /// The account's currency.
        account_currency: Currency,
    },
    /// A price could not be computed.
    #[error("subscription {:?}, item {:?}: {source}", subscription.as_str(), product.as_str())]
    Pricing {
        /// The subscription.
        subscription: SubscriptionId,
        /// The item's product.
        product: ProductId,
        /// Why.
        source: PricingError,
    },
    /// Aggregated usage overflowed.
    #[error("usage of metric {:?} for account {:?} over {period} overflows", metric.as_str(), account.as_str())]
    UsageOverflow {
        /// The account.
        account: AccountKey,
        /// The metric.
        metric: MetricId,
        /// The period.
        period: Period,
    },
    /// An owner's lines in one currency sum past the largest amount a `Decimal` holds.
    #[error("the invoice of account {:?} in {currency} sums past the largest amount plock can hold", owner.as_str())]
    InvoiceOverflow {
        /// The invoice's owner.
        owner: AccountId,
        /// Its currency.
        currency: Currency,
    },
    /// An invoice could not be built.
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    /// More invoices than numbers left.
    #[error("invoice numbers overflow after {last}")]
    NumberOverflow {
        /// The last number given out.
        last: u64,
    },
}

/// Runs billing, across the threads of the current rayon pool (run it inside
/// `ThreadPool::install` to choose how many).
///
/// A subscription that cannot be billed (a currency other than its account's, an unknown
/// metric, a price or a usage sum that overflows, an unknown account), or an invoice whose
/// total would overflow, stops only its invoice owner's group: it is reported in
/// [`BillingRun::not_billed`] and every other owner is billed.
///
/// # Errors
/// [`BillingError`] for input inconsistent as a whole: a metric listed twice with different
/// aggregations, a subscription id used twice, usage of an account key the book does not
/// have, invoice numbers running out. Nothing is then billed.
///
/// # Examples
///
/// The [crate documentation](crate) bills a company from start to end, and the `group_billing`
/// example a group. A run also says what it left out and why:
///
/// ```
/// use chrono::{NaiveDate, TimeZone, Utc};
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, BillingInterval, BillingPractice, CompanyData, Currency, Item, Metric, MetricId, PriceModel, ProductId, RunOptions, Subscription, SubscriptionId, SubscriptionSpec, UsageRecord, UsageTable, run};
/// use plock_core::account::{AccountName, Contact};
/// use plock_core::period::PeriodMode;
/// use plock_core::usage::Aggregation;
/// use rust_decimal::dec;
///
/// let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
/// let mut accounts = AccountBook::new();
/// accounts.add(Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, d(1, 1)?))?;
/// let mut subscription = Subscription::new(
///     SubscriptionSpec {
///         id: SubscriptionId::new("sub-globex")?,
///         account: AccountId::new("globex")?,
///         start: d(1, 1)?,
///         end: None,
///         interval: BillingInterval::MONTHLY,
///         mode: PeriodMode::Calendar,
///         anchor: None,
///         practice: BillingPractice::InArrears,
///         currency: Currency::EUR,
///         items: vec![Item::usage(ProductId::new("api")?, MetricId::new("calls")?, PriceModel::PerUnit { unit_price: dec!(0.002) })],
///         minimum_invoice_amount: None,
///     },
///     Currency::EUR,
/// )?;
/// subscription.activate()?;
/// let at = Utc.with_ymd_and_hms(2025, 1, 20, 8, 0, 0).single().ok_or("no such time")?;
/// // Calls are priced; SMS are measured but no item prices them.
/// let records = [
///     UsageRecord::new(AccountKey::new("globex")?, MetricId::new("calls")?, at, dec!(40000), None)?,
///     UsageRecord::new(AccountKey::new("globex")?, MetricId::new("sms")?, at, dec!(300), None)?,
/// ];
/// let metrics = ["calls", "sms"].map(|m| MetricId::new(m).map(|id| Metric { id, aggregation: Aggregation::Sum }));
/// let metrics = metrics.into_iter().collect::<Result<Vec<_>, _>>()?;
/// let usage = UsageTable::from_records(&records)?;
/// let subscriptions = [subscription];
/// let data = CompanyData { accounts: &accounts, subscriptions: &subscriptions, metrics: &metrics, usage: &usage, billed_usage: &[] };
/// let result = run(&data, &RunOptions { run_date: d(2, 1)?, first_invoice_number: 1, dispatch_erp: None })?;
///
/// let total = result.invoices.first().map(|i| i.total().amount());
/// assert_eq!(total, Some(dec!(80.00)));
/// let unpriced: Vec<&str> = result.unpriced_usage.iter().map(|u| u.metric.as_str()).collect();
/// assert_eq!(unpriced, ["sms"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run(data: &CompanyData<'_>, options: &RunOptions) -> Result<BillingRun, BillingError> {
    run_with_progress(data, options, &|_| ())
}

/// [`run`], telling `progress` how many subscriptions each share of the run has billed as
/// it ends (from whichever thread of the pool billed it; the shares add up to the number of
/// subscriptions of known accounts). For a progress bar: the result is [`run`]'s.
///
/// # Errors
/// As [`run`].
pub fn run_with_progress(
    data: &CompanyData<'_>,
    options: &RunOptions,
    progress: &(dyn Fn(usize) + Sync),
) -> Result<BillingRun, BillingError> {
    // One segment: one part, handed on at the end.
    let mut all = RunPart::default();
    let mut keep = |part: RunPart| all = part;
    let mut handing = handing::Handing {
        segment: usize::MAX,
        next: options.first_invoice_number,
        sink: &mut keep,
    };
    let run = engine::run(data, options, progress, &mut handing)?;
    Ok(BillingRun {
        invoices: all.invoices,
        billed_usage: all.billed_usage,
        ..run
    })
}

/// What a streamed run hands on at a time ([`run_streaming`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RunPart {
    /// Invoices, in number order, numbered on from the part before.
    pub invoices: Vec<Invoice>,
    /// What the subscriptions billed since the part before billed of usage, period by period
    /// ([`BillingRun::billed_usage`]), in the order of their ids.
    pub billed_usage: Vec<BilledUsage>,
}

/// [`run`], handing the invoices and the billed usage to `sink` as the run goes instead of
/// holding them all: a part about every `batch` subscriptions billed, its invoices in number
/// order. The run then holds about one part, not every invoice (at 100,000 accounts,
/// hundreds of MB). The run returned has neither invoices nor billed usage; the rest is
/// [`run`]'s. `progress` hears what [`run_with_progress`]'s does.
///
/// A store records the parts as they come, in the transaction that records the rest of the
/// run ([`Store::record_streamed`](crate::store::Store::record_streamed)): on an error the
/// sink may have heard some parts, and the run is not recorded.
///
/// # Errors
/// As [`run`].
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::billing::run_streaming;
/// use plock_core::store::CompanySnapshot;
/// use plock_core::RunOptions;
///
/// let company = CompanySnapshot::default();
/// let usage = company.usage_table()?;
/// let options = RunOptions { run_date: NaiveDate::from_ymd_opt(2025, 4, 1).ok_or("no such date")?, first_invoice_number: 1, dispatch_erp: None };
/// let mut numbers = Vec::new();
/// let result = run_streaming(&company.data(&usage), &options, 4096, &|_| (), &mut |part| {
///     numbers.extend(part.invoices.iter().map(|i| i.number()));
/// })?;
/// assert!(numbers.is_empty() && result.invoices.is_empty());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn run_streaming(
    data: &CompanyData<'_>,
    options: &RunOptions,
    batch: usize,
    progress: &(dyn Fn(usize) + Sync),
    sink: &mut (dyn FnMut(RunPart) + Send),
) -> Result<BillingRun, BillingError> {
    let mut handing = handing::Handing {
        segment: batch.max(1),
        next: options.first_invoice_number,
        sink,
    };
    engine::run(data, options, progress, &mut handing)
}
