//! What billing runs billed of usage, period by period ([`BilledUsage`]): written with a
//! run's invoices, read back for the next run, which bills late usage against it.
//!
//! A row is a column per field (migration 7): a run at M writes 437,097 of them, and the
//! row's JSON repeated its key and every field's name, twice the bytes to write twice (the
//! write-ahead log, then the database).

use plock_core::billing::BilledUsage;
use plock_core::store::StoreError;
use rusqlite::{Connection, params};
use std::sync::mpsc::Receiver;

use plock_store_sql::billed_usage::BilledUsageColumns;
use plock_store_sql::codec::text;

use crate::codec::{Context, backend, decimal};
use crate::run_encode::{UsageChunk, UsageValues};

/// The columns a row is read from, in [`from_row`]'s order.
const SELECT: &str =
    "subscription, product, period_start, period_end, records, quantity, amount, skipped";

/// Records `rows` (of change `index`), each replacing the stored row of its key, once each
/// row's [`BilledUsage::replaces`] is checked against the stored row (the write transaction
/// holds the database, so no other run records in between); each row's values come from
/// `values`, in order ([`crate::run_encode`]).
pub(crate) fn write(
    tx: &Connection,
    index: usize,
    rows: &[BilledUsage],
    values: &Receiver<UsageChunk>,
) -> Result<(), StoreError> {
    for row in rows.iter().filter(|r| r.replaces.is_some()) {
        let stored = stored_row(tx, row)?;
        plock_core::store::check_billed_usage(index, row, stored.as_ref())?;
    }
    let mut many = tx
        .prepare(&insert_many_sql(ROWS_A_STATEMENT))
        .context("recording billed usage")?;
    let mut one = tx
        .prepare(&format!(
            "INSERT INTO billed_usage ({SELECT}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) {ON_CONFLICT}"
        ))
        .context("recording billed usage")?;
    // The rows' values waiting for a statement; their rows are the next of `rows` from
    // `written` on, in order.
    let mut pending = Vec::with_capacity(ROWS_A_STATEMENT);
    let mut written = 0usize;
    crate::run_encode::write_each(rows, values, |_, v| {
        pending.push(v);
        if pending.len() == ROWS_A_STATEMENT {
            let batch = rows.get(written..).unwrap_or_default();
            insert_many(&mut many, &mut one, batch, &pending)?;
            written = written.saturating_add(pending.len());
            pending.clear();
        }
        Ok(())
    })?;
    let rest = rows.get(written..).unwrap_or_default();
    for (row, v) in rest.iter().zip(&pending) {
        bind_row(&mut one, 0, row, v)?;
        one.raw_execute().context("recording billed usage")?;
    }
    Ok(())
}

/// Rows one insert statement carries. A statement's step opens its cursors, runs and resets
/// once, whatever its rows: 16 rows a statement took 0.72x the instructions of one a
/// statement; 32 or 64 took more than 16, their bound texts outgrowing SQLite's lookaside
/// slots (each then a `malloc` behind a mutex).
const ROWS_A_STATEMENT: usize = 16;

/// What makes an insert replace the stored row of its key.
const ON_CONFLICT: &str = "ON CONFLICT (subscription, product, period_start) DO UPDATE SET \
     period_end = excluded.period_end, records = excluded.records, \
     quantity = excluded.quantity, amount = excluded.amount, skipped = excluded.skipped";

/// An insert of `rows` new rows, `OR FAIL`. Neither it nor an insert replacing rows
/// (`ON CONFLICT`, whose update may abort) is made of several rows that may abort
/// halfway: for such a statement SQLite first copies every page it touches to a
/// statement journal, 4 GB at M.
fn insert_many_sql(rows: usize) -> String {
    let row = "(?, ?, ?, ?, ?, ?, ?, ?)";
    let values = vec![row; rows].join(", ");
    format!("INSERT OR FAIL INTO billed_usage ({SELECT}) VALUES {values}")
}

