//! The billing run (domain reference, sections 4 and 8): company data and a run date in,
//! invoices and a report of what was skipped and why out. Pure and deterministic: the same
//! input, in any order, gives the same output.
//!
//! Control plane, then data plane: each subscription's account, owner and periods are resolved
//! once, then its items are priced period by period over that account's usage.

mod fast;

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use fast::{TableData, run_fast};

use crate::account::{Account, AccountState};
use crate::external::ExternalSystem;
use crate::invoice::{
    BilledKey, Dispatch, HoldReason, Invoice, InvoiceError, InvoiceLine, LineKind,
};
use crate::period::{BillingPeriod, Period};
use crate::pricing::{PriceModel, PricingError};
use crate::subscription::{BillingPractice, Item, Subscription, SubscriptionState};
use crate::usage::{Aggregation, Metric, UsageRecord, aggregate_quantities, deduplicate};
use crate::{
    AccountBook, AccountId, AccountKey, Currency, MetricId, Money, ProductId, SubscriptionId,
};

/// Everything a billing run reads. The order of every slice is irrelevant.
#[derive(Debug, Clone, Copy)]
pub struct CompanyData<'a> {
    /// The accounts.
    pub accounts: &'a AccountBook,
    /// Every subscription, of any state.
    pub subscriptions: &'a [Subscription],
    /// The metric catalogue.
    pub metrics: &'a [Metric],
    /// Usage records.
    pub usage: &'a [UsageRecord],
    /// What earlier runs billed.
    pub billed: &'a BTreeSet<BilledKey>,
}

/// How to run.
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

/// The result of a billing run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BillingRun {
    /// The run date.
    pub run_date: NaiveDate,
    /// The invoices, by number.
    pub invoices: Vec<Invoice>,
    /// What this run billed; give them back to later runs.
    pub billed: Vec<BilledKey>,
    /// What was not billed, and why.
    pub skipped: Vec<Skipped>,
    /// Child subscriptions billed on their own despite group billing.
    pub unmatched: Vec<UnmatchedChild>,
    /// Usage no item prices.
    pub unpriced_usage: Vec<UnpricedUsage>,
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

/// Up to this many lines, a draft's vector grows one charge at a time, to exactly its lines.
const EXACT_DRAFT_LINES: usize = 16;

/// One owner's lines in one currency, with what the dispatch check needs.
pub(crate) struct Draft<'a> {
    owner: &'a Account,
    lines: Vec<InvoiceLine>,
    minimum: Option<Decimal>,
}

impl<'a> Draft<'a> {
    fn new(owner: &'a Account) -> Draft<'a> {
        Draft {
            owner,
            lines: Vec::new(),
            minimum: None,
        }
    }
}

/// One subscription's due charge for one period and timing, before its owner is known.
struct Charge<'a> {
    subscription: &'a Subscription,
    period: BillingPeriod,
    lines: Vec<InvoiceLine>,
}

/// Runs billing.
///
/// # Errors
/// [`BillingError`] for inconsistent input; nothing is half-billed.
pub fn run(data: &CompanyData<'_>, options: &RunOptions) -> Result<BillingRun, BillingError> {
    let metrics = metric_catalogue(data.metrics)?;
    let usage = usage_index(data)?;
    let subscriptions = sorted_subscriptions(data.subscriptions)?;
    let masters = billable_master_subscriptions(data.accounts, &subscriptions);

    let mut outcome: Outcome<'_> = Outcome::default();
    for sub in &subscriptions {
        let account =
            data.accounts
                .get(sub.account())
                .ok_or_else(|| BillingError::UnknownAccount {
                    subscription: sub.id().clone(),
                    account: sub.account().clone(),
                })?;
        check_subscription(sub, account, &metrics)?;
        let group_master = account
            .master()
            .and_then(|m| data.accounts.get(m))
            .filter(|m| m.group_billing() && m.state() == AccountState::Active);
        let master_subs = group_master
            .and_then(|m| masters.get(m.id()))
            .map_or(&[][..], Vec::as_slice);
        let context = Context {
            usage: &usage,
            metrics: &metrics,
            options,
            billed: data.billed,
        };
        bill_subscription(
            &context,
            sub,
            account,
            group_master,
            master_subs,
            &mut outcome,
        )?;
    }

    let invoices = build_invoices(outcome.drafts, options)?;
    let billed: BTreeSet<BilledKey> = outcome.billed.into_iter().collect();
    Ok(BillingRun {
        run_date: options.run_date,
        invoices,
        billed: billed.into_iter().collect(),
        skipped: outcome.skipped.into_iter().collect(),
        unmatched: outcome.unmatched.into_values().collect(),
        unpriced_usage: unpriced(data, &subscriptions, &usage),
    })
}

