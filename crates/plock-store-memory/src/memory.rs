//! The in-memory store: indexed for the lookups the domain needs.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use plock_core::account::{ExternalId, ExternalSystem};
use plock_core::billing::BilledUsage;
use plock_core::id::ProductId;
use plock_core::period::Period;
use plock_core::store::{
    AccountQuery, Batch, Change, CompanySnapshot, InvoiceQuery, Page, StoreError,
    SubscriptionQuery, apply_to_book, check_billed_usage, check_currency_change, page_limit,
    subscription_to_store,
};
use plock_core::subscription::BilledThrough;
use plock_core::{
    Account, AccountBook, AccountId, AccountKey, BillingPractice, Invoice, Metric, MetricId, Store,
    Subscription, SubscriptionId, UsageRecord,
};
use serde::{Deserialize, Serialize};

/// Everything but usage: small enough to copy for an all-or-nothing batch.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct State {
    book: AccountBook,
    subscriptions: BTreeMap<SubscriptionId, Subscription>,
    metrics: BTreeMap<MetricId, Metric>,
    invoices: BTreeMap<u64, Invoice>,
    next_invoice_number: u64,
    /// What runs billed of usage, the latest of each key.
    billed_usage: BTreeMap<(SubscriptionId, ProductId, NaiveDate), BilledUsage>,
}

/// What the data file holds: plain lists, keyed again on load.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    accounts: AccountBook,
    subscriptions: Vec<Subscription>,
    metrics: Vec<Metric>,
    /// What data files written before subscriptions kept their watermarks billed, one key a
    /// charge: read into the watermarks on load, never written.
    #[serde(default, skip_serializing)]
    billed: Vec<LegacyBilledKey>,
    invoices: Vec<Invoice>,
    next_invoice_number: u64,
    usage: Vec<UsageRecord>,
    /// What runs billed of usage, period by period.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    billed_usage: Vec<BilledUsage>,
}

/// A charge billed, as older data files list them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct LegacyBilledKey {
    subscription: SubscriptionId,
    period: Period,
    timing: BillingPractice,
}

/// A company's data in memory. Usage is indexed by account and time, so a period lookup is a
/// range scan; everything else lives in ordered maps.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MemoryStore {
    state: State,
    usage: BTreeMap<AccountKey, Vec<UsageRecord>>,
    usage_count: usize,
}

impl MemoryStore {
    /// An empty store; invoice numbers start at 1.
    pub fn new() -> MemoryStore {
        MemoryStore {
            state: State {
                next_invoice_number: 1,
                ..State::default()
            },
            ..MemoryStore::default()
        }
    }

    /// Rebuilds a store from a snapshot, re-checking every invariant (the account book's on
    /// deserialisation, every invoice's total, subscriptions and usage naming known accounts).
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the broken rule.
    pub fn from_snapshot(snapshot: Snapshot) -> Result<MemoryStore, StoreError> {
        let backend = |message: String| StoreError::Backend { message };
        let mut subscriptions: BTreeMap<SubscriptionId, Subscription> = snapshot
            .subscriptions
            .into_iter()
            .map(|s| (s.id().clone(), s))
            .collect();
        for key in &snapshot.billed {
            if let Some(sub) = subscriptions.get_mut(&key.subscription) {
                sub.record_billed(BilledThrough::default().advanced(key.timing, key.period.end()));
            }
        }
        let state = State {
            book: snapshot.accounts,
            subscriptions,
            metrics: snapshot
                .metrics
                .into_iter()
                .map(|m| (m.id.clone(), m))
                .collect(),
            invoices: snapshot
                .invoices
                .into_iter()
                .map(|i| (i.number(), i))
                .collect(),
            next_invoice_number: snapshot.next_invoice_number,
            billed_usage: snapshot
                .billed_usage
                .into_iter()
                .map(billed_usage_entry)
                .collect(),
        };
        state
            .book
            .check_invariants()
            .map_err(|e| backend(e.to_string()))?;
        for invoice in state.invoices.values() {
            invoice
                .check_invariants()
                .map_err(|e| backend(e.to_string()))?;
        }
        for sub in state.subscriptions.values() {
            if state.book.get(sub.account()).is_none() {
                return Err(backend(format!(
                    "subscription {} names unknown account {}",
                    sub.id(),
                    sub.account()
                )));
            }
        }
        let mut store = MemoryStore {
            state,
            ..MemoryStore::default()
        };
        for record in &snapshot.usage {
            if store.state.book.by_key(record.account()).is_none() {
                return Err(backend(format!(
                    "usage names unknown account key {}",
                    record.account()
                )));
            }
        }
        store.insert_usage(snapshot.usage);
        Ok(store)
    }

