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

use std::collections::{HashMap, HashSet};

use plock_core::store::{Batch, StoreError};
use plock_core::subscription::BilledThrough;
use plock_core::{
    AccountBook, AccountId, AccountKey, Metric, Subscription, SubscriptionId, UsageRecord,
};
use plock_store_sql::batch::apply as apply_batch;
use plock_store_sql::codec::{billed_through, text};
use plock_store_sql::error::chain;
use plock_store_sql::plan::{AccountWrites, Statement};
use plock_store_sql::rows::{Row, SubscriptionRow};
use plock_store_sql::sql::{names, upsert};
use plock_store_sql::watermarks::Watermarks;
use plock_store_sql::writer::{Run, Step, Writer};
use postgres::error::SqlState;
use postgres::{Client, Transaction};
use serde_json::Value;

use crate::bind::binds;
use crate::codec::{
    ACCOUNT_COLUMNS, ACCOUNT_JSON, Param, SUBSCRIPTION_COLUMNS, account_placeholder, account_value,
    backend, dollar, owner_in,
};
use crate::failure::{Db, Failure};
use crate::subscription_writes::PendingSubscriptions;

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

/// Applies `batch` in `tx`, leaving the commit to the caller; `index` is the change being
/// applied when it fails (a lost race names it).
pub(crate) fn apply_in(
    tx: &mut Transaction<'_>,
    batch: &Batch,
    index: &mut usize,
) -> Result<(), Failure> {
    let mut writer = PgWriter {
        tx,
        index: 0,
        written: Written::default(),
        watermarks: Watermarks::of(batch),
        subscriptions: PendingSubscriptions::default(),
    };
    let applied = apply_batch(&mut writer, batch);
    *index = writer.index;
    applied
}

/// What the batch wrote under an owner it may have changed afterwards.
#[derive(Default)]
struct Written {
    /// The accounts whose subscriptions the batch put.
    subscriptions: HashSet<AccountId>,
    /// The owner each account key's usage was written under.
    usage: HashMap<String, String>,
}

/// The batch's transaction, and what [`apply`] needs to know after it.
struct PgWriter<'t, 'c> {
    tx: &'t mut Transaction<'c>,
    /// The change being applied: a race lost after [`RETRIES`] names it.
    index: usize,
    written: Written,
    /// The watermarks of the subscriptions the batch puts, read at once.
    watermarks: Watermarks,
    /// Subscriptions put and not yet written: written at once before the batch next reads
    /// subscriptions, or ends.
    subscriptions: PendingSubscriptions,
}

impl PgWriter<'_, '_> {
    /// Is there a row in `from_where` (a table and a condition on `$1`)?
    fn exists(&mut self, from_where: &str, value: &str) -> Result<bool, Failure> {
        self.tx
            .query_one(
                &format!("SELECT EXISTS (SELECT 1 FROM {from_where})"),
                &[&value],
            )
            .and_then(|row| row.try_get(0))
            .db("reading the database")
    }

    /// Every value of the first column of `sql`'s rows, `$1` bound to the list `param`.
    fn strings(&mut self, sql: &str, param: &[&str]) -> Result<Vec<String>, Failure> {
        self.tx
            .query(sql, &[&param])
            .db("reading accounts")?
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<_, _>>()
            .db("reading accounts")
    }

    /// Runs a statement of the shared layer.
    fn bound(&mut self, statement: &Statement) -> Result<(), Failure> {
        let binds = binds(&statement.values);
        let params: Vec<Param<'_>> = binds.iter().map(|b| b as Param<'_>).collect();
        execute(self.tx, &statement.sql, &params)
    }
}

fn execute(tx: &mut Transaction<'_>, sql: &str, params: &[Param<'_>]) -> Result<(), Failure> {
    tx.execute(sql, params).db("writing accounts")?;
    Ok(())
}

impl Writer for PgWriter<'_, '_> {
    type Error = Failure;
    const ACCOUNT_COLUMNS: &'static str = ACCOUNT_COLUMNS;

    fn at(&mut self, index: usize) {
        self.index = index;
    }

    fn ids_of_keys(&mut self, keys: &[&str]) -> Result<Vec<String>, Failure> {
        self.strings("SELECT id FROM accounts WHERE key = ANY($1)", keys)
    }

    fn external_id_owner(
        &mut self,
        system: &str,
        external_id: &str,
    ) -> Result<Option<String>, Failure> {
        let owner = self
            .tx
            .query_opt(
                "SELECT account FROM external_ids WHERE system = $1 AND external_id = $2",
                &[&system, &external_id],
            )
            .db("reading external ids")?;
        owner
            .map(|row| row.try_get(0))
            .transpose()
            .db("reading external ids")
    }

