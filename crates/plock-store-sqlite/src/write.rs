//! A batch, written in the caller's transaction: `plock-store-sql`'s [`apply`] driving
//! SQLite's statements. The first refusal returns; the caller's transaction is then dropped,
//! which rolls back everything the batch wrote.

use std::collections::HashMap;
use std::sync::LazyLock;

use plock_core::billing::Billed;
use plock_core::store::{Batch, StoreError};
use plock_core::subscription::BilledThrough;
use plock_core::{
    AccountBook, AccountId, AccountKey, Metric, Subscription, SubscriptionId, UsageRecord,
};
use plock_store_sql::batch::apply as apply_batch;
use plock_store_sql::codec::text;
use plock_store_sql::plan::AccountWrites;
use plock_store_sql::rows::{Row, SubscriptionRow};
use plock_store_sql::sql::{names, placeholders, upsert};
use plock_store_sql::watermarks::Watermarks;
use plock_store_sql::writer::{Run, Step, Writer};
use rusqlite::{Connection, OptionalExtension, params};
use serde_json::Value;

use crate::book_text::BookText;
use crate::codec::{
    ACCOUNT_COLUMNS, ACCOUNT_SELECT, Context, SUBSCRIPTION_COLUMNS, USAGE_COLUMNS, account_value,
    json_list, params, question, usage_values,
};

/// Applies `batch` in `tx`, or returns the first refusal (the caller then rolls back).
pub(crate) fn apply(tx: &Connection, batch: &Batch) -> Result<(), StoreError> {
    apply_batch(&mut SqliteWriter::new(tx, batch), batch)
}

/// As [`apply`], on `book`: the stored accounts as `tx` sees them.
pub(crate) fn apply_on(
    tx: &Connection,
    batch: &Batch,
    book: AccountBook,
) -> Result<(), StoreError> {
    plock_store_sql::batch::apply_on(&mut SqliteWriter::new(tx, batch), batch, book)
}

/// The batch's transaction.
struct SqliteWriter<'c> {
    tx: &'c Connection,
    owners: KeyOwners,
    watermarks: Watermarks,
}

impl SqliteWriter<'_> {
    fn new<'c>(tx: &'c Connection, batch: &Batch) -> SqliteWriter<'c> {
        SqliteWriter {
            tx,
            owners: KeyOwners::default(),
            watermarks: Watermarks::of(batch),
        }
    }
}

/// The statements that put a subscription (a new one, a stored one), and the columns their
/// values are in: made once.
///
/// A new subscription is a plain `INSERT`: the upsert's `UPDATE` half sets `account`, a
/// foreign key, which makes SQLite open a statement journal and copy every page the
/// statement touches (64 KiB each) into it, most of an import's writing.
static PUT_SUBSCRIPTION: LazyLock<(String, String, Vec<&str>)> = LazyLock::new(|| {
    (
        format!(
            "INSERT INTO subscriptions ({SUBSCRIPTION_COLUMNS}) VALUES ({})",
            placeholders(SUBSCRIPTION_COLUMNS, question)
        ),
        upsert("subscriptions", SUBSCRIPTION_COLUMNS, question),
        names(SUBSCRIPTION_COLUMNS),
    )
});

impl SqliteWriter<'_> {
    /// Is there a row in `from_where` (a table and a condition on `?1`)?
    fn exists(&self, from_where: &str, value: &str) -> Result<bool, StoreError> {
        self.tx
            .prepare_cached(&format!("SELECT EXISTS (SELECT 1 FROM {from_where})"))
            .and_then(|mut stmt| stmt.query_row([value], |row| row.get(0)))
            .context("reading the database")
    }

    /// Every value of the first column of `sql`'s rows, `?1` bound to the list `param`.
    fn strings(&self, sql: &str, param: &[&str]) -> Result<Vec<String>, StoreError> {
        let list = json_list(param.iter().copied())?;
        let mut stmt = self.tx.prepare_cached(sql).context("reading accounts")?;
        let rows = stmt
            .query_map([list], |row| row.get::<_, String>(0))
            .context("reading accounts")?;
        rows.collect::<Result<_, _>>().context("reading accounts")
    }

    fn execute(&self, sql: &str, params: impl rusqlite::Params) -> Result<(), StoreError> {
        self.tx
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.execute(params))
            .context("writing accounts")?;
        Ok(())
    }
}