    /// The store as a snapshot for the data file.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            accounts: self.state.book.clone(),
            subscriptions: self.state.subscriptions.values().cloned().collect(),
            metrics: self.state.metrics.values().cloned().collect(),
            billed: Vec::new(),
            invoices: self.state.invoices.values().cloned().collect(),
            next_invoice_number: self.state.next_invoice_number,
            usage: self.usage.values().flatten().cloned().collect(),
            billed_usage: self.state.billed_usage.values().cloned().collect(),
        }
    }

    /// The account book (the memory store holds it whole).
    pub fn book(&self) -> &AccountBook {
        &self.state.book
    }

    /// How many usage records are stored.
    pub fn usage_count(&self) -> usize {
        self.usage_count
    }

    fn insert_usage(&mut self, records: Vec<UsageRecord>) {
        let mut touched = BTreeSet::new();
        for record in records {
            touched.insert(record.account().clone());
            self.usage
                .entry(record.account().clone())
                .or_default()
                .push(record);
            self.usage_count = self.usage_count.saturating_add(1);
        }
        for key in touched {
            if let Some(list) = self.usage.get_mut(&key) {
                list.sort_by(|a, b| (a.timestamp(), a).cmp(&(b.timestamp(), b)));
                // A record re-sent exactly (same id, time and quantity) is stored once: it
                // counts once anyway, and a re-import must not grow the data. Records
                // without an id are all kept: two can be equal and both real.
                let before = list.len();
                list.dedup_by(|a, b| a == b && a.record_id().is_some());
                self.usage_count = self
                    .usage_count
                    .saturating_sub(before.saturating_sub(list.len()));
            }
        }
    }
}

fn page<T: Clone, C: Clone>(
    items: impl Iterator<Item = T>,
    limit: usize,
    cursor: impl Fn(&T) -> C,
) -> Page<T, C> {
    let limit = page_limit(limit);
    let mut items: Vec<T> = items.take(limit.saturating_add(1)).collect();
    let next = if items.len() > limit {
        items.truncate(limit);
        items.last().map(&cursor)
    } else {
        None
    };
    Page { items, next }
}