/// What one subscription's billing reads besides the subscription.
pub(crate) struct Context<'a, U> {
    pub(crate) usage: &'a U,
    pub(crate) metrics: &'a BTreeMap<&'a MetricId, Aggregation>,
    pub(crate) options: &'a RunOptions,
    pub(crate) billed: &'a BTreeSet<BilledKey>,
}

/// Where a run keeps its drafts: one per (owner, currency).
pub(crate) trait Drafts<'a>: Default {
    /// The draft of `owner` in `currency`, new if there is none.
    fn draft(&mut self, owner: &'a Account, currency: Currency) -> &mut Draft<'a>;
}

impl<'a> Drafts<'a> for BTreeMap<(AccountId, Currency), Draft<'a>> {
    fn draft(&mut self, owner: &'a Account, currency: Currency) -> &mut Draft<'a> {
        self.entry((owner.id().clone(), currency))
            .or_insert_with(|| Draft::new(owner))
    }
}

/// What billing subscriptions produced so far.
#[derive(Default)]
pub(crate) struct Outcome<'a, D = BTreeMap<(AccountId, Currency), Draft<'a>>> {
    pub(crate) skipped: BTreeSet<Skipped>,
    pub(crate) unmatched: BTreeMap<(AccountId, SubscriptionId), UnmatchedChild>,
    /// In subscription order; sorted when every subscription has been billed.
    pub(crate) billed: Vec<BilledKey>,
    pub(crate) drafts: D,
    pub(crate) _owners: std::marker::PhantomData<&'a Account>,
}

/// Bills one checked subscription of `account` into `outcome`: skipped for its account's or
/// its own state, or its due charges on the invoice of their owner. `group_master` is the
/// account's master when it is Active with group billing on, `master_subs` its billable
/// subscriptions.
pub(crate) fn bill_subscription<'a, U: UsageLookup, D: Drafts<'a>>(
    context: &Context<'_, U>,
    sub: &Subscription,
    account: &'a Account,
    group_master: Option<&'a Account>,
    master_subs: &[&Subscription],
    outcome: &mut Outcome<'a, D>,
) -> Result<(), BillingError> {
    match account.state() {
        AccountState::Pending => {
            outcome.skipped.insert(Skipped::AccountPending {
                account: account.id().clone(),
            });
            return Ok(());
        }
        AccountState::Archived => {
            outcome.skipped.insert(Skipped::AccountArchived {
                account: account.id().clone(),
            });
            return Ok(());
        }
        AccountState::Active => {}
    }
    match sub.state() {
        SubscriptionState::Draft => {
            outcome.skipped.insert(Skipped::SubscriptionDraft {
                subscription: sub.id().clone(),
            });
            return Ok(());
        }
        SubscriptionState::Paused { since } => {
            outcome.skipped.insert(Skipped::SubscriptionPaused {
                subscription: sub.id().clone(),
                since,
            });
            return Ok(());
        }
        SubscriptionState::Active | SubscriptionState::Ended => {}
    }
    for (key, charge) in due_charges(context, sub, account)? {
        outcome.billed.push(key);
        if charge.lines.is_empty() {
            continue;
        }
        let owner = match group_master {
            None => account,
            Some(master) => match match_master(&charge, master_subs) {
                Ok(()) => master,
                Err(reason) => {
                    outcome
                        .unmatched
                        .entry((account.id().clone(), sub.id().clone()))
                        .or_insert_with(|| UnmatchedChild {
                            child: account.id().clone(),
                            subscription: sub.id().clone(),
                            master: master.id().clone(),
                            reason,
                        });
                    account
                }
            },
        };
        let draft = outcome.drafts.draft(owner, sub.currency());
        if draft.lines.is_empty() {
            // Most drafts take one subscription's charges: keep its vector, copy nothing.
            draft.lines = charge.lines;
        } else {
            // A small draft grows to exactly its lines, as many reallocations as doubling
            // would make (most drafts have 3 or 4 lines), and the invoice keeps the vector
            // without a spare slot. A large one doubles, and the invoice copies it once.
            let needed = draft.lines.len().saturating_add(charge.lines.len());
            if needed <= EXACT_DRAFT_LINES {
                draft.lines.reserve_exact(charge.lines.len());
            }
            draft.lines.extend(charge.lines);
        }
        if let Some(min) = sub.minimum_invoice_amount() {
            draft.minimum = Some(draft.minimum.map_or(min, |m| m.max(min)));
        }
    }
    Ok(())
}