/// Inserts `values` with their rows, the first of `rows`, by `many` (made by
/// [`insert_many_sql`] for as many rows). When a key is stored already (a late usage
/// charge's row, or a key twice among them), the rows are written again one at a time by
/// `one`, each replacing the stored row of its key: rows the failed statement inserted
/// before the key are written again as they are, so the table ends as if each row had been
/// written in turn.
fn insert_many(
    many: &mut rusqlite::Statement<'_>,
    one: &mut rusqlite::Statement<'_>,
    rows: &[BilledUsage],
    values: &[UsageValues],
) -> Result<(), StoreError> {
    let mut at = 0usize;
    for (row, v) in rows.iter().zip(values) {
        at = bind_row(many, at, row, v)?;
    }
    match many.raw_execute() {
        Ok(_) => Ok(()),
        Err(rusqlite::Error::SqliteFailure(failure, _))
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            for (row, v) in rows.iter().zip(values) {
                bind_row(one, 0, row, v)?;
                one.raw_execute().context("recording billed usage")?;
            }
            Ok(())
        }
        Err(e) => Err(backend(format!("recording billed usage: {e}"))),
    }
}

/// Binds `row` with its values `v` to `stmt`, after its first `at` parameters; the number
/// of parameters bound then.
fn bind_row(
    stmt: &mut rusqlite::Statement<'_>,
    at: usize,
    row: &BilledUsage,
    v: &UsageValues,
) -> Result<usize, StoreError> {
    let records = i64::try_from(row.records).map_err(|_| {
        backend(format!(
            "billed usage {}: {} records",
            row.key_text(),
            row.records
        ))
    })?;
    let values: [&dyn rusqlite::ToSql; 8] = [
        &row.subscription.as_str(),
        &row.product.as_str(),
        &v.period_start,
        &v.period_end,
        &records,
        &v.quantity,
        &v.amount,
        &row.skipped,
    ];
    let mut at = at;
    for value in values {
        at = at.saturating_add(1);
        stmt.raw_bind_parameter(at, value)
            .context("recording billed usage")?;
    }
    Ok(at)
}

/// The stored row of `row`'s key.
fn stored_row(tx: &Connection, row: &BilledUsage) -> Result<Option<BilledUsage>, StoreError> {
    let start = text(&row.period.start())?;
    let mut stmt = tx
        .prepare_cached(&format!(
            "SELECT {SELECT} FROM billed_usage \
             WHERE subscription = ?1 AND product = ?2 AND period_start = ?3"
        ))
        .context("reading billed usage")?;
    let mut rows = stmt
        .query(params![
            row.subscription.as_str(),
            row.product.as_str(),
            start
        ])
        .context("reading billed usage")?;
    rows.next()
        .context("reading billed usage")?
        .map(from_row)
        .transpose()
}

/// Every stored row, in key order.
pub(crate) fn read(conn: &Connection) -> Result<Vec<BilledUsage>, StoreError> {
    let mut stmt = conn
        .prepare_cached(&format!(
            "SELECT {SELECT} FROM billed_usage ORDER BY subscription, product, period_start"
        ))
        .context("reading billed usage")?;
    let mut rows = stmt.query([]).context("reading billed usage")?;
    let mut read = Vec::new();
    while let Some(row) = rows.next().context("reading billed usage")? {
        read.push(from_row(row)?);
    }
    Ok(read)
}

/// A row selected by [`SELECT`], each value validated.
fn from_row(row: &rusqlite::Row<'_>) -> Result<BilledUsage, StoreError> {
    let get = |i: usize| row.get::<_, String>(i).context("reading billed usage");
    BilledUsageColumns {
        subscription: get(0)?,
        product: get(1)?,
        start: get(2)?,
        end: get(3)?,
        records: row.get(4).context("reading billed usage")?,
        quantity: decimal("billed usage quantity", &get(5)?)?,
        amount: decimal("billed usage amount", &get(6)?)?,
        skipped: row.get(7).context("reading billed usage")?,
    }
    .into_billed()
}