impl Store for MemoryStore {
    fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        Ok(self.state.book.get(id).cloned())
    }

    fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError> {
        let wanted: BTreeSet<&AccountId> = ids.iter().collect();
        Ok(wanted
            .into_iter()
            .filter_map(|id| self.state.book.get(id).cloned())
            .collect())
    }

    fn account_by_key(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        Ok(self.state.book.by_key(key).cloned())
    }

    fn account_by_external_id(
        &self,
        system: &ExternalSystem,
        id: &ExternalId,
    ) -> Result<Option<Account>, StoreError> {
        Ok(self.state.book.by_external_id(system, id).cloned())
    }

    fn list_accounts(&self, query: &AccountQuery) -> Result<Page<Account, AccountId>, StoreError> {
        let items = self
            .state
            .book
            .filter(query.state, query.tags.as_ref())
            .filter(|a| query.after.as_ref().is_none_or(|after| a.id() > after))
            .cloned();
        Ok(page(items, query.limit, |a: &Account| a.id().clone()))
    }

    fn children(&self, master: &AccountId) -> Result<Vec<Account>, StoreError> {
        Ok(self.state.book.children(master).cloned().collect())
    }

    fn is_dismissed(&self, key: &AccountKey) -> Result<bool, StoreError> {
        Ok(self.state.book.is_dismissed(key))
    }

    fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        Ok(self.state.subscriptions.get(id).cloned())
    }

    fn subscriptions_of(&self, accounts: &[AccountId]) -> Result<Vec<Subscription>, StoreError> {
        let wanted: BTreeSet<&AccountId> = accounts.iter().collect();
        Ok(self
            .state
            .subscriptions
            .values()
            .filter(|s| wanted.contains(s.account()))
            .cloned()
            .collect())
    }

    fn list_subscriptions(
        &self,
        query: &SubscriptionQuery,
    ) -> Result<Page<Subscription, SubscriptionId>, StoreError> {
        let items = self
            .state
            .subscriptions
            .values()
            .filter(|s| query.account.as_ref().is_none_or(|a| s.account() == a))
            .filter(|s| query.after.as_ref().is_none_or(|after| s.id() > after))
            .cloned();
        Ok(page(items, query.limit, |s: &Subscription| s.id().clone()))
    }

    fn metrics(&self) -> Result<Vec<Metric>, StoreError> {
        Ok(self.state.metrics.values().cloned().collect())
    }

    fn usage(
        &self,
        accounts: &[AccountKey],
        period: &Period,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        let wanted: BTreeSet<&AccountKey> = accounts.iter().collect();
        let mut out = Vec::new();
        for key in wanted {
            let Some(records) = self.usage.get(key) else {
                continue;
            };
            let first = records.partition_point(|r| r.timestamp().date_naive() < period.start());
            let rest = records.get(first..).unwrap_or_default();
            out.extend(
                rest.iter()
                    .take_while(|r| r.timestamp().date_naive() < period.end())
                    .cloned(),
            );
        }
        out.sort();
        Ok(out)
    }

    fn invoice(&self, number: u64) -> Result<Option<Invoice>, StoreError> {
        Ok(self.state.invoices.get(&number).cloned())
    }

    fn list_invoices(&self, query: &InvoiceQuery) -> Result<Page<Invoice, u64>, StoreError> {
        let start = query.after.map_or(0, |a| a.saturating_add(1));
        let items = self
            .state
            .invoices
            .range(start..)
            .map(|(_, i)| i)
            .filter(|i| query.owner.as_ref().is_none_or(|o| i.owner() == o))
            .cloned();
        Ok(page(items, query.limit, Invoice::number))
    }

    fn next_invoice_number(&self) -> Result<u64, StoreError> {
        Ok(self.state.next_invoice_number)
    }

    fn company(&self) -> Result<CompanySnapshot, StoreError> {
        Ok(CompanySnapshot {
            accounts: self.state.book.clone(),
            subscriptions: self.state.subscriptions.values().cloned().collect(),
            metrics: self.state.metrics.values().cloned().collect(),
            usage: self.usage.values().flatten().cloned().collect(),
            billed_usage: self.state.billed_usage.values().cloned().collect(),
        })
    }

    fn apply(&mut self, batch: Batch) -> Result<(), StoreError> {
        let mut work = self.state.clone();
        let mut new_usage = Vec::new();
        // The keys of the accounts dismissed, taken before they leave the book: an account
        // added earlier in the same batch has one too.
        let mut dismissed: Vec<(usize, &AccountId, AccountKey)> = Vec::new();
        for (index, change) in batch.changes.iter().enumerate() {
            if let Change::Dismiss { id } = change
                && let Some(account) = work.book.get(id)
            {
                dismissed.push((index, id, account.key().clone()));
            }
            apply_to_book(&mut work.book, index, change)?;
            match change {
                Change::Dismiss { id }
                    if work.subscriptions.values().any(|s| s.account() == id) =>
                {
                    return Err(StoreError::Conflict {
                        index,
                        what: "account",
                        id: id.to_string(),
                        reason: "has subscriptions; a dismissed account must have none",
                    });
                }
                Change::EditAccount {
                    id,
                    currency: Some(currency),
                    ..
                } => {
                    check_currency_change(index, id, *currency, work.subscriptions.values())?;
                }
                Change::PutSubscription { subscription } => {
                    let stored = work
                        .subscriptions
                        .get(subscription.id())
                        .map(Subscription::billed_through);
                    let subscription =
                        subscription_to_store(&work.book, index, subscription, stored)?;
                    work.subscriptions
                        .insert(subscription.id().clone(), subscription);
                }
                Change::PutMetric { metric } => {
                    work.metrics.insert(metric.id.clone(), metric.clone());
                }
                Change::AddUsage { records } => {
                    if let Some(record) = records
                        .iter()
                        .find(|r| work.book.by_key(r.account()).is_none())
                    {
                        return Err(StoreError::NotFound {
                            index,
                            what: "account key",
                            id: record.account().to_string(),
                        });
                    }
                    new_usage.extend(records.iter().cloned());
                }
                Change::RecordRun {
                    invoices,
                    billed,
                    billed_usage,
                } => {
                    for row in billed_usage {
                        let (key, stored) = billed_usage_entry(row.to_stored());
                        check_billed_usage(index, row, work.billed_usage.get(&key))?;
                        work.billed_usage.insert(key, stored);
                    }
                    record_run(&mut work, index, invoices, billed)?;
                }
                _ => {}
            }
        }
        // Usage of a dismissed account would orphan it: refuse dismissals of accounts with usage.
        for (index, id, key) in dismissed {
            if self.usage.contains_key(&key) || new_usage.iter().any(|r| r.account() == &key) {
                return Err(StoreError::Conflict {
                    index,
                    what: "account",
                    id: id.to_string(),
                    reason: "has usage records",
                });
            }
        }
        self.state = work;
        self.insert_usage(new_usage);
        Ok(())
    }
}

