//! A batch, written in the caller's transaction.
//!
//! The account rules live in [`AccountBook`]: the batch's neighbourhood (the accounts it
//! names, the owners of the keys and external ids it names, their masters and children) is
//! loaded into a book, every change is applied to it with [`apply_to_book`] exactly as the
//! memory store applies it, and at the end only the rows that differ are written. Everything
//! else (subscriptions, metrics, usage, runs) is written change by change, its rules checked
//! against the tables as the transaction sees them. The first refusal returns; the caller's
//! transaction is then dropped, which rolls back everything the batch wrote.

use std::collections::{BTreeSet, HashMap};

use plock_core::billing::Billed;
use plock_core::store::{
    Batch, Change, StoreError, apply_to_book, check_currency_change, subscription_to_store,
};
use plock_core::{
    Account, AccountBook, AccountId, AccountKey, Invoice, Metric, Subscription, UsageRecord,
};
use rusqlite::{Connection, OptionalExtension, params};

use crate::codec::{
    ACCOUNT_COLUMNS, ACCOUNT_SELECT, AccountRow, Context, InvoiceRow, SUBSCRIPTION_COLUMNS,
    SubscriptionRow, UsageRow, account_value, backend, billed_through, book, invoice_number,
    json_list, sql_number, text,
};

/// Applies `batch` in `tx`, or returns the first refusal (the caller then rolls back).
pub(crate) fn apply(tx: &Connection, batch: &Batch) -> Result<(), StoreError> {
    let original = neighbourhood(tx, batch)?;
    let mut work = original.clone();
    let mut owners = KeyOwners::default();
    let mut dismissed = Vec::new();
    for (index, change) in batch.changes.iter().enumerate() {
        let dismissed_key = match change {
            Change::Dismiss { id } => work.get(id).map(|a| a.key().clone()),
            _ => None,
        };
        apply_to_book(&mut work, index, change)?;
        match change {
            Change::Dismiss { id } => {
                if exists(tx, "subscriptions WHERE account = ?1", id.as_str())? {
                    return Err(StoreError::Conflict {
                        index,
                        what: "account",
                        id: id.to_string(),
                        reason: "has subscriptions; a dismissed account must have none",
                    });
                }
                if let Some(key) = dismissed_key {
                    dismissed.push((index, id, key));
                }
            }
            Change::PutSubscription { subscription } => {
                put_subscription(tx, &work, index, subscription)?;
            }
            Change::EditAccount {
                id,
                currency: Some(currency),
                ..
            } => {
                let theirs = subscriptions_of(tx, id.as_str())?;
                check_currency_change(index, id, *currency, &theirs)?;
            }
            Change::PutMetric { metric } => put_metric(tx, metric)?,
            Change::AddUsage { records } => {
                add_usage(tx, &original, &work, &mut owners, index, records)?;
            }
            Change::RecordRun {
                invoices,
                billed,
                billed_usage,
            } => {
                record_run(tx, index, invoices, billed)?;
                crate::billed_usage::write(tx, billed_usage)?;
            }
            Change::AddAccount { .. }
            | Change::AddDiscovered { .. }
            | Change::EditAccount { .. }
            | Change::SetPaymentTerms { .. }
            | Change::Approve { .. }
            | Change::Archive { .. }
            | Change::Restore { .. }
            | Change::Link { .. }
            | Change::Unlink { .. }
            | Change::SetGroupBilling { .. }
            | Change::Tag { .. }
            | Change::Untag { .. }
            | Change::SetExternalId { .. }
            | Change::RemoveExternalId { .. } => {}
        }
    }
    // Usage of a dismissed account would be orphaned; checked once the batch's usage is in,
    // as the memory store checks it.
    for (index, id, key) in dismissed {
        if exists(tx, "usage WHERE account_key = ?1", key.as_str())?
            || exists(tx, "usage_block_keys WHERE account_key = ?1", key.as_str())?
        {
            return Err(StoreError::Conflict {
                index,
                what: "account",
                id: id.to_string(),
                reason: "has usage records",
            });
        }
    }
    write_accounts(tx, &original, &work)
}

/// The subscriptions of account `id`.
fn subscriptions_of(tx: &Connection, id: &str) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!("SELECT {SUBSCRIPTION_COLUMNS} FROM subscriptions WHERE account = ?1");
    let mut stmt = tx.prepare_cached(&sql).context("reading subscriptions")?;
    let rows = stmt
        .query_map([id], SubscriptionRow::read)
        .context("reading subscriptions")?;
    let mut out = Vec::new();
    for row in rows {
        out.push(row.context("reading subscriptions")?.subscription()?);
    }
    Ok(out)
}

