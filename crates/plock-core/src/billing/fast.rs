//! The fast billing run: the same rules and the same result as [`run`](super::run), built for
//! hundreds of thousands of accounts and hundreds of millions of usage records.
//!
//! Usage comes packed in a [`UsageTable`] (16 bytes a record, sorted by account, metric and
//! day, exact i128 sums), so a period's aggregate is a binary search and one pass over
//! contiguous memory. Subscriptions are partitioned by invoice owner (a master with its
//! children, or an account on its own): owners never share a draft, so partitions are billed
//! in parallel (rayon) and their outcomes concatenated and sorted. Every choice that depends
//! on order in the reference (which error is reported, which mismatch reason is kept, the
//! invoice numbers) is made here in the same order.

use std::collections::BTreeSet;

use rayon::prelude::*;

use super::{
    BillingError, BillingRun, Context, Draft, Outcome, RunOptions, UnpricedUsage,
    bill_subscription, build_invoice, check_subscription, metric_catalogue,
};
use crate::account::AccountState;
use crate::subscription::{Subscription, SubscriptionState};
use crate::usage::UsageTable;
use crate::{AccountBook, AccountId, AccountKey, Currency, Invoice, Metric, MetricId};
use crate::{BilledKey, SubscriptionId};

/// Everything the fast run reads: [`CompanyData`](crate::CompanyData) with usage packed in a
/// [`UsageTable`]. The order of every slice is irrelevant.
#[derive(Debug, Clone, Copy)]
pub struct TableData<'a> {
    /// The accounts.
    pub accounts: &'a AccountBook,
    /// Every subscription, of any state.
    pub subscriptions: &'a [Subscription],
    /// The metric catalogue.
    pub metrics: &'a [Metric],
    /// Usage records, packed.
    pub usage: &'a UsageTable,
    /// What earlier runs billed.
    pub billed: &'a BTreeSet<BilledKey>,
}

/// One owner's subscriptions: the root account (a master, or an account without one) and
/// the subscriptions of it and its children, sorted by id.
type Partition<'a> = [(&'a AccountId, &'a Subscription)];

/// Runs billing on packed usage, across the threads of the current rayon pool. The result
/// is the one [`run`](super::run) gives for the same company with the records the table was
/// built from, byte for byte, whatever the number of threads.
///
/// # Errors
/// [`BillingError`], the same error the reference run reports.
pub fn run_fast(data: &TableData<'_>, options: &RunOptions) -> Result<BillingRun, BillingError> {
    let metrics = metric_catalogue(data.metrics)?;
    check_usage_accounts(data)?;
    let subscriptions = sorted_subscriptions(data.subscriptions)?;

    // Each subscription goes to the partition of its account's root; an unknown account is
    // an error at that subscription's place in id order.
    let mut first_error: Option<(&SubscriptionId, BillingError)> = None;
    let mut owned: Vec<(&AccountId, &Subscription)> = Vec::with_capacity(subscriptions.len());
    for sub in &subscriptions {
        match data.accounts.get(sub.account()) {
            Some(account) => {
                let root = account
                    .master()
                    .and_then(|m| data.accounts.get(m))
                    .map_or(account.id(), |m| m.id());
                owned.push((root, sub));
            }
            None => {
                first_error = Some((
                    sub.id(),
                    BillingError::UnknownAccount {
                        subscription: sub.id().clone(),
                        account: sub.account().clone(),
                    },
                ));
                break;
            }
        }
    }
    owned.par_sort_unstable_by(|a, b| (a.0, a.1.id()).cmp(&(b.0, b.1.id())));
    let partitions: Vec<&Partition<'_>> = owned.chunk_by(|a, b| a.0 == b.0).collect();

    let context = Context {
        accounts: data.accounts,
        usage: data.usage,
        metrics: &metrics,
        options,
        billed: data.billed,
    };
    let outcomes: Vec<Result<Outcome, (&SubscriptionId, BillingError)>> = partitions
        .par_iter()
        .map(|part| bill_partition(&context, part))
        .collect();

    let mut drafts: Vec<((AccountId, Currency), Draft)> = Vec::new();
    let mut billed = Vec::new();
    let mut skipped = Vec::new();
    let mut unmatched = Vec::new();
    for outcome in outcomes {
        match outcome {
            Ok(o) => {
                drafts.extend(o.drafts);
                billed.extend(o.billed);
                skipped.extend(o.skipped);
                unmatched.extend(o.unmatched.into_values());
            }
            Err((sub, error)) => {
                if first_error.as_ref().is_none_or(|(first, _)| sub < *first) {
                    first_error = Some((sub, error));
                }
            }
        }
    }
    if let Some((_, error)) = first_error {
        return Err(error);
    }
    // Owners never share a partition, so the keys are unique.
    drafts.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let invoices = build_invoices(data.accounts, drafts, options)?;
    billed.par_sort_unstable();
    skipped.par_sort_unstable();
    skipped.dedup();
    unmatched.par_sort_unstable();
    Ok(BillingRun {
        run_date: options.run_date,
        invoices,
        billed,
        skipped,
        unmatched,
        unpriced_usage: unpriced(data, &subscriptions),
    })
}

