//! The billing engine: the one run, built for hundreds of thousands of accounts and hundreds
//! of millions of usage records.
//!
//! Usage comes packed in a [`UsageTable`] (6 to 12 bytes a record, sorted by account, metric and
//! day, exact i128 sums), so a period's aggregate is a binary search and one pass over
//! contiguous memory. Accounts and subscriptions are resolved once to dense ranks (their
//! place in id order), so nothing after that compares or looks up an id string. Subscriptions
//! are partitioned by invoice owner (a master with its children, or an account on its own):
//! owners never share a draft, so partitions are billed in parallel (rayon) and their
//! outcomes concatenated and sorted by rank. Every choice that depends on order (which error
//! is reported, which mismatch reason is kept, the invoice numbers) is made in id order, as
//! the tests' oracle makes it.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::par::prelude::*;

use super::account_usage::AccountUsage;
use super::billed_usage::{BilledUsage, BilledUsageIndex};
use super::catalogue::{Catalogue, CatalogueEntry};
use super::chunks::{CHUNKS_PER_THREAD, chunk_partitions, largest_first};
use super::handing::{Drafted, Handing};
use super::line::Charge;
use super::rank_order::by_group;
use super::results::{billed_in_order, unpriced};
use super::rules::{
    Context, Draft, Drafts, Outcome, Walk, bill_subscription, check_subscription,
    sorted_subscriptions,
};
use super::segments;
use super::usage_order::{Part, UsageRun, gather_runs, sort_subscription_usage};
use super::{BillingError, BillingRun, CompanyData, NotBilled, RunOptions};
use crate::account::{Account, AccountState};
use crate::book::AccountBook;
use crate::hash::{InlineIndex, dense};
use crate::id::{AccountId, AccountKey};
use crate::money::Currency;
use crate::subscription::{BilledThrough, Subscription, SubscriptionState};
use crate::usage::UsageTable;

/// An account resolved once: its rank in id order and its usage's place in the table (24
/// bytes; a subscription holds two).
#[derive(Clone, Copy)]
struct Resolved<'a> {
    rank: u32,
    account: &'a Account,
    usage: Option<u32>,
}

/// The book's accounts by id: their place in id order (their rank), and what each resolved to.
struct Accounts<'a> {
    ids: InlineIndex<'a>,
    resolved: Vec<Resolved<'a>>,
}

impl<'a> Accounts<'a> {
    fn get(&self, id: &str) -> Option<&Resolved<'a>> {
        self.at(self.ids.get_str(id)?)
    }

    /// The account of `rank`: ranks are places in `resolved`.
    fn at(&self, rank: u32) -> Option<&Resolved<'a>> {
        self.resolved.get(rank as usize)
    }
}

/// One subscription, resolved: its rank in id order, its account's and its partition root's
/// (the master, or the account itself). 24 bytes, ranks instead of resolved accounts: a run
/// sorts 150,000 of them at M, and holds them at its peak of memory.
#[derive(Clone, Copy)]
struct Owned<'a> {
    root: u32,
    account: u32,
    rank: u32,
    sub: &'a Subscription,
}

/// A partition's drafts: a few owners (the root, children billed on their own), so a
/// linear search beats any map.
#[derive(Default)]
struct SmallDrafts<'a>(Vec<(Currency, Draft<'a>)>);

impl<'a> Drafts<'a> for SmallDrafts<'a> {
    fn draft(&mut self, owner: &'a Account, currency: Currency) -> &mut Draft<'a> {
        let found = self
            .0
            .iter()
            .position(|(c, d)| std::ptr::eq(d.owner, owner) && *c == currency);
        let i = match found {
            Some(i) => i,
            None => {
                self.0.push((currency, Draft::new(owner)));
                self.0.len().saturating_sub(1)
            }
        };
        // `i` is a valid index: found above, or the element just pushed.
        #[allow(clippy::indexing_slicing)]
        &mut self.0[i].1
    }
}

