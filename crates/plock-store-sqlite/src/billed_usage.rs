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
    let mut full = tx
        .prepare(&insert_sql(ROWS_A_STATEMENT))
        .context("recording billed usage")?;
    // The rows' values waiting for a statement; their rows are the next of `rows` from
    // `written` on, in order.
    let mut pending = Vec::with_capacity(ROWS_A_STATEMENT);
    let mut written = 0usize;
    crate::run_encode::write_each(rows, values, |_, v| {
        pending.push(v);
        if pending.len() == ROWS_A_STATEMENT {
            let batch = rows.get(written..).unwrap_or_default();
            insert(&mut full, batch, &pending)?;
            written = written.saturating_add(pending.len());
            pending.clear();
        }
        Ok(())
    })?;
    if pending.is_empty() {
        return Ok(());
    }
    let mut last = tx
        .prepare(&insert_sql(pending.len()))
        .context("recording billed usage")?;
    insert(&mut last, rows.get(written..).unwrap_or_default(), &pending)
}

/// Rows one insert statement carries. A statement's step opens its cursors, runs and resets
/// once, whatever its rows: 16 rows a statement took 0.72x the instructions of one a
/// statement; 32 or 64 took more than 16, their bound texts outgrowing SQLite's lookaside
/// slots (each then a `malloc` behind a mutex).
const ROWS_A_STATEMENT: usize = 16;

/// An insert of `rows` rows, each replacing the stored row of its key.
fn insert_sql(rows: usize) -> String {
    let row = "(?, ?, ?, ?, ?, ?, ?, ?)";
    let values = vec![row; rows].join(", ");
    format!(
        "INSERT INTO billed_usage ({SELECT}) VALUES {values} \
         ON CONFLICT (subscription, product, period_start) DO UPDATE SET \
         period_end = excluded.period_end, records = excluded.records, \
         quantity = excluded.quantity, amount = excluded.amount, skipped = excluded.skipped"
    )
}

/// Binds `values` with their rows, the first of `rows`, to `stmt` (made by [`insert_sql`] for
/// as many rows) and runs it.
fn insert(
    stmt: &mut rusqlite::Statement<'_>,
    rows: &[BilledUsage],
    values: &[UsageValues],
) -> Result<(), StoreError> {
    let mut at = 0usize;
    let mut bind = |value: &dyn rusqlite::ToSql| {
        at = at.saturating_add(1);
        stmt.raw_bind_parameter(at, value)
            .context("recording billed usage")
    };
    for (row, v) in rows.iter().zip(values) {
        let records = i64::try_from(row.records).map_err(|_| {
            backend(format!(
                "billed usage {}: {} records",
                row.key_text(),
                row.records
            ))
        })?;
        bind(&row.subscription.as_str())?;
        bind(&row.product.as_str())?;
        bind(&v.period_start)?;
        bind(&v.period_end)?;
        bind(&records)?;
        bind(&v.quantity)?;
        bind(&v.amount)?;
        bind(&row.skipped)?;
    }
    stmt.raw_execute().context("recording billed usage")?;
    Ok(())
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
