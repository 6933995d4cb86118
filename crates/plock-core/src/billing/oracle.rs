//! The reference billing run: the tests' oracle, obviously correct rather than fast.
//!
//! It reads usage as plain records, indexes them in a hash map, walks every subscription
//! from its first period, and builds invoices one by one. It shares the per-subscription
//! rules with [`run`](super::run), and the tests check that both give the same result byte
//! for byte (but for [`BillingRun::periods_visited`]). Built only with the `oracle` feature:
//! it is test support, not a second engine.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;

use super::billed_usage::{BilledUsage, BilledUsageIndex};
use super::catalogue::{Catalogue, CatalogueEntry, UsageLookup};
use super::rules::{
    Context, Draft, Drafts, Outcome, Walk, bill_subscription, build_invoice, check_subscription,
    sorted_subscriptions,
};
use super::{Billed, BillingError, BillingRun, NotBilled, RunOptions, UnpricedUsage};
use crate::account::{Account, AccountState};
use crate::book::AccountBook;
use crate::hash::FastState;
use crate::id::{AccountId, AccountKey, MetricId};
use crate::invoice::Invoice;
use crate::money::Currency;
use crate::period::Period;
use crate::subscription::{Subscription, SubscriptionState};
use crate::usage::{Metric, UsageRecord, aggregate_quantities, deduplicate};

/// Everything the reference run reads: [`CompanyData`](super::CompanyData) with usage as
/// plain records. The order of every slice is irrelevant.
#[derive(Debug, Clone, Copy)]
pub struct RecordData<'a> {
    /// The accounts.
    pub accounts: &'a AccountBook,
    /// Every subscription, of any state.
    pub subscriptions: &'a [Subscription],
    /// The metric catalogue.
    pub metrics: &'a [Metric],
    /// Usage records.
    pub usage: &'a [UsageRecord],
    /// What earlier runs billed of usage, period by period.
    pub billed_usage: &'a [BilledUsage],
}

/// Runs billing the reference way.
///
/// # Errors
/// [`BillingError`] for inconsistent input; nothing is half-billed.
pub fn reference_run(
    data: &RecordData<'_>,
    options: &RunOptions,
) -> Result<BillingRun, BillingError> {
    let metrics = Catalogue::new(data.metrics, |_| None)?;
    let usage = usage_index(data)?;
    let subscriptions = sorted_subscriptions(data.subscriptions)?;
    let masters = billable_master_subscriptions(data.accounts, &subscriptions);
    let billed_usage = BilledUsageIndex::new(data.billed_usage);
    let mut usage_billed = Vec::new();

    // Subscriptions by their invoice owner's group: an account's master, if the book has
    // it, else the account. A failure holds its whole group.
    let mut groups: BTreeMap<&AccountId, Vec<(&Subscription, &Account)>> = BTreeMap::new();
    let mut not_billed = Vec::new();
    for sub in &subscriptions {
        match data.accounts.get(sub.account()) {
            None => {
                let error = BillingError::UnknownAccount {
                    subscription: sub.id().clone(),
                    account: sub.account().clone(),
                };
                not_billed.push(NotBilled::new(sub.account(), sub.account(), sub, &error));
            }
            Some(account) => {
                let root = account
                    .master()
                    .filter(|m| data.accounts.get(m).is_some())
                    .unwrap_or(account.id());
                groups.entry(root).or_default().push((sub, account));
            }
        }
    }
    let mut outcome: Outcome<'_, DraftMap<'_>> = Outcome::default();
    let mut billed = Vec::new();
    for (root, subs) in groups {
        let mut group: Outcome<'_, DraftMap<'_>> = Outcome::default();
        let mut group_billed = Vec::new();
        let billing = Billing {
            data,
            metrics: &metrics,
            usage: &usage,
            masters: &masters,
            options,
            billed_usage: &billed_usage,
        };
        let result = subs.iter().try_for_each(|(sub, account)| {
            billing
                .bill(sub, account, &mut group, &mut group_billed)
                .map_err(|e| NotBilled::new(root, account.id(), sub, &e))
        });
        outcome.periods = outcome.periods.saturating_add(group.periods);
        let result = result.and_then(|()| {
            let drafts = group.drafts.iter().map(|((_, c), d)| (*c, d));
            match super::totals::overflowing(drafts) {
                None => Ok(()),
                Some((owner, e)) => {
                    // Reported at the owner's first subscription.
                    let first = subs.iter().find(|(_, a)| a.id() == owner.id());
                    match first.or(subs.first()) {
                        Some((sub, account)) => Err(NotBilled::new(root, account.id(), sub, &e)),
                        None => Ok(()),
                    }
                }
            }
        });
        match result {
            Ok(()) => {
                outcome.drafts.extend(group.drafts);
                outcome.skipped.extend(group.skipped);
                outcome.unmatched.extend(group.unmatched);
                billed.extend(group_billed);
                usage_billed.extend(group.usage);
            }
            Err(failed) => not_billed.push(failed),
        }
    }
    billed.sort();
    not_billed.sort_by(|a, b| a.subscription.cmp(&b.subscription));

    let invoices = build_invoices(outcome.drafts, options)?;
    Ok(BillingRun {
        run_date: options.run_date,
        invoices,
        billed,
        skipped: outcome.skipped.into_iter().collect(),
        unmatched: outcome.unmatched.into_values().collect(),
        unpriced_usage: unpriced(data, &subscriptions, &usage),
        not_billed,
        billed_usage: {
            usage_billed.sort();
            usage_billed
        },
        periods_visited: outcome.periods,
    })
}