/// What a thread's partitions gave, keyed by ranks instead of ids.
#[derive(Default)]
struct Acc<'a> {
    /// (owner's rank, currency, draft).
    drafts: Vec<(u32, Currency, Draft<'a>)>,
    /// (subscription's rank, billed through before, after) of each subscription billed:
    /// ranks stand for ids until the end.
    billed: Vec<(u32, BilledThrough, BilledThrough)>,
    /// Periods looked at.
    periods: u64,
    skipped: Vec<super::Skipped>,
    unmatched: Vec<super::UnmatchedChild>,
    /// The failing subscriptions' ranks, and what was not billed.
    failed: Vec<(u32, NotBilled)>,
    /// What the partitions billed of usage, period by period: each subscription's entries
    /// contiguous and sorted.
    usage: Vec<BilledUsage>,
    /// Where each subscription's entries are in `usage`.
    usage_runs: Vec<UsageRun>,
    /// Every chunk's `usage` and `usage_runs`, once gathered: put in order straight from
    /// there, instead of first copied into one vector on one thread.
    usage_parts: Vec<Part<BilledUsage>>,
    /// Kept empty between partitions, so that each does not allocate its own (two vectors
    /// grown a partition were a tenth of the run's allocations): the resolved metrics of a
    /// subscription's items, and a partition's drafts.
    entries: Vec<Option<CatalogueEntry>>,
    spare_drafts: Vec<(Currency, Draft<'a>)>,
    /// Kept empty between partitions too: a subscription's due charges.
    spare_charges: Vec<Charge<'a>>,
}

impl<'a> Acc<'a> {
    /// Room for `partitions` partitions of `subscriptions` subscriptions: most bill one
    /// draft per partition, and every subscription once.
    fn with_capacity(partitions: usize, subscriptions: usize) -> Self {
        Acc {
            drafts: Vec::with_capacity(partitions.saturating_add(partitions / 8)),
            billed: Vec::with_capacity(subscriptions),
            ..Acc::default()
        }
    }

    /// Takes in `accs`, and gives back their drafts after `held`.
    fn absorb(&mut self, accs: Vec<Self>, held: Vec<Drafted<'a>>) -> Vec<Drafted<'a>> {
        let mut drafts = held;
        drafts.reserve_exact(accs.iter().map(|a| a.drafts.len()).sum());
        // Grown by doubling: a streamed run absorbs a segment at a time, and growing to the
        // exact size each time copied the whole vector every segment. The first absorb (the
        // only one of a run that is not streamed) allocates exactly what it needs.
        self.billed
            .reserve(accs.iter().map(|a| a.billed.len()).sum());
        self.usage_parts.reserve(accs.len());
        for acc in accs {
            self.usage_parts.push((acc.usage, acc.usage_runs));
            drafts.extend(acc.drafts);
            self.billed.extend(acc.billed);
            self.periods = self.periods.saturating_add(acc.periods);
            self.skipped.extend(acc.skipped);
            self.unmatched.extend(acc.unmatched);
            self.failed.extend(acc.failed);
        }
        drafts
    }
}

/// Runs billing across the threads of the current rayon pool; see [`run`](super::run).
pub(super) fn run(
    data: &CompanyData<'_>,
    options: &RunOptions,
    progress: &(dyn Fn(usize) + Sync),
    handing: &mut Handing<'_>,
) -> Result<BillingRun, BillingError> {
    // Run on a thread of the pool (the calling one, when it is one): the serial steps then
    // allocate where the parallel ones freed. Thread-caching allocators reuse a thread's own
    // frees first; at M, run from outside the pool, the first run's peak was 2-3 MB higher.
    crate::par::join(|| run_in_pool(data, options, progress, handing), || ()).0
}

fn run_in_pool(
    data: &CompanyData<'_>,
    options: &RunOptions,
    progress: &(dyn Fn(usize) + Sync),
    handing: &mut Handing<'_>,
) -> Result<BillingRun, BillingError> {
    let metrics = Catalogue::new(data.metrics, |m| data.usage.metric_index(m))?;
    let accounts = resolve_accounts(data)?;
    let subscriptions = sorted_subscriptions(data.subscriptions)?;
    let (owned, unknown) = owners(&accounts, &subscriptions);
    let billed_usage = BilledUsageIndex::new(data.billed_usage);
    let priced: Vec<AtomicBool> = (0..data.usage.group_count())
        .map(|_| AtomicBool::new(false))
        .collect();
    let shared = Shared {
        table: data.usage,
        metrics: &metrics,
        options,
        accounts: &accounts,
        priced: &priced,
        billed_usage: &billed_usage,
    };
    let (mut acc, last) = bill_owned(&shared, owned, progress, handing)?;
    // The lookups are done with: freed before the partitions' results are gathered and the
    // last invoices built, the run's largest steps.
    drop(accounts);
    acc.failed.extend(unknown);
    finish(
        acc,
        last,
        &subscriptions,
        data.usage,
        &priced,
        handing,
        options,
    )
}

/// The book's accounts in id order, each with its place in the usage table.
///
/// # Errors
/// [`BillingError::UnknownUsageAccount`] for usage of an account the book does not hold.
fn resolve_accounts<'a>(data: &CompanyData<'a>) -> Result<Accounts<'a>, BillingError> {
    let table_accounts = data.usage.accounts();
    let book: Vec<&Account> = data.accounts.iter().collect();
    // The accounts' index by id, built while the book's keys and the table's, both in key
    // order, are merged: no index of the table's keys (6 MB at M, freed before the run's
    // peak of memory but not given back in time to lower it).
    let (ids, matched) = crate::par::join(
        || InlineIndex::new(book.iter().map(|a| a.id().as_str())),
        || matched_usage(data.accounts, table_accounts),
    );
    let mut usage: Vec<Option<u32>> = vec![None; book.len()];
    let mut with_usage = 0usize;
    for ((_, place), rank) in matched
        .iter()
        .zip(ids.places(&matched, |(id, _)| id.as_str()))
    {
        if let Some(slot) = rank.and_then(|r| usage.get_mut(r as usize)) {
            *slot = Some(*place);
            with_usage = with_usage.saturating_add(1);
        }
    }
    let resolved: Vec<Resolved<'_>> = book
        .par_iter()
        .zip(usage)
        .enumerate()
        .map(|(rank, (account, usage))| Resolved {
            rank: dense(rank),
            account,
            usage,
        })
        .collect();
    // Keys are distinct on both sides: every table account is known when each was matched.
    if with_usage != table_accounts.len() {
        check_usage_accounts(data)?;
    }
    Ok(Accounts { ids, resolved })
}