/// Is there a row in `from_where` (a table and a condition on `?1`)?
fn exists(tx: &Connection, from_where: &str, value: &str) -> Result<bool, StoreError> {
    tx.prepare_cached(&format!("SELECT EXISTS (SELECT 1 FROM {from_where})"))
        .and_then(|mut stmt| stmt.query_row([value], |row| row.get(0)))
        .context("reading the database")
}

/// Every value of the first column of `sql`'s rows, `?1` bound to `param`.
fn strings(tx: &Connection, sql: &str, param: &str) -> Result<Vec<String>, StoreError> {
    let mut stmt = tx.prepare_cached(sql).context("reading accounts")?;
    let rows = stmt
        .query_map([param], |row| row.get::<_, String>(0))
        .context("reading accounts")?;
    rows.collect::<Result<_, _>>().context("reading accounts")
}

/// The accounts the batch's rules may look at, as a book. See the module documentation.
fn neighbourhood(tx: &Connection, batch: &Batch) -> Result<AccountBook, StoreError> {
    let mut named: BTreeSet<&str> = BTreeSet::new();
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    let mut external = Vec::new();
    for change in &batch.changes {
        match change {
            Change::AddAccount { account } | Change::AddDiscovered { account } => {
                named.insert(account.id().as_str());
                keys.insert(account.key().as_str());
                external.extend(account.external_ids().iter());
            }
            Change::EditAccount { id, .. }
            | Change::SetPaymentTerms { id, .. }
            | Change::Approve { id }
            | Change::Dismiss { id }
            | Change::Archive { id }
            | Change::Restore { id }
            | Change::Tag { id, .. }
            | Change::Untag { id, .. }
            | Change::RemoveExternalId { id, .. } => {
                named.insert(id.as_str());
            }
            Change::SetExternalId {
                id,
                system,
                external_id,
            } => {
                named.insert(id.as_str());
                external.push((system, external_id));
            }
            Change::Link { child, master } => {
                named.insert(child.as_str());
                named.insert(master.as_str());
            }
            Change::Unlink { child } => {
                named.insert(child.as_str());
            }
            Change::SetGroupBilling { master, .. } => {
                named.insert(master.as_str());
            }
            Change::PutSubscription { subscription } => {
                named.insert(subscription.account().as_str());
            }
            Change::PutMetric { .. } | Change::AddUsage { .. } | Change::RecordRun { .. } => {}
        }
    }
    if named.is_empty() {
        return Ok(AccountBook::new());
    }
    let mut scope: BTreeSet<String> = named.iter().map(|id| (*id).to_owned()).collect();
    scope.extend(strings(
        tx,
        "SELECT id FROM accounts WHERE key IN (SELECT value FROM json_each(?1))",
        &json_list(keys.iter().copied())?,
    )?);
    {
        let mut stmt = tx
            .prepare_cached(
                "SELECT account FROM external_ids WHERE system = ?1 AND external_id = ?2",
            )
            .context("reading external ids")?;
        for (system, id) in external {
            let owner: Option<String> = stmt
                .query_row([system.name(), id.as_str()], |row| row.get(0))
                .optional()
                .context("reading external ids")?;
            scope.extend(owner);
        }
    }
    let list = json_list(scope.iter().map(String::as_str))?;
    let masters = strings(
        tx,
        "SELECT master FROM accounts \
         WHERE id IN (SELECT value FROM json_each(?1)) AND master IS NOT NULL",
        &list,
    )?;
    let children = strings(
        tx,
        "SELECT id FROM accounts WHERE master IN (SELECT value FROM json_each(?1))",
        &list,
    )?;
    scope.extend(masters);
    scope.extend(children);
    let list = json_list(scope.iter().map(String::as_str))?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_SELECT} FROM accounts a WHERE a.id IN (SELECT value FROM json_each(?1))"
        ))
        .context("reading accounts")?;
    let mut rows = stmt.query([&list]).context("reading accounts")?;
    let mut accounts = Vec::new();
    while let Some(row) = rows.next().context("reading accounts")? {
        accounts.push(account_value(row)?);
    }
    let dismissed = strings(
        tx,
        "SELECT key FROM dismissed_keys WHERE key IN (SELECT value FROM json_each(?1))",
        &json_list(keys.iter().copied())?,
    )?;
    book(accounts, dismissed)
}

fn put_subscription(
    tx: &Connection,
    work: &AccountBook,
    index: usize,
    subscription: &Subscription,
) -> Result<(), StoreError> {
    let stored = watermarks(tx, subscription.id().as_str())?;
    let subscription = subscription_to_store(work, index, subscription, stored)?;
    let row = SubscriptionRow::of(&subscription)?;
    tx.prepare_cached(&upsert("subscriptions", SUBSCRIPTION_COLUMNS))
        .and_then(|mut stmt| stmt.execute(row.params()))
        .context("writing a subscription")?;
    Ok(())
}

