//! A batch, written in one transaction.
//!
//! As in the SQLite store, the account rules live in [`AccountBook`]: the batch's
//! neighbourhood (the accounts it names, the owners of the keys and external ids it names,
//! their masters and children) is loaded into a book, every change is applied to it with
//! [`apply_to_book`] exactly as the memory store applies it, and at the end only the rows that
//! differ are written.
//!
//! Several processes write at once, so the neighbourhood is read under row locks: the accounts
//! the batch names, then their masters, `SELECT … FOR UPDATE` (a change to an account's group
//! always names the account, and so locks its master too). Two batches linking children to one
//! master therefore run one after the other, and the second counts the first's children. What
//! locks cannot cover (two new accounts with one key, one external id, one invoice number) the
//! database refuses with a unique constraint. A batch that lost such a race, or a deadlock, is
//! run again from the start in a new transaction: the second time, it sees what the other
//! writer committed and is refused by the same rule, with the same error, as if the two had
//! come one after the other. Nothing accepted is lost, and the invariants are the book's.

use std::collections::{BTreeSet, HashMap, HashSet};

use plock_core::store::{
    Batch, Change, StoreError, apply_to_book, check_currency_change, subscription_to_store,
};
use plock_core::{Account, AccountBook, AccountId, Metric, Subscription};
use postgres::error::SqlState;
use postgres::{Client, Transaction};

use crate::codec::{
    ACCOUNT_COLUMNS, ACCOUNT_JSON, AccountRow, Param, SUBSCRIPTION_COLUMNS, SubscriptionRow,
    account_value, backend, billed_through, book, chain, owner_in, text,
};
use crate::failure::{Db, Failure};
use crate::inserts::Inserts;

/// How many times a batch is run again after losing a race to another writer.
pub const RETRIES: usize = 8;

/// A race another writer won: run the batch again.
fn lost_race(error: &postgres::Error) -> bool {
    [
        SqlState::T_R_SERIALIZATION_FAILURE,
        SqlState::T_R_DEADLOCK_DETECTED,
        SqlState::UNIQUE_VIOLATION,
    ]
    .iter()
    .any(|code| error.code() == Some(code))
}

/// Applies `batch` in one transaction, or returns the first refusal; see the module
/// documentation for races.
pub(crate) fn apply(client: &mut Client, batch: &Batch) -> Result<(), StoreError> {
    let mut attempt = 0;
    loop {
        let mut index = 0;
        let outcome = client
            .transaction()
            .db("starting a batch")
            .and_then(|mut tx| {
                apply_in(&mut tx, batch, &mut index)?;
                tx.commit().db("committing a batch")
            });
        match outcome {
            Ok(()) => return Ok(()),
            Err(Failure::Refused(error)) => return Err(error),
            Err(Failure::Database { error, .. }) if lost_race(&error) && attempt < RETRIES => {
                attempt += 1;
            }
            Err(Failure::Database { what, error }) => {
                return Err(if lost_race(&error) {
                    conflict(index, &error)
                } else {
                    backend(format!("{what}: {}", chain(&error)))
                });
            }
        }
    }
}

/// The conflict a race still lost after [`RETRIES`] becomes.
fn conflict(index: usize, error: &postgres::Error) -> StoreError {
    let db = error.as_db_error();
    let (what, reason) = match db.and_then(|e| e.constraint()) {
        Some("accounts_key_key") => ("account key", "was added by another writer at once"),
        Some("accounts_pkey") => ("account", "was added by another writer at once"),
        Some("external_ids_system_external_id_key") => {
            ("external id", "was given to another account at once")
        }
        Some("invoices_pkey") => ("invoice", "was recorded by another run at once"),
        _ => ("batch", "kept conflicting with other writers; try again"),
    };
    StoreError::Conflict {
        index,
        what,
        id: db.and_then(|e| e.detail()).unwrap_or_default().to_owned(),
        reason,
    }
}