/// Each subscription with the partition it is billed in, its account's root (the master
/// when the account has one in the book); and, apart, the subscriptions of accounts the book
/// does not hold, which are not billed (each at its place in id order).
fn owners<'s>(
    accounts: &Accounts<'_>,
    subscriptions: &[&'s Subscription],
) -> (Vec<Owned<'s>>, Vec<(u32, NotBilled)>) {
    let places = accounts.ids.places(subscriptions, |s| s.account().as_str());
    let resolved: Vec<Option<Owned<'_>>> = subscriptions
        .par_iter()
        .zip(places)
        .enumerate()
        .map(|(rank, (sub, place))| {
            let account = accounts.at(place?)?;
            let root = account
                .account
                .master()
                .and_then(|m| accounts.get(m.as_str()))
                .unwrap_or(account);
            Some(Owned {
                root: root.rank,
                account: account.rank,
                rank: dense(rank),
                sub,
            })
        })
        .collect();
    let unknown: Vec<(u32, NotBilled)> = resolved
        .par_iter()
        .enumerate()
        .filter(|(_, owned)| owned.is_none())
        .filter_map(|(rank, _)| {
            let sub = subscriptions.get(rank)?;
            let error = BillingError::UnknownAccount {
                subscription: sub.id().clone(),
                account: sub.account().clone(),
            };
            Some((
                dense(rank),
                NotBilled::new(sub.account(), sub.account(), sub, &error),
            ))
        })
        .collect();
    // Collected in place (`filter_map` is; `flatten` is not, and grew a new vector by
    // doubling): the same allocation, no second copy.
    #[expect(
        clippy::filter_map_identity,
        reason = "flatten would copy into a new vector"
    )]
    let owned = resolved.into_iter().filter_map(|o| o).collect();
    (owned, unknown)
}