/// Bills one partition's subscriptions in id order; the first error stops it, as in the
/// reference.
fn bill_partition<'p>(
    context: &Context<'_, UsageTable>,
    part: &'p Partition<'p>,
) -> Result<Outcome, (&'p SubscriptionId, BillingError)> {
    let accounts = context.accounts;
    // The root's billable subscriptions, when it is a master with group billing: what its
    // children's charges match against.
    let master_subs: Vec<&Subscription> = match part.first().and_then(|(r, _)| accounts.get(r)) {
        Some(root)
            if root.group_billing()
                && root.state() == AccountState::Active
                && root.master().is_none() =>
        {
            part.iter()
                .filter(|(_, s)| s.account() == root.id())
                .filter(|(_, s)| {
                    matches!(
                        s.state(),
                        SubscriptionState::Active | SubscriptionState::Ended
                    )
                })
                .map(|(_, s)| *s)
                .collect()
        }
        _ => Vec::new(),
    };
    let mut outcome = Outcome::default();
    for (root, sub) in part {
        let fail = |e| (sub.id(), e);
        let account = accounts.get(sub.account()).ok_or_else(|| {
            fail(BillingError::UnknownAccount {
                subscription: sub.id().clone(),
                account: sub.account().clone(),
            })
        })?;
        check_subscription(sub, account, context.metrics).map_err(fail)?;
        let for_master = |master: &AccountId| {
            if master == *root {
                master_subs.as_slice()
            } else {
                &[]
            }
        };
        bill_subscription(context, sub, account, for_master, &mut outcome).map_err(fail)?;
    }
    Ok(outcome)
}

/// The invoices of the sorted drafts, built in parallel, numbered in order; the first error
/// in draft order wins, as in the reference.
fn build_invoices(
    accounts: &AccountBook,
    drafts: Vec<((AccountId, Currency), Draft)>,
    options: &RunOptions,
) -> Result<Vec<Invoice>, BillingError> {
    let first = options.first_invoice_number;
    let built: Vec<Option<Result<Invoice, BillingError>>> = drafts
        .into_par_iter()
        .enumerate()
        .map(|(k, ((owner, currency), draft))| {
            let number = u64::try_from(k).ok().and_then(|k| first.checked_add(k))?;
            Some(build_invoice(
                accounts, owner, currency, draft, number, options,
            ))
        })
        .collect();
    let mut invoices = Vec::with_capacity(built.len());
    for result in built {
        // A missing number comes after the draft numbered u64::MAX, which stops the loop.
        let Some(result) = result else { break };
        let invoice = result?;
        let number = invoice.number();
        invoices.push(invoice);
        if number == u64::MAX {
            return Err(BillingError::NumberOverflow { last: number });
        }
    }
    Ok(invoices)
}

/// The reference's `UnknownUsageAccount` check: the smallest (key, metric) with usage whose
/// key no account has.
fn check_usage_accounts(data: &TableData<'_>) -> Result<(), BillingError> {
    let groups: Vec<(&AccountKey, &MetricId, usize)> = data.usage.groups().collect();
    let unknown = groups
        .par_iter()
        .find_first(|(key, _, _)| data.accounts.by_key(key).is_none());
    match unknown {
        Some((key, metric, _)) => Err(BillingError::UnknownUsageAccount {
            key: (*key).clone(),
            metric: (*metric).clone(),
        }),
        None => Ok(()),
    }
}

/// Subscriptions sorted by id, exact duplicates dropped, a shared id refused.
fn sorted_subscriptions(
    subscriptions: &[Subscription],
) -> Result<Vec<&Subscription>, BillingError> {
    let mut sorted: Vec<&Subscription> = subscriptions.iter().collect();
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

/// Usage of a metric no subscription of its account prices, in (account, metric) order.
fn unpriced(data: &TableData<'_>, subscriptions: &[&Subscription]) -> Vec<UnpricedUsage> {
    let mut priced: Vec<(&AccountKey, &MetricId)> = subscriptions
        .par_iter()
        .filter_map(|sub| data.accounts.get(sub.account()).map(|a| (a.key(), *sub)))
        .flat_map_iter(|(key, sub)| {
            sub.items()
                .iter()
                .filter_map(move |i| i.metric.as_ref().map(|m| (key, m)))
        })
        .collect();
    priced.par_sort_unstable();
    priced.dedup();
    data.usage
        .groups()
        .filter(|(key, metric, _)| priced.binary_search(&(*key, *metric)).is_err())
        .map(|(key, metric, records)| UnpricedUsage {
            account: key.clone(),
            metric: metric.clone(),
            records: u64::try_from(records).unwrap_or(u64::MAX),
        })
        .collect()
}