/// A billing run into `work`: each subscription billed as far as the run says, if no other
/// run billed it since this one read it, and its invoices stored under unused numbers.
fn record_run(
    work: &mut State,
    index: usize,
    invoices: &[Invoice],
    billed: &[plock_core::billing::Billed],
) -> Result<(), StoreError> {
    for b in billed {
        let Some(sub) = work.subscriptions.get_mut(&b.subscription) else {
            return Err(StoreError::NotFound {
                index,
                what: "subscription",
                id: b.subscription.to_string(),
            });
        };
        if sub.billed_through() != b.from {
            return Err(StoreError::Conflict {
                index,
                what: "subscription",
                id: b.subscription.to_string(),
                reason: "was billed by another run since this run read it",
            });
        }
        sub.record_run(b.through);
    }
    for invoice in invoices {
        invoice
            .check_invariants()
            .map_err(|e| StoreError::Backend {
                message: e.to_string(),
            })?;
        let number = invoice.number();
        if work.invoices.insert(number, invoice.clone()).is_some() {
            return Err(StoreError::Conflict {
                index,
                what: "invoice",
                id: number.to_string(),
                reason: "already exists",
            });
        }
        work.next_invoice_number = work.next_invoice_number.max(number.saturating_add(1));
    }
    Ok(())
}

impl MemoryStore {
    /// Loads the store from a locked data file; an absent file gives an empty store.
    ///
    /// # Errors
    /// The data file's errors; a snapshot breaking an invariant is [`DataFileError::Corrupt`](crate::DataFileError::Corrupt).
    pub fn load(file: &mut crate::DataFile) -> Result<MemoryStore, crate::DataFileError> {
        match file.load::<Snapshot>()? {
            None => Ok(MemoryStore::new()),
            Some(snapshot) => {
                MemoryStore::from_snapshot(snapshot).map_err(|e| crate::DataFileError::Corrupt {
                    path: file.path().to_path_buf(),
                    reason: e.to_string(),
                })
            }
        }
    }

    /// Saves the store to a locked data file, atomically.
    ///
    /// # Errors
    /// The data file's errors.
    pub fn save(&self, file: &mut crate::DataFile) -> Result<(), crate::DataFileError> {
        file.save(&self.snapshot())
    }
}

/// A run's billed usage under its key: a later one of the same key replaces it.
fn billed_usage_entry(row: BilledUsage) -> ((SubscriptionId, ProductId, NaiveDate), BilledUsage) {
    (
        (
            row.subscription.clone(),
            row.product.clone(),
            row.period.start(),
        ),
        row,
    )
}