fn metric_catalogue(metrics: &[Metric]) -> Result<BTreeMap<&MetricId, Aggregation>, BillingError> {
    let mut catalogue = BTreeMap::new();
    for m in metrics {
        if let Some(previous) = catalogue.insert(&m.id, m.aggregation)
            && previous != m.aggregation
        {
            return Err(BillingError::DuplicateMetric {
                metric: m.id.clone(),
            });
        }
    }
    Ok(catalogue)
}

/// Where a run finds an account's aggregated usage: the reference's index of records, or the
/// packed [`UsageTable`](crate::UsageTable) of the fast run.
pub(crate) trait UsageLookup {
    /// The aggregate of `account`'s `metric` over `period`; `None` on overflow.
    fn aggregate(
        &self,
        account: &AccountKey,
        metric: &MetricId,
        aggregation: Aggregation,
        period: &Period,
    ) -> Option<Decimal>;
}

impl UsageLookup for UsageIndex<'_> {
    fn aggregate(
        &self,
        account: &AccountKey,
        metric: &MetricId,
        aggregation: Aggregation,
        period: &Period,
    ) -> Option<Decimal> {
        let records = self.get(&(account, metric)).map_or(&[][..], Vec::as_slice);
        let in_period = records
            .iter()
            .filter(|r| period.contains(r.timestamp().date_naive()))
            .map(|r| r.quantity());
        aggregate_quantities(in_period, aggregation)
    }
}

// Hashed, not ordered: nothing observable iterates it unsorted (the unpriced report and the
// unknown-account error are sorted first), and hashing beats 20 string comparisons per record.
// The hasher has fixed keys: plock-core takes no randomness, not even for a hash seed.
type UsageIndex<'a> = HashMap<(&'a AccountKey, &'a MetricId), Vec<&'a UsageRecord>, FixedState>;
type FixedState = std::hash::BuildHasherDefault<std::hash::DefaultHasher>;

/// Usage by (account, metric), de-duplicated by record id once for the whole run.
fn usage_index<'a>(data: &CompanyData<'a>) -> Result<UsageIndex<'a>, BillingError> {
    let mut index: UsageIndex<'a> = HashMap::default();
    for record in data.usage {
        index
            .entry((record.account(), record.metric()))
            .or_default()
            .push(record);
    }
    let unknown = index
        .keys()
        .filter(|(key, _)| data.accounts.by_key(key).is_none())
        .min();
    if let Some((key, metric)) = unknown {
        return Err(BillingError::UnknownUsageAccount {
            key: (*key).clone(),
            metric: (*metric).clone(),
        });
    }
    for records in index.values_mut() {
        // Aggregation does not depend on order, so only groups with record ids need the
        // (sorting) de-duplication.
        if records.iter().any(|r| r.record_id().is_some()) {
            *records = deduplicate(records.iter().copied());
        }
    }
    Ok(index)
}