/// `INSERT` of every column, updating every column but the first (the key) on conflict.
fn upsert(table: &str, columns: &str) -> String {
    let names: Vec<&str> = columns.split(", ").collect();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("?{i}")).collect();
    let updates: Vec<String> = names
        .iter()
        .skip(1)
        .map(|c| format!("{c} = excluded.{c}"))
        .collect();
    format!(
        "INSERT INTO {table} ({columns}) VALUES ({}) ON CONFLICT ({}) DO UPDATE SET {}",
        placeholders.join(", "),
        names.first().copied().unwrap_or_default(),
        updates.join(", ")
    )
}

/// A subscription's stored watermarks; `None` when it is not stored.
fn watermarks(
    tx: &Connection,
    id: &str,
) -> Result<Option<plock_core::subscription::BilledThrough>, StoreError> {
    let row: Option<(Option<String>, Option<String>)> = tx
        .prepare_cached(
            "SELECT billed_through_in_advance, billed_through_in_arrears \
             FROM subscriptions WHERE id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .context("reading a subscription")?;
    row.map(|(in_advance, in_arrears)| billed_through(in_advance, in_arrears))
        .transpose()
}

fn put_metric(tx: &Connection, metric: &Metric) -> Result<(), StoreError> {
    let aggregation = text(&metric.aggregation)?;
    tx.prepare_cached(&upsert("metrics", "id, aggregation"))
        .and_then(|mut stmt| stmt.execute(params![metric.id.as_str(), aggregation]))
        .context("writing a metric")?;
    Ok(())
}

/// Which account holds each key in the database, looked up once per key.
#[derive(Default)]
struct KeyOwners(HashMap<AccountKey, Option<AccountId>>);

impl KeyOwners {
    /// Does an account hold `key` at this point of the batch? The book answers for the
    /// accounts it holds (the batch changes no other); the database for the rest.
    fn known(
        &mut self,
        tx: &Connection,
        original: &AccountBook,
        work: &AccountBook,
        key: &AccountKey,
    ) -> Result<bool, StoreError> {
        if work.by_key(key).is_some() {
            return Ok(true);
        }
        let owner = match self.0.get(key) {
            Some(owner) => owner.clone(),
            None => {
                let owner: Option<String> = tx
                    .prepare_cached("SELECT id FROM accounts WHERE key = ?1")
                    .and_then(|mut stmt| {
                        stmt.query_row([key.as_str()], |row| row.get(0)).optional()
                    })
                    .context("reading accounts")?;
                let owner = owner
                    .map(AccountId::new)
                    .transpose()
                    .context("stored account id")?;
                self.0.insert(key.clone(), owner.clone());
                owner
            }
        };
        Ok(owner.is_some_and(|id| original.get(&id).is_none()))
    }
}

fn add_usage(
    tx: &Connection,
    original: &AccountBook,
    work: &AccountBook,
    owners: &mut KeyOwners,
    index: usize,
    records: &[UsageRecord],
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO usage (account_key, metric, unix_day, timestamp, quantity, record_id) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
        )
        .context("writing usage")?;
    for record in records {
        if !owners.known(tx, original, work, record.account())? {
            return Err(StoreError::NotFound {
                index,
                what: "account key",
                id: record.account().to_string(),
            });
        }
        stmt.execute(UsageRow::of(record)?.params())
            .context("writing usage")?;
    }
    Ok(())
}