/// Bills every partition of `owned` across the pool's threads, a segment at a time: each
/// segment's invoices that are complete are built and handed on. Gives what every segment
/// gathered, and the drafts whose invoices the run builds last. `progress` hears how many
/// subscriptions each chunk billed.
fn bill_owned<'a>(
    shared: &Shared<'_, 'a>,
    mut owned: Vec<Owned<'a>>,
    progress: &(dyn Fn(usize) + Sync),
    handing: &mut Handing<'_>,
) -> Result<(Acc<'a>, Vec<Drafted<'a>>), BillingError> {
    // Subscriptions come in rank order: grouped by root, placed where a sort compared.
    if owned.is_sorted_by_key(|o| o.rank) {
        owned = by_group(owned, shared.accounts.resolved.len(), |o| o.root);
    } else {
        owned.par_sort_unstable_by_key(|o| (o.root, o.rank));
    }
    let mut partitions: Vec<&[Owned<'_>]> = owned.chunk_by(|a, b| a.root == b.root).collect();
    let segments = segments::cut(&mut partitions, owned.len(), handing.segment, lowest_owner);
    let mut all = Acc::default();
    let mut held = Vec::new();
    // A segment's drafts that are complete, and its billed usage, are put in order, built,
    // numbered and handed on while the next segment is billed: the serial steps of that
    // (the usage's gathering, the sink's own) overlap the billing's threads, and the threads
    // meet once a segment instead of twice.
    let mut pending: Option<(Vec<Drafted<'a>>, Vec<Part<BilledUsage>>)> = None;
    let last = segments.len().saturating_sub(1);
    for (k, segment) in segments.iter().enumerate() {
        let (accs, handed) = crate::par::join(
            || bill_segment(shared, segment.partitions, progress),
            || match pending.take() {
                Some((ready, parts)) => hand_on(handing, ready, parts, shared.options),
                None => Ok(()),
            },
        );
        handed?;
        let mut ready = all.absorb(accs, std::mem::take(&mut held));
        if k == last {
            // Built by `finish`, beside the run's last serial step.
            held = ready;
            break;
        }
        // The few drafts of owners ranked past the segment wait; the rest stay in place.
        held = ready
            .extract_if(.., |(rank, ..)| *rank >= segment.end)
            .collect();
        pending = Some((ready, std::mem::take(&mut all.usage_parts)));
    }
    // The partitions are done with: freed before their results are gathered.
    drop(segments);
    drop(partitions);
    drop(owned);
    Ok((all, held))
}

/// Builds and numbers the `ready` drafts' invoices (every draft of an owner ranked below the
/// segment's end), puts the segment's billed usage in order, and hands both on.
fn hand_on(
    handing: &mut Handing<'_>,
    mut ready: Vec<Drafted<'_>>,
    parts: Vec<Part<BilledUsage>>,
    options: &RunOptions,
) -> Result<(), BillingError> {
    // The billed usage is put in order (one serial pass) while the other threads build the
    // invoices.
    let (usage, invoices) = crate::par::join(
        || gather_runs(parts),
        || {
            ready.par_sort_unstable_by_key(|(rank, currency, _)| (*rank, *currency));
            handing.number(ready, options)
        },
    );
    handing.hand(invoices?, usage);
    Ok(())
}

/// The lowest rank whose drafts partition `part` can give: its root's or a member's.
fn lowest_owner(part: &[Owned<'_>]) -> u32 {
    let root = part.first().map_or(u32::MAX, |o| o.root);
    part.iter().map(|o| o.account).fold(root, u32::min)
}

/// Bills `partitions` across the pool's threads: what each chunk of them gathered.
fn bill_segment<'a>(
    shared: &Shared<'_, 'a>,
    partitions: &[&[Owned<'a>]],
    progress: &(dyn Fn(usize) + Sync),
) -> Vec<Acc<'a>> {
    // Many chunks per thread, billed largest first, each taken by whichever thread is free:
    // the run's tail is then one small chunk, not a thread left with a large one (with 8
    // chunks a thread in rayon's halving split, one thread billed alone for 10-25 ms at M).
    // Each chunk's vectors are sized once: growing per-thread vectors and merging them
    // pairwise copied every line several times.
    let chunks = chunk_partitions(
        partitions,
        partitions.iter().map(|p| p.len()).sum(),
        crate::par::current_num_threads().saturating_mul(CHUNKS_PER_THREAD),
    );
    largest_first(
        &chunks,
        |c| c.iter().map(|p| p.len()).sum(),
        |chunk, size| {
            let mut acc = Acc::with_capacity(chunk.len(), size);
            // One entry of billed usage a usage item and period in arrears: a run mostly
            // bills one period a subscription, so the chunk's entries are sized once instead
            // of doubling (and copying) their vector as they come.
            let metered = chunk
                .iter()
                .flat_map(|p| p.iter())
                .map(|o| o.sub.items().iter().filter(|i| i.metric.is_some()).count())
                .sum();
            acc.usage.reserve_exact(metered);
            acc.usage_runs.reserve_exact(size);
            for part in *chunk {
                bill_partition(shared, part, &mut acc);
            }
            progress(size);
            acc
        },
    )
}

/// The run's result from what the partitions gathered: the last invoices built, numbered
/// and handed on with the billed usage not handed on yet, every list in a stable order.
fn finish(
    acc: Acc<'_>,
    mut drafts: Vec<Drafted<'_>>,
    subscriptions: &[&Subscription],
    table: &UsageTable,
    priced: &[AtomicBool],
    handing: &mut Handing<'_>,
    options: &RunOptions,
) -> Result<BillingRun, BillingError> {
    let Acc {
        billed,
        mut skipped,
        mut unmatched,
        periods,
        mut failed,
        usage_parts,
        ..
    } = acc;
    // The billed usage is put in order (one serial pass) while the other threads build the
    // invoices.
    let (usage, billed) = crate::par::join(
        || gather_runs(usage_parts),
        || {
            failed.par_sort_unstable_by_key(|(rank, _)| *rank);
            // Before the invoices are built: the ranked entries are freed before the run's
            // largest step.
            let billed = billed_in_order(billed, subscriptions);
            // Owners never share a partition, so (owner, currency) keys are unique.
            drafts.par_sort_unstable_by_key(|(rank, currency, _)| (*rank, *currency));
            handing
                .number(drafts, options)
                .map(|invoices| (billed, invoices))
        },
    );
    let (billed, invoices) = billed?;
    handing.hand(invoices, usage);
    skipped.par_sort_unstable();
    skipped.dedup();
    unmatched.par_sort_unstable();
    Ok(BillingRun {
        run_date: options.run_date,
        invoices: Vec::new(),
        billed,
        skipped,
        unmatched,
        unpriced_usage: unpriced(table, priced),
        not_billed: failed.into_iter().map(|(_, n)| n).collect(),
        billed_usage: Vec::new(),
        periods_visited: periods,
    })
}

/// The book's accounts with usage in `table` (its keys sorted, distinct), as (id, place in
/// the table): one merge of the two key orders.
fn matched_usage<'b>(book: &'b AccountBook, table: &[AccountKey]) -> Vec<(&'b AccountId, u32)> {
    let mut matched = Vec::with_capacity(table.len().min(book.len()));
    let mut places = table.iter().zip(0u32..).peekable();
    for (key, id) in book.keys_and_ids() {
        while places.next_if(|(k, _)| *k < key).is_some() {}
        if let Some((_, place)) = places.next_if(|(k, _)| *k == key) {
            matched.push((id, place));
        }
    }
    matched
}

/// What every partition reads.
struct Shared<'s, 'a> {
    table: &'s UsageTable,
    metrics: &'s Catalogue<'s>,
    options: &'s RunOptions,
    accounts: &'s Accounts<'a>,
    /// Per group of the usage table, whether some subscription prices it: set by any
    /// partition (a flag only ever set, so the order does not matter), a byte a group.
    priced: &'s [AtomicBool],
    /// What earlier runs billed of usage.
    billed_usage: &'s BilledUsageIndex<'s>,
}

/// Bills one partition's subscriptions in id order into `acc`. The first error holds the
/// whole partition: its outcome is dropped and the failure reported, its subscriptions still
/// count as pricing their metrics.
fn bill_partition<'a>(shared: &Shared<'_, 'a>, part: &[Owned<'a>], acc: &mut Acc<'a>) {
    let billed_before = acc.billed.len();
    let (usage_before, runs_before) = (acc.usage.len(), acc.usage_runs.len());
    // The charges' usage goes straight into the chunk's vector: no vector of the
    // partition's own to grow and copy.
    let mut outcome: Outcome<'a, SmallDrafts<'a>> = Outcome {
        usage: std::mem::take(&mut acc.usage),
        drafts: SmallDrafts(std::mem::take(&mut acc.spare_drafts)),
        charges: std::mem::take(&mut acc.spare_charges),
        ..Outcome::default()
    };
    let mut entries = std::mem::take(&mut acc.entries);
    let result = try_bill_partition(shared, part, acc, &mut outcome, &mut entries);
    acc.entries = entries;
    acc.usage = std::mem::take(&mut outcome.usage);
    // Drafts not moved out (a failed partition's) are dropped here; the vector is kept.
    let mut spare = std::mem::take(&mut outcome.drafts.0);
    spare.clear();
    acc.spare_drafts = spare;
    acc.spare_charges = std::mem::take(&mut outcome.charges);
    if let Err((at, error)) = result {
        acc.billed.truncate(billed_before);
        acc.usage.truncate(usage_before);
        acc.usage_runs.truncate(runs_before);
        let Some(failing) = part.get(at) else { return };
        let account = shared.accounts.at(failing.account).map(|a| a.account.id());
        let owner = shared.accounts.at(failing.root).map(|a| a.account.id());
        if let (Some(owner), Some(account)) = (owner, account) {
            acc.failed.push((
                failing.rank,
                NotBilled::new(owner, account, failing.sub, &error),
            ));
        }
        // The usage the held subscriptions price is still priced, not reported unpriced.
        for o in part.get(at..).unwrap_or_default() {
            mark_priced_by_name(shared, o);
        }
    }
}