/// Subscriptions sorted by id, exact duplicates dropped, a shared id refused.
fn sorted_subscriptions(
    subscriptions: &[Subscription],
) -> Result<Vec<&Subscription>, BillingError> {
    use rayon::prelude::*;
    let mut sorted: Vec<&Subscription> = subscriptions.iter().collect();
    // Stores hand subscriptions over in id order, each id once: checking that is one pass in
    // memory order, where sorting compares through pointers in random order, and it leaves
    // nothing to drop or refuse.
    if sorted
        .par_windows(2)
        .all(|w| matches!(w, [a, b] if a.id() < b.id()))
    {
        return Ok(sorted);
    }
    sorted.par_sort_by(|a, b| a.id().cmp(b.id()));
    sorted.dedup_by(|a, b| a == b);
    let shared = sorted
        .par_windows(2)
        .find_first(|pair| matches!(pair, [a, b] if a.id() == b.id()));
    match shared.and_then(|pair| pair.first()) {
        Some(sub) => Err(BillingError::DuplicateSubscription {
            subscription: sub.id().clone(),
        }),
        None => Ok(sorted),
    }
}

fn check_subscription(
    sub: &Subscription,
    account: &Account,
    metrics: &BTreeMap<&MetricId, Aggregation>,
) -> Result<(), BillingError> {
    if sub.currency() != account.currency() {
        return Err(BillingError::CurrencyMismatch {
            subscription: sub.id().clone(),
            subscription_currency: sub.currency(),
            account: account.id().clone(),
            account_currency: account.currency(),
        });
    }
    for item in sub.items() {
        if let Some(metric) = &item.metric
            && !metrics.contains_key(metric)
        {
            return Err(BillingError::UnknownMetric {
                subscription: sub.id().clone(),
                product: item.product.clone(),
                metric: metric.clone(),
            });
        }
    }
    Ok(())
}

/// Billable subscriptions of every Active master with group billing on.
fn billable_master_subscriptions<'a>(
    accounts: &AccountBook,
    subscriptions: &[&'a Subscription],
) -> BTreeMap<AccountId, Vec<&'a Subscription>> {
    let mut masters: BTreeMap<AccountId, Vec<&'a Subscription>> = BTreeMap::new();
    for sub in subscriptions {
        let Some(account) = accounts.get(sub.account()) else {
            continue;
        };
        if account.group_billing()
            && account.state() == AccountState::Active
            && account.master().is_none()
        {
            let entry = masters.entry(account.id().clone()).or_default();
            if matches!(
                sub.state(),
                SubscriptionState::Active | SubscriptionState::Ended
            ) {
                entry.push(sub);
            }
        }
    }
    masters
}

/// A child's charge matches when a billable master subscription in the same currency, with
/// the same billing practice, has the same full billing period on the charge's first day.
fn match_master(charge: &Charge<'_>, master_subs: &[&Subscription]) -> Result<(), MismatchReason> {
    let child = charge.subscription;
    if master_subs.is_empty() {
        return Err(MismatchReason::NoMasterSubscription);
    }
    let same_currency: Vec<&&Subscription> = master_subs
        .iter()
        .filter(|m| m.currency() == child.currency())
        .collect();
    if same_currency.is_empty() {
        let mut master: Vec<Currency> = master_subs.iter().map(|m| m.currency()).collect();
        master.sort();
        master.dedup();
        return Err(MismatchReason::DifferentCurrency {
            child: child.currency(),
            master,
        });
    }
    let same_practice: Vec<&&Subscription> = same_currency
        .into_iter()
        .filter(|m| m.practice() == child.practice())
        .collect();
    if same_practice.is_empty() {
        return Err(MismatchReason::DifferentPractice {
            child: child.practice(),
        });
    }
    let on = charge.period.covered.start();
    let master_periods: Vec<Period> = same_practice
        .iter()
        .filter_map(|m| m.schedule().period_containing(on))
        .map(|p| p.full)
        .collect();
    if master_periods.contains(&charge.period.full) {
        Ok(())
    } else {
        Err(MismatchReason::DifferentPeriod {
            child: charge.period.full,
            master: master_periods,
        })
    }
}

