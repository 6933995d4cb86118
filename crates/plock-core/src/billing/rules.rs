//! The per-subscription rules of a billing run, shared by the engine and the tests' oracle:
//! what is due and not yet billed, how an item is priced, whose invoice a child's charge goes
//! on, and how an owner's lines become an invoice.

use std::collections::{BTreeMap, BTreeSet};

use rust_decimal::Decimal;

use super::billed_usage::{BilledUsage, BilledUsageIndex};
use super::catalogue::{Catalogue, CatalogueEntry, UsageLookup};
use super::late::late_charges;
use super::line::{Charge, fixed_line, has_fixed_part, line, pricing_error};
use super::line_order::Runs;
use super::{BillingError, MismatchReason, RunOptions, Skipped, UnmatchedChild};
use crate::account::{Account, AccountState};
use crate::id::{AccountId, SubscriptionId};
use crate::invoice::{Dispatch, HoldReason, Invoice, InvoiceError, InvoiceLine, LineKind};
use crate::money::{Currency, Money};
use crate::period::{BillingPeriod, Period};
use crate::pricing::PriceModel;
use crate::subscription::{BilledThrough, BillingPractice, Item, Subscription, SubscriptionState};
use crate::usage::Aggregation;

/// Up to this many lines, a draft's vector grows one charge at a time, to exactly its lines.
const EXACT_DRAFT_LINES: usize = 16;

/// One owner's lines in one currency, with what the dispatch check needs.
pub(crate) struct Draft<'a> {
    pub(crate) owner: &'a Account,
    pub(crate) lines: Vec<InvoiceLine>,
    pub(crate) minimum: Option<Decimal>,
    /// Where each subscription's lines start: the engine orders lines by them.
    pub(crate) runs: Runs,
}

impl<'a> Draft<'a> {
    pub(crate) fn new(owner: &'a Account) -> Draft<'a> {
        Draft {
            owner,
            lines: Vec::new(),
            minimum: None,
            runs: Runs::default(),
        }
    }
}

/// What one subscription's billing reads besides the subscription.
pub(crate) struct Context<'a, U> {
    pub(crate) usage: &'a U,
    /// The subscription's items' metrics, resolved by [`check_subscription`].
    pub(crate) items: &'a [Option<CatalogueEntry>],
    pub(crate) options: &'a RunOptions,
    /// Where the walk over a subscription's periods starts.
    pub(crate) walk: Walk,
    /// What earlier runs billed of usage, period by period: late usage is found against it.
    pub(crate) billed_usage: &'a BilledUsageIndex<'a>,
}

/// Where a run starts walking a subscription's periods. Both bill the same charges.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Walk {
    /// At the first period not billed yet: the engine's way, whose work does not grow with
    /// the subscription's history.
    #[cfg_attr(not(feature = "oracle"), allow(dead_code))]
    FromBilled,
    /// At the subscription's first period, every billed one skipped: the obviously correct
    /// way, the oracle's.
    #[cfg_attr(not(feature = "oracle"), allow(dead_code))]
    FromStart,
}

/// Where a run keeps its drafts: one per (owner, currency).
pub(crate) trait Drafts<'a>: Default {
    /// The draft of `owner` in `currency`, new if there is none.
    fn draft(&mut self, owner: &'a Account, currency: Currency) -> &mut Draft<'a>;
}

/// What billing subscriptions produced so far.
#[derive(Default)]
pub(crate) struct Outcome<'a, D> {
    pub(crate) skipped: BTreeSet<Skipped>,
    pub(crate) unmatched: BTreeMap<(AccountId, SubscriptionId), UnmatchedChild>,
    /// The periods looked at.
    pub(crate) periods: u64,
    pub(crate) drafts: D,
    /// What the subscriptions billed of usage in arrears, period by period.
    pub(crate) usage: Vec<BilledUsage>,
    /// Kept empty between subscriptions: a subscription's due charges go here, so that each
    /// does not allocate a vector of its own (one a subscription billed).
    pub(crate) charges: Vec<Charge<'a>>,
    /// Whether the billed usage the last subscription added is known to be in order: it
    /// billed one period's charge, its items in product order, and nothing else.
    pub(crate) usage_ordered: bool,
}