impl Writer for SqliteWriter<'_> {
    type Error = StoreError;
    const ACCOUNT_COLUMNS: &'static str = ACCOUNT_COLUMNS;

    fn ids_of_keys(&mut self, keys: &[&str]) -> Result<Vec<String>, StoreError> {
        self.strings(
            "SELECT id FROM accounts WHERE key IN (SELECT value FROM json_each(?1))",
            keys,
        )
    }

    fn external_id_owner(
        &mut self,
        system: &str,
        external_id: &str,
    ) -> Result<Option<String>, StoreError> {
        self.tx
            .prepare_cached(
                "SELECT account FROM external_ids WHERE system = ?1 AND external_id = ?2",
            )
            .and_then(|mut stmt| {
                stmt.query_row([system, external_id], |row| row.get(0))
                    .optional()
            })
            .context("reading external ids")
    }

    fn masters_of(&mut self, ids: &[&str]) -> Result<Vec<String>, StoreError> {
        self.strings(
            "SELECT master FROM accounts \
             WHERE id IN (SELECT value FROM json_each(?1)) AND master IS NOT NULL",
            ids,
        )
    }

    fn children_of(&mut self, ids: &[&str]) -> Result<Vec<String>, StoreError> {
        self.strings(
            "SELECT id FROM accounts WHERE master IN (SELECT value FROM json_each(?1))",
            ids,
        )
    }

    fn accounts(&mut self, ids: &[&str]) -> Result<Vec<Value>, StoreError> {
        let mut accounts = Vec::new();
        each_account(self.tx, ids, |row| {
            accounts.push(account_value(row)?);
            Ok(())
        })?;
        Ok(accounts)
    }

    fn book_of(&mut self, ids: &[&str], keys: &[&str]) -> Result<AccountBook, StoreError> {
        let mut book = BookText::new();
        each_account(self.tx, ids, |row| book.push(row))?;
        let dismissed = self.dismissed(keys)?;
        book.finish(&dismissed)
    }

    fn dismissed(&mut self, keys: &[&str]) -> Result<Vec<String>, StoreError> {
        self.strings(
            "SELECT key FROM dismissed_keys WHERE key IN (SELECT value FROM json_each(?1))",
            keys,
        )
    }

    fn has_subscriptions(&mut self, id: &AccountId) -> Result<bool, StoreError> {
        self.exists("subscriptions WHERE account = ?1", id.as_str())
    }

    fn has_usage(&mut self, key: &AccountKey) -> Result<bool, StoreError> {
        Ok(self.exists("usage WHERE account_key = ?1", key.as_str())?
            || self.exists("usage_key_blocks WHERE account_key = ?1", key.as_str())?)
    }

    fn subscriptions_of(&mut self, id: &AccountId) -> Result<Vec<Subscription>, StoreError> {
        subscriptions_where(self.tx, "account = ?1", &[&id.as_str()])
    }

    fn watermarks(&mut self, id: &SubscriptionId) -> Result<Option<BilledThrough>, StoreError> {
        if let Some(answer) = self.watermarks.answer(id.as_str(), |wanted| {
            crate::watermarks::read_all(self.tx, wanted)
        })? {
            return Ok(answer);
        }
        crate::subscription_watermarks::read(self.tx, id.as_str())
    }

    fn put_subscription(&mut self, row: SubscriptionRow<'_>) -> Result<(), StoreError> {
        let (insert, upsert, columns) = &*PUT_SUBSCRIPTION;
        let values = row.values(columns)?;
        self.tx
            .prepare_cached(if row.stored { upsert } else { insert })
            .and_then(|mut stmt| stmt.execute(params(&values)))
            .context("writing a subscription")?;
        let subscription = row.subscription;
        let id = subscription.id().as_str();
        let billed = subscription.billed_through();
        if row.stored {
            crate::subscription_watermarks::put(self.tx, id, &billed)
        } else {
            crate::subscription_watermarks::insert(self.tx, id, &billed)
        }
    }

    fn put_metric(&mut self, metric: &Metric) -> Result<(), StoreError> {
        let aggregation = text(&metric.aggregation)?;
        self.tx
            .prepare_cached(&upsert("metrics", "id, aggregation", question))
            .and_then(|mut stmt| stmt.execute(params![metric.id.as_str(), aggregation]))
            .context("writing a metric")?;
        Ok(())
    }

    fn add_usage(&mut self, step: Step<'_>, records: &[UsageRecord]) -> Result<(), StoreError> {
        let Step {
            index,
            original,
            work,
        } = step;
        let mut stmt = self
            .tx
            .prepare_cached(&format!(
                "INSERT INTO usage ({USAGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
            ))
            .context("writing usage")?;
        for record in records {
            if !self
                .owners
                .known(self.tx, original, work, record.account())?
            {
                return Err(StoreError::NotFound {
                    index,
                    what: "account key",
                    id: record.account().to_string(),
                });
            }
            stmt.execute(usage_values(record)?)
                .context("writing usage")?;
        }
        Ok(())
    }

    fn record_run(&mut self, index: usize, run: Run<'_>) -> Result<(), StoreError> {
        let tx = self.tx;
        crate::run_record::record(tx, index, run, |b| self.move_watermark(index, b))
    }

    fn write_accounts(&mut self, writes: &AccountWrites) -> Result<(), StoreError> {
        let removals = writes.removals(question);
        let updates = writes.updates(ACCOUNT_COLUMNS, question);
        for statement in removals.into_iter().chain(updates) {
            self.execute(&statement.sql, params(&statement.values))?;
        }
        let insert = format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES ({})",
            placeholders(ACCOUNT_COLUMNS, question)
        );
        for values in &writes.inserted {
            self.execute(&insert, params(values))?;
        }
        for tag in &writes.tags_added {
            self.execute(
                "INSERT INTO account_tags (account, tag, folded) VALUES (?1, ?2, ?3)",
                [&tag.account, &tag.tag, &tag.folded],
            )?;
        }
        for id in &writes.external_ids_added {
            self.execute(
                "INSERT INTO external_ids (account, system, external_id) VALUES (?1, ?2, ?3)",
                [&id.account, &id.system, &id.external_id],
            )?;
        }
        for statement in writes.dismissals(question) {
            self.execute(&statement.sql, params(&statement.values))?;
        }
        Ok(())
    }
}