/// The subscription's charges due on the run date and not billed before, keyed.
fn due_charges<'a, U: UsageLookup>(
    context: &Context<'_, U>,
    sub: &'a Subscription,
    account: &Account,
) -> Result<Vec<(BilledKey, Charge<'a>)>, BillingError> {
    let run_date = context.options.run_date;
    let has_advance = sub
        .items()
        .iter()
        .any(|i| has_fixed_part(i) && i.fixed_timing(sub.practice()) == BillingPractice::InAdvance);
    let has_arrears = sub.items().iter().any(|i| {
        i.metric.is_some() || i.fixed_timing(sub.practice()) == BillingPractice::InArrears
    });
    let mut due = Vec::new();
    for period in sub.schedule().periods_until(run_date) {
        for (timing, wanted, is_due) in [
            (BillingPractice::InAdvance, has_advance, true),
            (
                BillingPractice::InArrears,
                has_arrears,
                period.covered.end() <= run_date,
            ),
        ] {
            if !wanted || !is_due {
                continue;
            }
            let key = BilledKey {
                subscription: sub.id().clone(),
                period: period.covered,
                timing,
            };
            if context.billed.contains(&key) {
                continue;
            }
            let mut lines = Vec::with_capacity(sub.items().len());
            for item in sub.items() {
                if let Some(line) = price_item(context, sub, account, item, period, timing)? {
                    lines.push(line);
                }
            }
            due.push((
                key,
                Charge {
                    subscription: sub,
                    period,
                    lines,
                },
            ));
        }
    }
    Ok(due)
}

fn has_fixed_part(item: &Item) -> bool {
    matches!(
        item.price,
        PriceModel::FlatFee { .. } | PriceModel::Commitment { .. }
    )
}

/// The line of `item` for `period` and `timing`, if it has one.
fn price_item<U: UsageLookup>(
    context: &Context<'_, U>,
    sub: &Subscription,
    account: &Account,
    item: &Item,
    period: BillingPeriod,
    timing: BillingPractice,
) -> Result<Option<InvoiceLine>, BillingError> {
    let pricing = |source| BillingError::Pricing {
        subscription: sub.id().clone(),
        product: item.product.clone(),
        source,
    };
    let fixed_here = has_fixed_part(item) && item.fixed_timing(sub.practice()) == timing;
    let (quantity, exact, kind) = if fixed_here {
        let full = item.price.fixed_amount().map_err(pricing)?;
        let exact = period
            .prorate(full)
            .map_err(|_| pricing(PricingError::Overflow { quantity: full }))?;
        let quantity = match item.price {
            PriceModel::FlatFee { quantity, .. } => quantity,
            PriceModel::Commitment { committed, .. } => committed,
            _ => Decimal::ZERO,
        };
        let kind = match (period.is_partial(), timing) {
            (true, _) => LineKind::Proration,
            (false, BillingPractice::InAdvance) => LineKind::InAdvance,
            (false, BillingPractice::InArrears) => LineKind::InArrears,
        };
        (quantity, exact, kind)
    } else if let (Some(metric), BillingPractice::InArrears) = (&item.metric, timing) {
        let aggregation = context.metrics.get(metric).copied().unwrap_or_default();
        let used = context
            .usage
            .aggregate(account.key(), metric, aggregation, &period.covered)
            .ok_or_else(|| BillingError::UsageOverflow {
                account: account.key().clone(),
                metric: metric.clone(),
                period: period.covered,
            })?;
        let exact = item.price.usage_amount(used).map_err(pricing)?;
        match item.price {
            PriceModel::Commitment { .. } => {
                (item.price.overage_quantity(used), exact, LineKind::Overage)
            }
            _ => (used, exact, LineKind::InArrears),
        }
    } else {
        return Ok(None);
    };
    let exact = match item.rebate {
        Some(rebate) => rebate.apply(exact).map_err(pricing)?,
        None => exact,
    };
    let amount = Money::new(sub.currency().round(exact), sub.currency());
    if !fixed_here && amount.is_zero() && quantity.is_zero() {
        return Ok(None);
    }
    Ok(Some(InvoiceLine {
        product: item.product.clone(),
        source_account: account.id().clone(),
        subscription: Some(sub.id().clone()),
        period: period.covered,
        quantity,
        unit_price: item.price.unit_price(),
        rebate_percent: item.rebate.map(|r| r.value()),
        amount,
        kind,
    }))
}

