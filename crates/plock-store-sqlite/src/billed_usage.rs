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
use crate::run_encode::UsageChunk;

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
    let mut stmt = tx
        .prepare_cached(&format!(
            "INSERT INTO billed_usage ({SELECT}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8) \
             ON CONFLICT (subscription, product, period_start) DO UPDATE SET \
             period_end = excluded.period_end, records = excluded.records, \
             quantity = excluded.quantity, amount = excluded.amount, skipped = excluded.skipped"
        ))
        .context("recording billed usage")?;
    crate::run_encode::write_each(rows, values, |row, v| {
        let records = i64::try_from(row.records).map_err(|_| {
            backend(format!(
                "billed usage {}: {} records",
                row.key_text(),
                row.records
            ))
        })?;
        stmt.execute(params![
            row.subscription.as_str(),
            row.product.as_str(),
            v.period_start,
            v.period_end,
            records,
            v.quantity,
            v.amount,
            row.skipped,
        ])
        .context("recording billed usage")?;
        Ok(())
    })
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