    /// One statement for the whole list: an account import names an external id a row.
    fn external_id_owners(
        &mut self,
        external_ids: &[(&str, &str)],
    ) -> Result<Vec<String>, Failure> {
        if external_ids.is_empty() {
            return Ok(Vec::new());
        }
        let (systems, ids): (Vec<&str>, Vec<&str>) = external_ids.iter().copied().unzip();
        self.tx
            .query(
                "SELECT e.account FROM unnest($1::text[], $2::text[]) AS n (system, external_id) \
                 JOIN external_ids e USING (system, external_id)",
                &[&systems, &ids],
            )
            .db("reading external ids")?
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<_, _>>()
            .db("reading external ids")
    }

    /// Locks accounts `ids` and their masters, in id order, so two batches wait for each
    /// other rather than deadlock where they can (a change to an account's group always names
    /// the account, and so locks its master too).
    fn masters_of(&mut self, ids: &[&str]) -> Result<Vec<String>, Failure> {
        // The statement that locks must return every row it locks: a condition around it
        // could be pushed into it, and the rows it drops would not be locked.
        let locked = self
            .tx
            .query(
                "SELECT master FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
                &[&ids],
            )
            .db("locking accounts")?;
        let named: HashSet<&str> = ids.iter().copied().collect();
        let mut masters = std::collections::BTreeSet::new();
        for row in &locked {
            let master: Option<String> = row.try_get(0).db("locking accounts")?;
            masters.extend(master.filter(|m| !named.contains(m.as_str())));
        }
        let masters: Vec<&str> = masters.iter().map(String::as_str).collect();
        self.strings(
            "SELECT id FROM accounts WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &masters,
        )
    }

    fn children_of(&mut self, ids: &[&str]) -> Result<Vec<String>, Failure> {
        self.strings("SELECT id FROM accounts WHERE master = ANY($1)", ids)
    }

    fn accounts(&mut self, ids: &[&str]) -> Result<Vec<Value>, Failure> {
        let rows = self
            .tx
            .query(
                &format!("SELECT {ACCOUNT_JSON} FROM accounts a WHERE a.id = ANY($1)"),
                &[&ids],
            )
            .db("reading accounts")?;
        Ok(rows
            .iter()
            .map(|row| account_value(row, 0))
            .collect::<Result<Vec<_>, _>>()?)
    }

    fn dismissed(&mut self, keys: &[&str]) -> Result<Vec<String>, Failure> {
        self.strings("SELECT key FROM dismissed_keys WHERE key = ANY($1)", keys)
    }

    fn has_subscriptions(&mut self, id: &AccountId) -> Result<bool, Failure> {
        self.subscriptions.flush(self.tx)?;
        self.exists("subscriptions WHERE account = $1", id.as_str())
    }

    fn has_usage(&mut self, key: &AccountKey) -> Result<bool, Failure> {
        Ok(self.exists("usage WHERE account_key = $1", key.as_str())?
            || self.exists("usage_blocks WHERE account_key = $1", key.as_str())?)
    }

    fn subscriptions_of(&mut self, id: &AccountId) -> Result<Vec<Subscription>, Failure> {
        self.subscriptions.flush(self.tx)?;
        let filter = "account = $1 ORDER BY id";
        Ok(crate::queries::read_subscriptions(
            self.tx,
            filter,
            &[&id.as_str()],
        )?)
    }

    /// The row is locked until the batch ends: a run recording at once waits, and is not
    /// overwritten.
    fn watermarks(&mut self, id: &SubscriptionId) -> Result<Option<BilledThrough>, Failure> {
        if let Some(answer) = self.watermarks.answer(id.as_str(), |wanted| {
            crate::watermarks::read_all(self.tx, wanted)
        })? {
            return Ok(answer);
        }
        self.subscriptions.flush(self.tx)?;
        let Some((in_advance, in_arrears)) = crate::watermarks::read_one(self.tx, id.as_str())?
        else {
            return Ok(None);
        };
        Ok(Some(billed_through(in_advance, in_arrears)?))
    }

    fn put_subscription(&mut self, row: SubscriptionRow<'_>) -> Result<(), Failure> {
        let values = row.values(&names(SUBSCRIPTION_COLUMNS))?;
        self.subscriptions.push(values)?;
        self.written
            .subscriptions
            .insert(row.subscription.account().clone());
        Ok(())
    }