/// What billing one subscription reads.
struct Billing<'r, 'a> {
    data: &'r RecordData<'a>,
    metrics: &'r Catalogue<'a>,
    usage: &'r UsageIndex<'a>,
    masters: &'r BTreeMap<AccountId, Vec<&'a Subscription>>,
    options: &'r RunOptions,
    billed_usage: &'r BilledUsageIndex<'a>,
}

impl<'a> Billing<'_, 'a> {
    /// Bills `sub` of `account` into `outcome`, its new watermark into `billed`.
    fn bill(
        &self,
        sub: &'a Subscription,
        account: &'a Account,
        outcome: &mut Outcome<'a, DraftMap<'a>>,
        billed: &mut Vec<Billed>,
    ) -> Result<(), BillingError> {
        let mut entries = Vec::new();
        check_subscription(sub, account, self.metrics, &mut entries)?;
        let group_master = account
            .master()
            .and_then(|m| self.data.accounts.get(m))
            .filter(|m| m.group_billing() && m.state() == AccountState::Active);
        let master_subs = group_master
            .and_then(|m| self.masters.get(m.id()))
            .map_or(&[][..], Vec::as_slice);
        let context = Context {
            usage: self.usage,
            items: &entries,
            options: self.options,
            walk: Walk::FromStart,
            billed_usage: self.billed_usage,
        };
        let from = sub.billed_through();
        let through =
            bill_subscription(&context, sub, account, group_master, master_subs, outcome)?;
        if through != from {
            billed.push(Billed {
                subscription: sub.id().clone(),
                from,
                through,
            });
        }
        Ok(())
    }
}

/// Drafts by (owner, currency): invoice numbers follow that order.
type DraftMap<'a> = BTreeMap<(AccountId, Currency), Draft<'a>>;

impl<'a> Drafts<'a> for DraftMap<'a> {
    fn draft(&mut self, owner: &'a Account, currency: Currency) -> &mut Draft<'a> {
        self.entry((owner.id().clone(), currency))
            .or_insert_with(|| Draft::new(owner))
    }
}

impl UsageLookup for UsageIndex<'_> {
    fn aggregate(
        &self,
        account: &AccountKey,
        metric: &MetricId,
        entry: CatalogueEntry,
        period: &Period,
    ) -> Option<Decimal> {
        let records = self.get(&(account, metric)).map_or(&[][..], Vec::as_slice);
        let in_period = records
            .iter()
            .filter(|r| period.contains(r.timestamp().date_naive()))
            .map(|r| r.quantity());
        aggregate_quantities(in_period, entry.aggregation)
    }
}

// Hashed, not ordered: nothing observable iterates it unsorted (the unpriced report and the
// unknown-account error are sorted first), and hashing beats 20 string comparisons per record.
// The hasher has fixed keys: plock-core takes no randomness, not even for a hash seed.
type UsageIndex<'a> = HashMap<(&'a AccountKey, &'a MetricId), Vec<&'a UsageRecord>, FastState>;

/// Usage by (account, metric), de-duplicated by record id once for the whole run.
fn usage_index<'a>(data: &RecordData<'a>) -> Result<UsageIndex<'a>, BillingError> {
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

fn build_invoices(
    drafts: DraftMap<'_>,
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

fn unpriced(
    data: &RecordData<'_>,
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