/// Marks the usage groups `o`'s items price, finding their metrics by name.
fn mark_priced_by_name(shared: &Shared<'_, '_>, o: &Owned<'_>) {
    let Some(a) = shared.accounts.at(o.account).and_then(|r| r.usage) else {
        return;
    };
    let groups = o
        .sub
        .items()
        .iter()
        .filter_map(|i| shared.table.metric_index(i.metric.as_ref()?))
        .filter_map(|m| shared.table.group_of(a as usize, m));
    for g in groups {
        if let Some(p) = shared.priced.get(g) {
            p.store(true, Ordering::Relaxed);
        }
    }
}

/// The master's billable subscriptions, when the partition's root is a master billing its
/// group: what its children's charges match against.
fn master_subscriptions<'a>(
    part: &[Owned<'a>],
    group_master: Option<&Account>,
) -> Vec<&'a Subscription> {
    match group_master {
        Some(master) if master.master().is_none() => part
            .iter()
            .filter(|o| o.account == o.root)
            .filter(|o| {
                matches!(
                    o.sub.state(),
                    SubscriptionState::Active | SubscriptionState::Ended
                )
            })
            .map(|o| o.sub)
            .collect(),
        _ => Vec::new(),
    }
}

/// Marks the usage groups of table account `account` that `entries` price, so the run's
/// report of unpriced usage leaves them out, and notes each group on its entry for the
/// aggregates. A metric the account has no usage of is noted as not in the table: its
/// aggregates are zero either way, found without a second search.
fn mark_priced(shared: &Shared<'_, '_>, account: usize, entries: &mut [Option<CatalogueEntry>]) {
    for entry in entries.iter_mut().flatten() {
        let Some(m) = entry.table else { continue };
        entry.group = shared.table.group_of(account, m);
        match entry.group {
            Some(g) => {
                if let Some(p) = shared.priced.get(g) {
                    p.store(true, Ordering::Relaxed);
                }
            }
            None => entry.table = None,
        }
    }
}