/// Bills one checked subscription of `account` into `outcome`: skipped for its account's or
/// its own state, or its due charges on the invoice of their owner. `group_master` is the
/// account's master when it is Active with group billing on, `master_subs` its billable
/// subscriptions. Returns what the subscription is billed through after the run.
pub(crate) fn bill_subscription<'a, U: UsageLookup, D: Drafts<'a>>(
    context: &Context<'_, U>,
    sub: &'a Subscription,
    account: &'a Account,
    group_master: Option<&'a Account>,
    master_subs: &[&Subscription],
    outcome: &mut Outcome<'a, D>,
) -> Result<BilledThrough, BillingError> {
    let unchanged = sub.billed_through();
    outcome.usage_ordered = false;
    match account.state() {
        AccountState::Pending => {
            outcome.skipped.insert(Skipped::AccountPending {
                account: account.id().clone(),
            });
            return Ok(unchanged);
        }
        AccountState::Archived => {
            outcome.skipped.insert(Skipped::AccountArchived {
                account: account.id().clone(),
            });
            return Ok(unchanged);
        }
        AccountState::Active => {}
    }
    match sub.state() {
        SubscriptionState::Draft => {
            outcome.skipped.insert(Skipped::SubscriptionDraft {
                subscription: sub.id().clone(),
            });
            return Ok(unchanged);
        }
        SubscriptionState::Paused { since } => {
            outcome.skipped.insert(Skipped::SubscriptionPaused {
                subscription: sub.id().clone(),
                since,
            });
            return Ok(unchanged);
        }
        SubscriptionState::Active | SubscriptionState::Ended => {}
    }
    // Empty: each subscription drains it (on an error it is dropped, and the next allocates).
    let mut charges = std::mem::take(&mut outcome.charges);
    let usage_from = outcome.usage.len();
    let through = due_charges(
        context,
        sub,
        account,
        &mut outcome.periods,
        &mut outcome.usage,
        &mut charges,
    )?;
    // The entries the new periods priced go on `usage` directly, a period at a time and,
    // when the products ascend, in order within it; other charges carry theirs.
    outcome.usage_ordered = sub.products_ascending()
        && charges.iter().all(|c| c.usage.is_empty())
        && outcome.usage.get(usage_from).map(|u| u.period)
            == outcome.usage.last().map(|u| u.period);
    for mut charge in charges.drain(..) {
        outcome.usage.append(&mut charge.usage);
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
        draft.runs.note(
            sub,
            draft.lines.len(),
            (charge.ordered, charge.period.covered),
        );
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
    outcome.charges = charges;
    Ok(through)
}

/// Subscriptions sorted by id, exact duplicates dropped, a shared id refused.
pub(crate) fn sorted_subscriptions(
    subscriptions: &[Subscription],
) -> Result<Vec<&Subscription>, BillingError> {
    use crate::par::prelude::*;
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
    // Unstable: equal ids end up side by side in some order, and either all of them are
    // equal (dedup leaves one) or two differ (the shared id is refused), whatever the order.
    super::id_order::sort_by_id(&mut sorted, |s: &Subscription| s.id().as_str());
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

/// Checks `sub` against its account and the catalogue, and resolves its items' metrics into
/// `entries` (one an item, `None` for an item without a metric): looked up once, used by
/// every period priced.
pub(crate) fn check_subscription(
    sub: &Subscription,
    account: &Account,
    metrics: &Catalogue<'_>,
    entries: &mut Vec<Option<CatalogueEntry>>,
) -> Result<(), BillingError> {
    if sub.currency() != account.currency() {
        return Err(BillingError::CurrencyMismatch {
            subscription: sub.id().clone(),
            subscription_currency: sub.currency(),
            account: account.id().clone(),
            account_currency: account.currency(),
        });
    }
    entries.clear();
    for item in sub.items() {
        let entry = match &item.metric {
            None => None,
            Some(metric) => {
                Some(
                    metrics
                        .get(metric)
                        .ok_or_else(|| BillingError::UnknownMetric {
                            subscription: sub.id().clone(),
                            product: item.product.clone(),
                            metric: metric.clone(),
                        })?,
                )
            }
        };
        entries.push(entry);
    }
    Ok(())
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
        let mut master: Vec<BillingPractice> = master_subs
            .iter()
            .filter(|m| m.currency() == child.currency())
            .map(|m| m.practice())
            .collect();
        master.sort();
        master.dedup();
        return Err(MismatchReason::DifferentPractice {
            child: child.practice(),
            master,
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
    } else if master_periods.is_empty() {
        Err(MismatchReason::MasterHasNoPeriod {
            child: charge.period.full,
            on,
        })
    } else {
        Err(MismatchReason::DifferentPeriod {
            child: charge.period.full,
            master: master_periods,
        })
    }
}

/// The subscription's charges due on the run date and not billed before, and what it is
/// billed through once they are. Each timing bills only the days after its watermark: a
/// period billed whole is skipped, one billed in part (the schedule changed after it was
/// billed) is billed for its unbilled days, prorated. What the new periods bill of usage
/// goes on `usage` as it is priced (the other charges carry theirs); the caller puts a
/// subscription's entries in order.
fn due_charges<'a, U: UsageLookup>(
    context: &Context<'_, U>,
    sub: &'a Subscription,
    account: &Account,
    periods_visited: &mut u64,
    usage: &mut Vec<BilledUsage>,
    due: &mut Vec<Charge<'a>>,
) -> Result<BilledThrough, BillingError> {
    let run_date = context.options.run_date;
    // Days billed past a moved end are credited first, and no longer count as billed.
    let (mut compensated, billed) = super::compensation::compensations(
        sub,
        account,
        sub.billed_through(),
        context.billed_usage,
    )?;
    due.append(&mut compensated);
    // Prices changed inside billed days are settled once.
    due.extend(super::changes::settlements(
        sub,
        account,
        context.billed_usage,
    )?);
    // Usage that arrived for periods billed before is billed before any new period.
    due.extend(late_charges(
        context.usage,
        context.billed_usage,
        context.items,
        sub,
        account,
        billed.in_arrears,
    )?);
    let has_advance = sub
        .items()
        .iter()
        .any(|i| has_fixed_part(i) && i.fixed_timing(sub.practice()) == BillingPractice::InAdvance);
    let has_arrears = sub.items().iter().any(|i| {
        i.metric.is_some() || i.fixed_timing(sub.practice()) == BillingPractice::InArrears
    });
    let timings = [
        (BillingPractice::InAdvance, has_advance),
        (BillingPractice::InArrears, has_arrears),
    ];
    let start = sub.schedule().start();
    // The first day a wanted timing has not billed: no period before it has anything due.
    let first_unbilled = timings
        .iter()
        .filter(|(_, wanted)| *wanted)
        .map(|(timing, _)| billed.get(*timing).unwrap_or(start))
        .min();
    let Some(first_unbilled) = first_unbilled else {
        return Ok(billed);
    };
    let from = match context.walk {
        Walk::FromBilled => first_unbilled,
        Walk::FromStart => start,
    };
    let mut through = billed;
    let periods = sub.schedule().periods_from_until(from, run_date);
    for whole in periods {
        *periods_visited = periods_visited.saturating_add(1);
        for (timing, wanted) in timings {
            if !wanted {
                continue;
            }
            let Some(period) = unbilled_part(whole, billed.get(timing)) else {
                continue;
            };
            let is_due = match timing {
                BillingPractice::InAdvance => period.covered.start() <= run_date,
                BillingPractice::InArrears => period.covered.end() <= run_date,
            };
            if !is_due {
                continue;
            }
            let mut charge = Charge::new(sub, period, Vec::with_capacity(sub.items().len()));
            // A line an item, over the period: in order when the products are (pieces of a
            // price change say otherwise where they are made).
            charge.ordered = sub.products_ascending();
            for (index, item) in sub.items().iter().enumerate() {
                let entry = context.items.get(index).copied().flatten();
                let priced = Priced {
                    item,
                    entry,
                    timing,
                };
                price_item(context, sub, account, priced, &mut charge, usage)?;
            }
            through = through.advanced(timing, period.covered.end());
            due.push(charge);
        }
    }
    Ok(through)
}

/// The days of `period` after `billed_through`, if any.
fn unbilled_part(
    period: BillingPeriod,
    billed_through: Option<chrono::NaiveDate>,
) -> Option<BillingPeriod> {
    let Some(through) = billed_through else {
        return Some(period);
    };
    if period.covered.end() <= through {
        return None;
    }
    if period.covered.start() >= through {
        return Some(period);
    }
    let covered = Period::new(through, period.covered.end()).ok()?;
    Some(BillingPeriod {
        covered,
        full: period.full,
    })
}

/// One item to price for a charge: its resolved metric and the charge's timing.
struct Priced<'i> {
    item: &'i Item,
    entry: Option<CatalogueEntry>,
    timing: BillingPractice,
}

/// The line of `item` for `charge`'s period and `timing`, if it has one, pushed on `charge`
/// where it is made (a line is 184 bytes: returned, it was moved twice more); a usage item's
/// billed usage goes straight on `usage` (through the charge, each entry was moved once more
/// and a vector made and freed a charge).
fn price_item<U: UsageLookup>(
    context: &Context<'_, U>,
    sub: &Subscription,
    account: &Account,
    priced: Priced<'_>,
    charge: &mut Charge<'_>,
    usage: &mut Vec<BilledUsage>,
) -> Result<(), BillingError> {
    let Priced {
        item,
        entry,
        timing,
    } = priced;
    let period = charge.period;
    if has_fixed_part(item) && item.fixed_timing(sub.practice()) == timing {
        let kind = match (period.is_partial(), timing) {
            (true, _) => LineKind::Proration,
            (false, BillingPractice::InAdvance) => LineKind::InAdvance,
            (false, BillingPractice::InArrears) => LineKind::InArrears,
        };
        if !item.changes.is_empty() {
            // A period cut by a price change: each of its pieces goes on the charge.
            let mut lines = super::changes::fixed_lines(sub, account, item, period, kind)?;
            charge.ordered &= lines.len() <= 1;
            charge.lines.append(&mut lines);
            return Ok(());
        }
        charge
            .lines
            .push(fixed_line(sub, account, item, period, kind)?);
        return Ok(());
    }
    let (Some(metric), BillingPractice::InArrears) = (&item.metric, timing) else {
        return Ok(());
    };
    // Checked before billing: every item's metric is in the catalogue.
    let entry = entry.unwrap_or(CatalogueEntry {
        aggregation: Aggregation::default(),
        table: None,
        group: None,
    });
    let (used, records) = context
        .usage
        .aggregate_counted(account.key(), metric, entry, &period.covered)
        .ok_or_else(|| BillingError::UsageOverflow {
            account: account.key().clone(),
            metric: metric.clone(),
            period: period.covered,
        })?;
    let exact = item
        .price
        .usage_amount(used)
        .map_err(|source| pricing_error(sub, item, source))?;
    let (quantity, kind) = match item.price {
        PriceModel::Commitment { .. } => (item.price.overage_quantity(used), LineKind::Overage),
        _ => (used, LineKind::InArrears),
    };
    let line = line(sub, account, item, period, quantity, exact, kind)?;
    usage.push(BilledUsage {
        subscription: sub.id().clone(),
        product: item.product.clone(),
        period: period.covered,
        records,
        quantity: used,
        amount: line.amount.amount(),
        replaces: None,
        skipped: false,
    });
    if !(line.amount.is_zero() && quantity.is_zero()) {
        charge.lines.push(line);
    }
    Ok(())
}

/// The invoice of one owner's draft in one currency, numbered `number`: its lines sorted on
/// all of (source account, subscription, period, product, kind), the obviously correct way.
#[cfg(feature = "oracle")]
pub(crate) fn build_invoice(
    currency: Currency,
    mut draft: Draft<'_>,
    number: u64,
    options: &RunOptions,
) -> Result<Invoice, BillingError> {
    draft.lines.sort_by(super::line_order::by_all);
    invoice_of_ordered(currency, draft, number, options)
}

/// The invoice of one owner's draft in one currency, numbered `number`, its lines put in
/// order by where each subscription's start ([`super::line_order::order`]).
pub(crate) fn build_invoice_by_runs(
    currency: Currency,
    mut draft: Draft<'_>,
    number: u64,
    options: &RunOptions,
) -> Result<Invoice, BillingError> {
    super::line_order::order(&mut draft.lines, &draft.runs);
    invoice_of_ordered(currency, draft, number, options)
}

/// The invoice of a draft whose lines are in the invoice's order.
fn invoice_of_ordered(
    currency: Currency,
    draft: Draft<'_>,
    number: u64,
    options: &RunOptions,
) -> Result<Invoice, BillingError> {
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
    let invoice = Invoice::new(
        number,
        draft.owner.id().clone(),
        currency,
        draft.lines,
        debtor_ids,
        dispatch,
    )?
    .with_issued(options.run_date);
    Ok(match draft.owner.payment_terms().due(options.run_date) {
        Some(due) => invoice.with_due(due),
        None => invoice,
    })
}