pub(crate) fn apply_in(
    tx: &mut Transaction<'_>,
    batch: &Batch,
    index: &mut usize,
) -> Result<(), Failure> {
    let original = neighbourhood(tx, batch)?;
    let mut work = original.clone();
    let mut written = Written::default();
    let mut dismissed = Vec::new();
    for (i, change) in batch.changes.iter().enumerate() {
        *index = i;
        let dismissed_key = match change {
            Change::Dismiss { id } => work.get(id).map(|a| a.key().clone()),
            _ => None,
        };
        apply_to_book(&mut work, i, change)?;
        match change {
            Change::Dismiss { id } => {
                if exists(tx, "subscriptions WHERE account = $1", id.as_str())? {
                    return Err(Failure::Refused(StoreError::Conflict {
                        index: i,
                        what: "account",
                        id: id.to_string(),
                        reason: "has subscriptions; a dismissed account must have none",
                    }));
                }
                if let Some(key) = dismissed_key {
                    dismissed.push((i, id, key));
                }
            }
            Change::PutSubscription { subscription } => {
                put_subscription(tx, &work, i, subscription)?;
                written.subscriptions.insert(subscription.account().clone());
            }
            Change::EditAccount {
                id,
                currency: Some(currency),
                ..
            } => {
                let theirs = crate::queries::read_subscriptions(
                    tx,
                    "account = $1 ORDER BY id",
                    &[&id.as_str()],
                )?;
                check_currency_change(i, id, *currency, &theirs)?;
            }
            Change::PutMetric { metric } => put_metric(tx, metric)?,
            Change::AddUsage { records } => {
                crate::usage::add_usage(tx, &original, &work, &mut written.usage, i, records)?;
            }
            Change::RecordRun {
                invoices,
                billed,
                billed_usage,
            } => {
                crate::run::record_run(tx, i, invoices, billed)?;
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
    for (i, id, key) in dismissed {
        *index = i;
        if exists(tx, "usage WHERE account_key = $1", key.as_str())? {
            return Err(Failure::Refused(StoreError::Conflict {
                index: i,
                what: "account",
                id: id.to_string(),
                reason: "has usage records",
            }));
        }
    }
    write_accounts(tx, &original, &work)?;
    rehome(tx, &original, &work, &written)
}

/// What the batch wrote under an owner it may have changed afterwards.
#[derive(Default)]
struct Written {
    /// The accounts whose subscriptions the batch put.
    subscriptions: HashSet<AccountId>,
    /// The owner each account key's usage was written under.
    usage: HashMap<String, String>,
}

/// Is there a row in `from_where` (a table and a condition on `$1`)?
fn exists(tx: &mut Transaction<'_>, from_where: &str, value: &str) -> Result<bool, Failure> {
    tx.query_one(
        &format!("SELECT EXISTS (SELECT 1 FROM {from_where})"),
        &[&value],
    )
    .and_then(|row| row.try_get(0))
    .db("reading the database")
}

/// Every value of the first column of `sql`'s rows, `$1` bound to the list `param`.
fn strings(tx: &mut Transaction<'_>, sql: &str, param: &[&str]) -> Result<Vec<String>, Failure> {
    tx.query(sql, &[&param])
        .db("reading accounts")?
        .iter()
        .map(|row| row.try_get::<_, String>(0))
        .collect::<Result<_, _>>()
        .db("reading accounts")
}

/// What a batch names: account ids, account keys and external ids.
#[derive(Default)]
struct Named<'a> {
    ids: BTreeSet<&'a str>,
    keys: BTreeSet<&'a str>,
    external: Vec<(&'a str, &'a str)>,
}

fn named(batch: &Batch) -> Named<'_> {
    let mut named = Named::default();
    for change in &batch.changes {
        match change {
            Change::AddAccount { account } | Change::AddDiscovered { account } => {
                named.ids.insert(account.id().as_str());
                named.ids.extend(account.master().map(AccountId::as_str));
                named.keys.insert(account.key().as_str());
                named.external.extend(
                    account
                        .external_ids()
                        .iter()
                        .map(|(s, id)| (s.name(), id.as_str())),
                );
            }
            Change::EditAccount { id, .. }
            | Change::SetPaymentTerms { id, .. }
            | Change::Approve { id }
            | Change::Dismiss { id }
            | Change::Archive { id }
            | Change::Restore { id }
            | Change::Tag { id, .. }
            | Change::Untag { id, .. }
            | Change::RemoveExternalId { id, .. }
            | Change::Unlink { child: id }
            | Change::SetGroupBilling { master: id, .. } => {
                named.ids.insert(id.as_str());
            }
            Change::SetExternalId {
                id,
                system,
                external_id,
            } => {
                named.ids.insert(id.as_str());
                named.external.push((system.name(), external_id.as_str()));
            }
            Change::Link { child, master } => {
                named.ids.insert(child.as_str());
                named.ids.insert(master.as_str());
            }
            Change::PutSubscription { subscription } => {
                named.ids.insert(subscription.account().as_str());
            }
            Change::PutMetric { .. } | Change::AddUsage { .. } | Change::RecordRun { .. } => {}
        }
    }
    named
}

/// The accounts the batch's rules may look at, as a book, the ones it may change locked. See
/// the module documentation.
fn neighbourhood(tx: &mut Transaction<'_>, batch: &Batch) -> Result<AccountBook, Failure> {
    let named = named(batch);
    if named.ids.is_empty() {
        return Ok(AccountBook::new());
    }
    let mut scope: BTreeSet<String> = named.ids.iter().map(|id| (*id).to_owned()).collect();
    let keys: Vec<&str> = named.keys.iter().copied().collect();
    scope.extend(strings(
        tx,
        "SELECT id FROM accounts WHERE key = ANY($1)",
        &keys,
    )?);
    for (system, id) in &named.external {
        let owner = tx
            .query_opt(
                "SELECT account FROM external_ids WHERE system = $1 AND external_id = $2",
                &[system, id],
            )
            .db("reading external ids")?;
        if let Some(row) = owner {
            scope.insert(row.try_get(0).db("reading external ids")?);
        }
    }
    let list: Vec<&str> = scope.iter().map(String::as_str).collect();
    // Locked in id order, so two batches wait for each other rather than deadlock where
    // they can.
    // The statement that locks must return every row it locks: a condition around it could
    // be pushed into it, and the rows it drops would not be locked.
    let locked = tx
        .query(
            "SELECT master FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&list],
        )
        .db("locking accounts")?;
    let mut masters = BTreeSet::new();
    for row in &locked {
        let master: Option<String> = row.try_get(0).db("locking accounts")?;
        masters.extend(master.filter(|m| !scope.contains(m)));
    }
    let masters: Vec<&str> = masters.iter().map(String::as_str).collect();
    let masters = strings(
        tx,
        "SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
        &masters,
    )?;
    let children = strings(tx, "SELECT id FROM accounts WHERE master = ANY($1)", &list)?;
    scope.extend(masters);
    scope.extend(children);
    let list: Vec<&str> = scope.iter().map(String::as_str).collect();
    let rows = tx
        .query(
            &format!("SELECT {ACCOUNT_JSON} FROM accounts a WHERE a.id = ANY($1)"),
            &[&list],
        )
        .db("reading accounts")?;
    let accounts = rows
        .iter()
        .map(|row| account_value(row, 0))
        .collect::<Result<Vec<_>, _>>()?;
    let dismissed = strings(
        tx,
        "SELECT key FROM dismissed_keys WHERE key = ANY($1)",
        &keys,
    )?;
    Ok(book(accounts, dismissed)?)
}

fn put_subscription(
    tx: &mut Transaction<'_>,
    work: &AccountBook,
    index: usize,
    subscription: &Subscription,
) -> Result<(), Failure> {
    let stored = watermarks(tx, subscription.id().as_str())?;
    let subscription = subscription_to_store(work, index, subscription, stored)?;
    let owner = work
        .get(subscription.account())
        .map(|a| owner_in(work, a))
        .unwrap_or_else(|| subscription.account().clone());
    let row = SubscriptionRow::of(&subscription, &owner)?;
    tx.execute(
        &upsert("subscriptions", SUBSCRIPTION_COLUMNS),
        &row.params(),
    )
    .db("writing a subscription")?;
    Ok(())
}

/// `INSERT` of every column, updating every column but the first (the key) on conflict.
fn upsert(table: &str, columns: &str) -> String {
    let names: Vec<&str> = columns.split(", ").collect();
    let placeholders: Vec<String> = (1..=names.len()).map(|i| format!("${i}")).collect();
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

/// A subscription's stored watermarks, the row locked until the batch ends (a run recording
/// them at once waits, and is not overwritten); `None` when it is not stored.
fn watermarks(
    tx: &mut Transaction<'_>,
    id: &str,
) -> Result<Option<plock_core::subscription::BilledThrough>, Failure> {
    let row = tx
        .query_opt(
            "SELECT billed_through_in_advance, billed_through_in_arrears \
             FROM subscriptions WHERE id = $1 FOR UPDATE",
            &[&id],
        )
        .db("reading a subscription")?;
    let Some(row) = row else {
        return Ok(None);
    };
    let in_advance = row.try_get(0).db("reading a subscription")?;
    let in_arrears = row.try_get(1).db("reading a subscription")?;
    Ok(Some(billed_through(in_advance, in_arrears)?))
}

fn put_metric(tx: &mut Transaction<'_>, metric: &Metric) -> Result<(), Failure> {
    let aggregation = text(&metric.aggregation)?;
    tx.execute(
        &upsert("metrics", "id, aggregation"),
        &[&metric.id.as_str(), &aggregation],
    )
    .db("writing a metric")?;
    Ok(())
}

fn execute(tx: &mut Transaction<'_>, sql: &str, params: &[Param<'_>]) -> Result<(), Failure> {
    tx.execute(sql, params).db("writing accounts")?;
    Ok(())
}

/// Writes the accounts that differ between `original` and `work`: a changed tag is one row
/// of `account_tags`, a changed name one `UPDATE`. Deletions come first, so a key or an
/// external id another account gave up in the batch is free when it is written again.
fn write_accounts(
    tx: &mut Transaction<'_>,
    original: &AccountBook,
    work: &AccountBook,
) -> Result<(), Failure> {
    let same_key = |old: &Account| work.get(old.id()).filter(|new| new.key() == old.key());
    let tags_of = |a: &Account| -> BTreeSet<String> {
        a.tags().iter().map(|t| t.as_str().to_owned()).collect()
    };
    for old in original.iter() {
        let id = old.id().as_str();
        let Some(new) = same_key(old) else {
            // Gone (dismissed), or another account under the same id: its tags and external
            // ids go with it.
            execute(tx, "DELETE FROM accounts WHERE id = $1", &[&id])?;
            continue;
        };
        for (system, external_id) in old.external_ids().iter() {
            if new.external_ids().get(system) != Some(external_id) {
                execute(
                    tx,
                    "DELETE FROM external_ids WHERE account = $1 AND system = $2",
                    &[&id, &system.name()],
                )?;
            }
        }
        let kept = tags_of(new);
        for tag in old.tags().iter().filter(|t| !kept.contains(t.as_str())) {
            execute(
                tx,
                "DELETE FROM account_tags WHERE account = $1 AND folded = $2",
                &[&id, &tag.as_str().to_lowercase()],
            )?;
        }
    }
    let columns: Vec<&str> = ACCOUNT_COLUMNS.split(", ").collect();
    let mut inserts = Inserts::default();
    for new in work.iter() {
        let id = new.id().as_str();
        let owner = owner_in(work, new);
        let row = AccountRow::of(new, &owner)?;
        let old = original.get(new.id()).filter(|old| old.key() == new.key());
        match old {
            Some(old) => {
                if AccountRow::of(old, &owner_in(original, old))? != row {
                    let sets: Vec<String> = columns
                        .iter()
                        .enumerate()
                        .skip(1)
                        .map(|(i, c)| format!("{c} = {}", AccountRow::placeholder(c, i + 1)))
                        .collect();
                    let sql = format!("UPDATE accounts SET {} WHERE id = $1", sets.join(", "));
                    execute(tx, &sql, &row.params())?;
                }
            }
            None => inserts.account(row),
        }
        let had = old.map(tags_of).unwrap_or_default();
        for tag in new.tags().iter().filter(|t| !had.contains(t.as_str())) {
            inserts.tag(owner.as_str(), id, tag.as_str());
        }
        for (system, external_id) in new.external_ids().iter() {
            if old.and_then(|o| o.external_ids().get(system)) != Some(external_id) {
                inserts.external_id(owner.as_str(), id, system.name(), external_id.as_str());
            }
        }
    }
    inserts.write(tx)?;
    for key in work.dismissed().filter(|k| !original.is_dismissed(k)) {
        execute(
            tx,
            "INSERT INTO dismissed_keys (key) VALUES ($1) ON CONFLICT DO NOTHING",
            &[&key.as_str()],
        )?;
    }
    Ok(())
}

/// Moves the rows of every account whose invoice owner the batch changed (a link, an unlink,
/// group billing switched) under its new owner, and the rows the batch wrote under an owner it
/// changed later in the batch.
fn rehome(
    tx: &mut Transaction<'_>,
    original: &AccountBook,
    work: &AccountBook,
    written: &Written,
) -> Result<(), Failure> {
    for account in work.iter() {
        let id = account.id().as_str();
        let key = account.key().as_str();
        let owner = owner_in(work, account);
        let owner = owner.as_str();
        let before = original
            .get(account.id())
            .filter(|old| old.key() == account.key())
            .map(|old| owner_in(original, old));
        let moved = before.as_ref().is_some_and(|b| b.as_str() != owner);
        if moved {
            for table in ["account_tags", "external_ids"] {
                execute(
                    tx,
                    &format!("UPDATE {table} SET owner = $2 WHERE account = $1"),
                    &[&id, &owner],
                )?;
            }
        }
        if moved || written.subscriptions.contains(account.id()) {
            execute(
                tx,
                "UPDATE subscriptions SET owner = $2 WHERE account = $1 AND owner <> $2",
                &[&id, &owner],
            )?;
        }
        let usage_moved = written.usage.get(key).is_some_and(|used| used != owner);
        if moved || usage_moved {
            execute(
                tx,
                "UPDATE usage SET owner = $2 WHERE account_key = $1 AND owner <> $2",
                &[&key, &owner],
            )?;
        }
    }
    Ok(())
}
