//! What billing runs billed of usage, period by period ([`BilledUsage`]): written with a
//! run's invoices, read back for the next run, which bills late usage against it.

use plock_core::billing::BilledUsage;
use plock_core::store::StoreError;
use rusqlite::{Connection, OptionalExtension, params};
use std::sync::mpsc::Receiver;

use plock_store_sql::codec::text;

use crate::codec::Context;
use crate::run_encode::UsageChunk;

/// Records `rows` (of change `index`), each replacing the stored row of its key, once each
/// row's [`BilledUsage::replaces`] is checked against the stored row (the write transaction
/// holds the database, so no other run records in between); each row's JSON comes from
/// `json`, in order ([`crate::run_encode`]).
pub(crate) fn write(
    tx: &Connection,
    index: usize,
    rows: &[BilledUsage],
    json: &Receiver<UsageChunk>,
) -> Result<(), StoreError> {
    for row in rows.iter().filter(|r| r.replaces.is_some()) {
        let stored = stored_row(tx, row)?;
        plock_core::store::check_billed_usage(index, row, stored.as_ref())?;
    }
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO billed_usage (subscription, product, period_start, row) \
             VALUES (?1, ?2, ?3, ?4) \
             ON CONFLICT (subscription, product, period_start) DO UPDATE SET row = excluded.row",
        )
        .context("recording billed usage")?;
    crate::run_encode::write_each(rows, json, |row, json| {
        stmt.execute(params![
            row.subscription.as_str(),
            row.product.as_str(),
            text(&row.period.start())?,
            json
        ])
        .context("recording billed usage")?;
        Ok(())
    })
}

/// The stored row of `row`'s key.
fn stored_row(tx: &Connection, row: &BilledUsage) -> Result<Option<BilledUsage>, StoreError> {
    let start = text(&row.period.start())?;
    let stored: Option<String> = tx
        .prepare_cached(
            "SELECT row FROM billed_usage \
             WHERE subscription = ?1 AND product = ?2 AND period_start = ?3",
        )
        .and_then(|mut stmt| {
            stmt.query_row(
                params![row.subscription.as_str(), row.product.as_str(), start],
                |r| r.get(0),
            )
            .optional()
        })
        .context("reading billed usage")?;
    stored
        .map(|t| serde_json::from_str(&t).context("decoding billed usage"))
        .transpose()
}

/// Every stored row, in key order.
pub(crate) fn read(conn: &Connection) -> Result<Vec<BilledUsage>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT row FROM billed_usage ORDER BY subscription, product, period_start")
        .context("reading billed usage")?;
    let texts = stmt
        .query_map([], |row| row.get::<_, String>(0))
        .context("reading billed usage")?
        .collect::<Result<Vec<String>, _>>()
        .context("reading billed usage")?;
    texts
        .iter()
        .map(|t| serde_json::from_str(t).context("decoding billed usage"))
        .collect()
}