fn build_invoices(
    drafts: BTreeMap<(AccountId, Currency), Draft<'_>>,
    options: &RunOptions,
) -> Result<Vec<Invoice>, BillingError> {
    let mut invoices = Vec::with_capacity(drafts.len());
    let mut number = options.first_invoice_number;
    for ((_, currency), draft) in drafts {
        invoices.push(build_invoice(currency, draft, number, options)?);
        number = number
            .checked_add(1)
            .ok_or(BillingError::NumberOverflow { last: number })?;
    }
    Ok(invoices)
}

/// The invoice of one owner's draft in one currency, numbered `number`.
pub(crate) fn build_invoice(
    currency: Currency,
    mut draft: Draft<'_>,
    number: u64,
    options: &RunOptions,
) -> Result<Invoice, BillingError> {
    draft.lines.sort_by(|a, b| {
        (
            &a.source_account,
            &a.subscription,
            a.period,
            &a.product,
            a.kind,
        )
            .cmp(&(
                &b.source_account,
                &b.subscription,
                b.period,
                &b.product,
                b.kind,
            ))
    });
    let debtor_ids = draft.owner.external_ids().erp();
    let mut reasons = Vec::new();
    if let Some(minimum) = draft.minimum {
        // Invoice::new sums again, with the same error, when there is no minimum to check.
        let total = Money::sum(currency, draft.lines.iter().map(|l| l.amount))
            .map_err(|source| InvoiceError::Money { number, source })?;
        if total.amount() < minimum {
            reasons.push(HoldReason::BelowMinimum {
                minimum,
                total: total.amount(),
            });
        }
    }
    if let Some(erp) = &options.dispatch_erp
        && !debtor_ids.contains_key(erp)
    {
        reasons.push(HoldReason::NoDebtorId { erp: erp.clone() });
    }
    let dispatch = if reasons.is_empty() {
        Dispatch::Ready
    } else {
        Dispatch::Held { reasons }
    };
    Ok(Invoice::new(
        number,
        draft.owner.id().clone(),
        currency,
        draft.lines,
        debtor_ids,
        dispatch,
    )?)
}

fn unpriced(
    data: &CompanyData<'_>,
    subscriptions: &[&Subscription],
    usage: &UsageIndex<'_>,
) -> Vec<UnpricedUsage> {
    let mut priced: BTreeSet<(&AccountKey, &MetricId)> = BTreeSet::new();
    for sub in subscriptions {
        if let Some(account) = data.accounts.get(sub.account()) {
            for item in sub.items() {
                if let Some(metric) = &item.metric {
                    priced.insert((account.key(), metric));
                }
            }
        }
    }
    usage
        .iter()
        .filter(|(key, _)| !priced.contains(*key))
        .map(|((account, metric), records)| UnpricedUsage {
            account: (*account).clone(),
            metric: (*metric).clone(),
            records: u64::try_from(records.len()).unwrap_or(u64::MAX),
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect()
}
