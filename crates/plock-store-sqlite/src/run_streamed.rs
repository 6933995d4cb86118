//! A billing run recorded as it goes ([`Store::record_streamed`]): each part the run hands on
//! is written as a run of its invoices and billed usage (encoded on the run's pool, written on
//! the thread that hands it on, while the pool's other threads bill the next part), then the
//! watermarks, all in one transaction. Neither the run nor the store ever holds every
//! invoice: each part is encoded, written and freed while the run bills the next.
//!
//! [`Store::record_streamed`]: plock_core::Store::record_streamed

use plock_core::billing::RunPart;
use plock_core::store::{Batch, Change, RunBill, StoreError};
use plock_store_sql::writer::Run;
use rusqlite::Connection;

use crate::codec::Context;
use crate::run_encode::{Encoded, encode_here};

/// Records the run `bill` makes in one transaction on `conn`; whether it was recorded.
pub(crate) fn record(conn: &mut Connection, bill: &mut RunBill<'_>) -> Result<bool, StoreError> {
    conn.execute_batch("BEGIN IMMEDIATE")
        .context("locking the database for a run")?;
    let written = write(conn, bill);
    if let Ok(true) = written {
        if let Err(e) = conn.execute_batch("COMMIT") {
            // A failed commit leaves the transaction open: nothing of it is kept.
            let _ = conn.execute_batch("ROLLBACK");
            return Err(e).context("committing a run");
        }
        return Ok(true);
    }
    // A failed run or a refusal: nothing of it is kept.
    let _ = conn.execute_batch("ROLLBACK");
    written
}

/// Writes each part as `bill` hands it on, then the watermarks; whether the run succeeded.
/// A part is encoded while the part before it is written (`rayon::join`): the writes are one
/// thread's, and the encoding, across the pool, would otherwise wait for them.
fn write(conn: &mut Connection, bill: &mut RunBill<'_>) -> Result<bool, StoreError> {
    let mut refused: Option<StoreError> = None;
    let mut pending: Option<(RunPart, Encoded)> = None;
    let billed = {
        // The sink runs on the run's threads: it takes the connection itself (which may move
        // between threads), not a shared reference to it.
        let (conn, refused, pending) = (&mut *conn, &mut refused, &mut pending);
        bill(&mut move |part: RunPart| {
            if refused.is_some() {
                return;
            }
            let before = pending.take();
            let conn = &mut *conn;
            let (encoded, written) = rayon::join(
                || encode_here(&part.billed_usage, &part.invoices),
                move || before.map_or(Ok(()), |(p, e)| write_part(conn, &p, &e)),
            );
            match written {
                Ok(()) => *pending = Some((part, encoded)),
                Err(e) => *refused = Some(e),
            }
        })
    };
    if let Some(e) = refused {
        return Err(e);
    }
    let Some(billed) = billed else {
        return Ok(false);
    };
    if let Some((part, encoded)) = pending {
        write_part(conn, &part, &encoded)?;
    }
    let watermarks = Batch::one(Change::RecordRun {
        invoices: Vec::new(),
        billed,
        billed_usage: Vec::new(),
    });
    crate::write::apply(conn, &watermarks)?;
    Ok(true)
}

/// Writes `part`, its values encoded in `encoded`.
fn write_part(conn: &Connection, part: &RunPart, encoded: &Encoded) -> Result<(), StoreError> {
    let run = Run {
        invoices: &part.invoices,
        billed: &[],
        billed_usage: &part.billed_usage,
    };
    crate::run_record::record_part(conn, 0, run, encoded)
}