    fn put_metric(&mut self, metric: &Metric) -> Result<(), Failure> {
        let aggregation = text(&metric.aggregation)?;
        self.tx
            .execute(
                &upsert("metrics", "id, aggregation", dollar),
                &[&metric.id.as_str(), &aggregation],
            )
            .db("writing a metric")?;
        Ok(())
    }

    fn add_usage(&mut self, step: Step<'_>, records: &[UsageRecord]) -> Result<(), Failure> {
        let written = &mut self.written.usage;
        let Step {
            index,
            original,
            work,
        } = step;
        crate::usage::add_usage(self.tx, original, work, written, index, records)
    }

    fn record_run(&mut self, index: usize, run: Run<'_>) -> Result<(), Failure> {
        self.subscriptions.flush(self.tx)?;
        let owners = crate::run::record_run(self.tx, index, run.invoices, run.billed)?;
        crate::billed_usage::write(self.tx, index, run.billed_usage, &owners)?;
        Ok(())
    }

    fn write_accounts(&mut self, writes: &AccountWrites) -> Result<(), Failure> {
        // The batch's last step: what it put is written now.
        self.subscriptions.flush(self.tx)?;
        let removals = writes.removals(dollar);
        let updates = writes.updates(ACCOUNT_COLUMNS, account_placeholder);
        let dismissals = writes.dismissals(dollar);
        for statement in removals.into_iter().chain(updates) {
            self.bound(&statement)?;
        }
        crate::inserts::write(self.tx, writes)?;
        for statement in &dismissals {
            self.bound(statement)?;
        }
        Ok(())
    }

    /// Moves the rows whose invoice owner the batch changed ([`rehome`]).
    fn accounts_written(
        &mut self,
        original: &AccountBook,
        work: &AccountBook,
    ) -> Result<(), Failure> {
        rehome(self.tx, original, work, &self.written)
    }
}

/// Moves the rows of every account whose invoice owner the batch changed (a link, an unlink,
/// group billing switched) under its new owner, and the rows the batch wrote under an owner it
/// changed later in the batch: one statement a table, for every account at once.
fn rehome(
    tx: &mut Transaction<'_>,
    original: &AccountBook,
    work: &AccountBook,
    written: &Written,
) -> Result<(), Failure> {
    let mut moved = Moves::default();
    let mut subscriptions = Moves::default();
    let mut usage = Moves::default();
    for account in work.iter() {
        let id = account.id().as_str();
        let key = account.key().as_str();
        let owner = owner_in(work, account).to_string();
        let before = original
            .get(account.id())
            .filter(|old| old.key() == account.key())
            .map(|old| owner_in(original, old));
        let was_moved = before.as_ref().is_some_and(|b| b.as_str() != owner);
        if was_moved {
            moved.push(id, &owner);
        }
        if was_moved || written.subscriptions.contains(account.id()) {
            subscriptions.push(id, &owner);
        }
        let usage_moved = written.usage.get(key).is_some_and(|used| *used != owner);
        if was_moved || usage_moved {
            usage.push(key, &owner);
        }
    }
    for table in ["account_tags", "external_ids"] {
        moved.apply(tx, table, "account")?;
    }
    subscriptions.apply(tx, "subscriptions", "account")?;
    if !subscriptions.accounts.is_empty() {
        // What they are billed through, and what runs billed of their usage, follow the
        // subscriptions.
        for table in ["subscription_watermarks", "billed_usage"] {
            execute(
                tx,
                &format!(
                    "UPDATE {table} b SET owner = s.owner FROM subscriptions s \
                     WHERE b.subscription = s.id AND s.account = ANY($1) AND b.owner <> s.owner"
                ),
                &[&subscriptions.accounts],
            )?;
        }
    }
    usage.apply(tx, "usage", "account_key")?;
    usage.apply(tx, "usage_blocks", "account_key")
}

/// Rows to move under new owners: each account's id (or key), and its owner.
#[derive(Default)]
struct Moves {
    accounts: Vec<String>,
    owners: Vec<String>,
}

impl Moves {
    fn push(&mut self, account: &str, owner: &str) {
        self.accounts.push(account.to_owned());
        self.owners.push(owner.to_owned());
    }

    /// Sets `owner` in `table`'s rows whose `column` names a listed account.
    fn apply(&self, tx: &mut Transaction<'_>, table: &str, column: &str) -> Result<(), Failure> {
        if self.accounts.is_empty() {
            return Ok(());
        }
        execute(
            tx,
            &format!(
                "UPDATE {table} t SET owner = n.owner \
                 FROM unnest($1::text[], $2::text[]) AS n (account, owner) \
                 WHERE t.{column} = n.account AND t.owner <> n.owner"
            ),
            &[&self.accounts, &self.owners],
        )
    }
}