/// Bills one partition into `acc`, or gives the place in `part` of the first failing
/// subscription and its error.
fn try_bill_partition<'a>(
    shared: &Shared<'_, 'a>,
    part: &[Owned<'a>],
    acc: &mut Acc<'a>,
    outcome: &mut Outcome<'a, SmallDrafts<'a>>,
    entries: &mut Vec<Option<CatalogueEntry>>,
) -> Result<(), (usize, BillingError)> {
    let table = shared.table;
    // Every subscription of a partition has the root of the first: its account, resolved.
    let Some(root) = part.first().and_then(|o| shared.accounts.at(o.root)) else {
        return Ok(());
    };
    // The root's billable subscriptions, when it is a master with group billing: what its
    // children's charges match against.
    let group_master =
        Some(root.account).filter(|m| m.group_billing() && m.state() == AccountState::Active);
    let master_subs = master_subscriptions(part, group_master);
    for (at, o) in part.iter().enumerate() {
        let resolved = if o.account == o.root {
            Some(root)
        } else {
            shared.accounts.at(o.account)
        };
        // Every rank of a partition was resolved from the book's accounts.
        let Some(resolved) = resolved else { continue };
        let (sub, account) = (o.sub, resolved.account);
        check_subscription(sub, account, shared.metrics, entries).map_err(|e| (at, e))?;
        let usage = resolved.usage.map(|a| a as usize);
        if let Some(a) = usage {
            mark_priced(shared, a, entries);
        }
        let master = group_master.filter(|_| o.account != o.root);
        let context = Context {
            usage: &AccountUsage {
                table,
                account: usage,
            },
            items: entries,
            options: shared.options,
            walk: Walk::FromBilled,
            billed_usage: shared.billed_usage,
        };
        let from = sub.billed_through();
        let usage_from = outcome.usage.len();
        match bill_subscription(&context, sub, account, master, &master_subs, outcome) {
            Ok(through) if through != from => acc.billed.push((o.rank, from, through)),
            Ok(_) => {}
            Err(e) => {
                acc.periods = acc.periods.saturating_add(outcome.periods);
                return Err((at, e));
            }
        }
        let len = outcome.usage.len().saturating_sub(usage_from);
        if len > 0 {
            if !outcome.usage_ordered {
                sort_subscription_usage(&mut outcome.usage, usage_from);
            }
            acc.usage_runs.push(UsageRun {
                rank: o.rank,
                start: usage_from,
                len,
            });
        }
    }
    acc.periods = acc.periods.saturating_add(outcome.periods);
    let drafts = outcome.drafts.0.iter().map(|(c, d)| (*c, d));
    if let Some((owner, error)) = super::totals::overflowing(drafts) {
        // Reported at the owner's first subscription, as the reference does.
        let at = part
            .iter()
            .position(|o| {
                shared
                    .accounts
                    .at(o.account)
                    .is_some_and(|a| std::ptr::eq(a.account, owner))
            })
            .unwrap_or(0);
        return Err((at, error));
    }
    for (currency, draft) in outcome.drafts.0.drain(..) {
        // Most drafts are the root's; a child billed on its own is looked up.
        let rank = if std::ptr::eq(root.account, draft.owner) {
            root.rank
        } else {
            shared
                .accounts
                .get(draft.owner.id().as_str())
                .map_or(u32::MAX, |a| a.rank)
        };
        acc.drafts.push((rank, currency, draft));
    }
    // Most partitions skip nothing and match every child: an empty tree's iterator is not
    // made and dropped a partition.
    if !outcome.skipped.is_empty() {
        acc.skipped.extend(std::mem::take(&mut outcome.skipped));
    }
    if !outcome.unmatched.is_empty() {
        acc.unmatched
            .extend(std::mem::take(&mut outcome.unmatched).into_values());
    }
    Ok(())
}

/// The `UnknownUsageAccount` check: the smallest (key, metric) with usage whose
/// key no account has.
fn check_usage_accounts(data: &CompanyData<'_>) -> Result<(), BillingError> {
    let unknown = data
        .usage
        .accounts()
        .par_iter()
        .enumerate()
        .find_first(|(_, key)| data.accounts.by_key(key).is_none());
    match unknown.and_then(|(a, key)| Some((key, data.usage.first_metric(a)?))) {
        Some((key, metric)) => Err(BillingError::UnknownUsageAccount {
            key: key.clone(),
            metric: metric.clone(),
        }),
        None => Ok(()),
    }
}