fn record_run(
    tx: &Connection,
    index: usize,
    invoices: &[Invoice],
    billed: &[Billed],
) -> Result<(), StoreError> {
    for b in billed {
        let id = b.subscription.as_str();
        let Some(stored) = watermarks(tx, id)? else {
            return Err(StoreError::NotFound {
                index,
                what: "subscription",
                id: id.to_owned(),
            });
        };
        if stored != b.from {
            return Err(StoreError::Conflict {
                index,
                what: "subscription",
                id: id.to_owned(),
                reason: "was billed by another run since this run read it",
            });
        }
        // Checked above: `from` still holds, so the run's watermark is recorded as it is
        // (moved back where it credited days past a moved end).
        let through = b.through;
        let in_advance = through.in_advance.as_ref().map(text).transpose()?;
        let in_arrears = through.in_arrears.as_ref().map(text).transpose()?;
        tx.prepare_cached(
            "UPDATE subscriptions \
             SET billed_through_in_advance = ?2, billed_through_in_arrears = ?3 WHERE id = ?1",
        )
        .and_then(|mut stmt| stmt.execute(params![id, in_advance, in_arrears]))
        .context("recording what a subscription is billed through")?;
    }
    let mut next = next_invoice_number(tx)?;
    for invoice in invoices {
        invoice
            .check_invariants()
            .map_err(|e| backend(e.to_string()))?;
        let number = invoice.number();
        if exists(
            tx,
            "invoices WHERE number = ?1",
            &sql_number(number)?.to_string(),
        )? {
            return Err(StoreError::Conflict {
                index,
                what: "invoice",
                id: number.to_string(),
                reason: "already exists",
            });
        }
        let row = InvoiceRow::of(invoice)?;
        tx.prepare_cached(
            "INSERT INTO invoices \
             (number, owner, currency, total, period_start, period_end, invoice) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .and_then(|mut stmt| stmt.execute(row.params()))
        .context("writing an invoice")?;
        next = next.max(number.saturating_add(1));
    }
    let next = sql_number(next)?;
    tx.prepare_cached("UPDATE meta SET value = ?1 WHERE name = 'next_invoice_number'")
        .and_then(|mut stmt| stmt.execute([next]))
        .context("writing the next invoice number")?;
    Ok(())
}

/// Writes the accounts that differ between `original` and `work`: a changed tag is one row
/// of `account_tags`, a changed name one `UPDATE`. Deletions come first, so a key or an
/// external id another account gave up in the batch is free when it is written again.
fn write_accounts(
    tx: &Connection,
    original: &AccountBook,
    work: &AccountBook,
) -> Result<(), StoreError> {
    let same_key = |old: &Account| work.get(old.id()).filter(|new| new.key() == old.key());
    let tags_of = |a: &Account| -> BTreeSet<String> {
        a.tags().iter().map(|t| t.as_str().to_owned()).collect()
    };
    for old in original.iter() {
        let id = old.id().as_str();
        let Some(new) = same_key(old) else {
            // Gone (dismissed), or another account under the same id: its tags and external
            // ids go with it.
            execute(tx, "DELETE FROM accounts WHERE id = ?1", params![id])?;
            continue;
        };
        for (system, external_id) in old.external_ids().iter() {
            if new.external_ids().get(system) != Some(external_id) {
                execute(
                    tx,
                    "DELETE FROM external_ids WHERE account = ?1 AND system = ?2",
                    params![id, system.name()],
                )?;
            }
        }
        let kept = tags_of(new);
        for tag in old.tags().iter().filter(|t| !kept.contains(t.as_str())) {
            execute(
                tx,
                "DELETE FROM account_tags WHERE account = ?1 AND folded = ?2",
                params![id, tag.as_str().to_lowercase()],
            )?;
        }
    }
    for new in work.iter() {
        let id = new.id().as_str();
        let row = AccountRow::of(new)?;
        let old = original.get(new.id()).filter(|old| old.key() == new.key());
        match old {
            Some(old) => {
                if AccountRow::of(old)? != row {
                    let sets: Vec<String> = ACCOUNT_COLUMNS
                        .split(", ")
                        .enumerate()
                        .skip(1)
                        .map(|(i, c)| format!("{c} = ?{}", i.saturating_add(1)))
                        .collect();
                    let sql = format!("UPDATE accounts SET {} WHERE id = ?1", sets.join(", "));
                    execute(tx, &sql, row.params())?;
                }
            }
            None => {
                let sql = format!(
                    "INSERT INTO accounts ({ACCOUNT_COLUMNS}) \
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"
                );
                execute(tx, &sql, row.params())?;
            }
        }
        let had = old.map(tags_of).unwrap_or_default();
        for tag in new.tags().iter().filter(|t| !had.contains(t.as_str())) {
            execute(
                tx,
                "INSERT INTO account_tags (account, tag, folded) VALUES (?1, ?2, ?3)",
                params![id, tag.as_str(), tag.as_str().to_lowercase()],
            )?;
        }
        for (system, external_id) in new.external_ids().iter() {
            if old.and_then(|o| o.external_ids().get(system)) != Some(external_id) {
                execute(
                    tx,
                    "INSERT INTO external_ids (account, system, external_id) VALUES (?1, ?2, ?3)",
                    params![id, system.name(), external_id.as_str()],
                )?;
            }
        }
    }
    for key in work.dismissed().filter(|k| !original.is_dismissed(k)) {
        execute(
            tx,
            "INSERT OR IGNORE INTO dismissed_keys (key) VALUES (?1)",
            params![key.as_str()],
        )?;
    }
    Ok(())
}

fn execute(tx: &Connection, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
    tx.prepare_cached(sql)
        .and_then(|mut stmt| stmt.execute(params))
        .context("writing accounts")?;
    Ok(())
}

pub(crate) fn next_invoice_number(conn: &Connection) -> Result<u64, StoreError> {
    let next: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'next_invoice_number'",
            [],
            |row| row.get(0),
        )
        .context("reading the next invoice number")?;
    invoice_number(next)
}
