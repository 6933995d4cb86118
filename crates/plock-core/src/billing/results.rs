//! The run's results after its partitions are billed: the drafts' invoices, built in
//! parallel and numbered in draft order, and the usage no subscription prices.

use std::sync::atomic::{AtomicBool, Ordering};

use super::rank_order::by_distinct_rank;
use super::rules::{Draft, build_invoice_by_runs};
use super::{Billed, BillingError, RunOptions, UnpricedUsage};
use crate::invoice::Invoice;
use crate::money::Currency;
use crate::par::prelude::*;
use crate::subscription::{BilledThrough, Subscription};
use crate::usage::UsageTable;

/// The invoices of the sorted drafts, built in parallel, numbered in order from `first`; the
/// first error in draft order wins, as in the reference.
pub(super) fn build_invoices(
    drafts: Vec<(u32, Currency, Draft<'_>)>,
    first: u64,
    options: &RunOptions,
) -> Result<Vec<Invoice>, BillingError> {
    // Small pieces: a thread that finished its own steals from the other's (an invoice
    // costs from one line to thousands; in a few large pieces one thread built alone the
    // last 5-10 ms).
    let built: Vec<Result<Invoice, BillingError>> = drafts
        .into_par_iter()
        .enumerate()
        .with_max_len(64)
        .map(|(k, (_, currency, draft))| {
            let number = u64::try_from(k)
                .ok()
                .and_then(|k| first.checked_add(k))
                .ok_or(BillingError::NumberOverflow { last: u64::MAX })?;
            build_invoice_by_runs(currency, draft, number, options)
        })
        .collect();
    // The reference stops at the first failing draft, or after numbering one u64::MAX.
    let first_failure = built.par_iter().position_first(|r| match r {
        Ok(invoice) => invoice.number() == u64::MAX,
        Err(_) => true,
    });
    if let Some(k) = first_failure {
        return Err(match built.into_iter().nth(k) {
            Some(Err(e)) => e,
            _ => BillingError::NumberOverflow { last: u64::MAX },
        });
    }
    // Collected in place (`filter_map` is; `flatten` is not): the same allocation, no second
    // copy. Every result is an invoice here.
    Ok(built.into_iter().filter_map(Result::ok).collect())
}

/// Usage of a metric no subscription of its account prices, in (account, metric) order.
pub(super) fn unpriced(table: &UsageTable, priced: &[AtomicBool]) -> Vec<UnpricedUsage> {
    // The flags first: only the few unpriced groups are looked up (50,000 at M), and their
    // entries, two strings each, made in parallel straight into place (serially, the run's
    // last 3 ms on one thread).
    let groups: Vec<usize> = priced
        .par_iter()
        .enumerate()
        .filter(|(_, priced)| !priced.load(Ordering::Relaxed))
        .map(|(g, _)| g)
        .collect();
    let found: Vec<Option<UnpricedUsage>> = groups
        .par_iter()
        .map(|g| {
            let (key, metric, records) = table.group(*g)?;
            Some(UnpricedUsage {
                account: key.clone(),
                metric: metric.clone(),
                records: u64::try_from(records).unwrap_or(u64::MAX),
            })
        })
        .collect();
    // Collected in place (`filter_map` is; `flatten` is not): every group of the flags is
    // one of the table's.
    #[expect(
        clippy::filter_map_identity,
        reason = "flatten would copy into a new vector"
    )]
    found.into_iter().filter_map(|u| u).collect()
}

/// The subscriptions billed, in id order, each rank given its id back.
pub(super) fn billed_in_order(
    ranked: Vec<(u32, BilledThrough, BilledThrough)>,
    subscriptions: &[&Subscription],
) -> Vec<Billed> {
    by_distinct_rank(ranked, subscriptions.len(), |(rank, ..)| *rank)
        .par_iter()
        .filter_map(|(rank, from, through)| {
            Some(Billed {
                subscription: subscriptions.get(*rank as usize)?.id().clone(),
                from: *from,
                through: *through,
            })
        })
        .collect()
}