impl SqliteWriter<'_> {
    /// Records what a run billed subscription `b` through, if no other run moved it since.
    fn move_watermark(&mut self, index: usize, b: &Billed) -> Result<(), StoreError> {
        let id = b.subscription.as_str();
        let Some(stored) = self.watermarks(&b.subscription)? else {
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
        crate::subscription_watermarks::put(self.tx, id, &b.through)
    }
}

/// The subscriptions `filter` (a condition on `?1`, `?2`, …) selects, read in `conn`.
pub(crate) fn subscriptions_where(
    conn: &Connection,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Subscription>, StoreError> {
    let encoded = crate::subscription_rows::encoded_where(conn, filter, params)?;
    crate::subscription_rows::decode_all(encoded)
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

/// Calls `each` with the row of every stored account among `ids`, as [`ACCOUNT_SELECT`]
/// selects it.
fn each_account(
    tx: &Connection,
    ids: &[&str],
    mut each: impl FnMut(&rusqlite::Row<'_>) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let list = json_list(ids.iter().copied())?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {ACCOUNT_SELECT} FROM accounts a WHERE a.id IN (SELECT value FROM json_each(?1))"
        ))
        .context("reading accounts")?;
    let mut rows = stmt.query([&list]).context("reading accounts")?;
    while let Some(row) = rows.next().context("reading accounts")? {
        each(row)?;
    }
    Ok(())
}
