//! A billing run's rows encoded on a thread of their own while the batch's transaction
//! writes them: what its usage items billed, then its invoices, as JSON (compact, as
//! `serde_json` writes it) and column values, a chunk of rows at a time, a few chunks ahead.
//!
//! At M a run records 90,810 invoices (195 MB of JSON) and 437,097 billed usage rows: their
//! encoding is as long as SQLite's inserts, and both go at once on two cores. Each chunk
//! comes in order; a failure is sent in place of its chunk, and the thread stops there.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

use plock_core::Invoice;
use plock_core::billing::BilledUsage;
use plock_core::store::StoreError;
use plock_store_sql::SqlValue;
use plock_store_sql::rows::{InvoiceRow, Row};
use plock_store_sql::sql::names;

use crate::codec::{Context, INVOICE_COLUMNS, backend};

/// Rows a chunk.
pub(crate) const ROWS_A_CHUNK: usize = 512;

/// Chunks encoded ahead of the writes, at most: enough to keep both sides busy, and little
/// memory (a few MB of invoices).
const CHUNKS_AHEAD: usize = 8;

/// The JSON of a chunk of billed usage rows ([`BilledUsage::to_stored`]).
pub(crate) type UsageChunk = Result<Vec<String>, StoreError>;

/// The column values ([`INVOICE_COLUMNS`]) of a chunk of invoices, each checked.
pub(crate) type InvoiceChunk = Result<Vec<Vec<SqlValue>>, StoreError>;

/// The encoded chunks, as the thread makes them.
pub(crate) struct Encoded {
    /// Every billed usage row's, in order.
    pub(crate) usage: Receiver<UsageChunk>,
    /// Then every invoice's, in order.
    pub(crate) invoices: Receiver<InvoiceChunk>,
}

/// Starts encoding `usage` then `invoices` on a thread of `scope`. Dropping the receivers
/// stops it.
pub(crate) fn encode<'scope, 'env: 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    usage: &'env [BilledUsage],
    invoices: &'env [Invoice],
) -> Encoded {
    let (usage_to, usage_from) = sync_channel(CHUNKS_AHEAD);
    let (invoices_to, invoices_from) = sync_channel(CHUNKS_AHEAD);
    scope.spawn(move || {
        if send_all(&usage_to, usage, usage_json) {
            drop(usage_to);
            let columns = names(INVOICE_COLUMNS);
            send_all(&invoices_to, invoices, |invoice| {
                invoice_values(invoice, &columns)
            });
        }
    });
    Encoded {
        usage: usage_from,
        invoices: invoices_from,
    }
}

/// Sends `rows` encoded by `encode`, a chunk at a time: whether all were sent (not when a
/// row failed, or the receiver is gone).
fn send_all<R, T>(
    to: &SyncSender<Result<Vec<T>, StoreError>>,
    rows: &[R],
    mut encode: impl FnMut(&R) -> Result<T, StoreError>,
) -> bool {
    for chunk in rows.chunks(ROWS_A_CHUNK) {
        let encoded: Result<Vec<T>, StoreError> = chunk.iter().map(&mut encode).collect();
        let failed = encoded.is_err();
        if to.send(encoded).is_err() || failed {
            return false;
        }
    }
    true
}

fn usage_json(row: &BilledUsage) -> Result<String, StoreError> {
    serde_json::to_string(&row.to_stored()).context("encoding billed usage")
}

fn invoice_values(invoice: &Invoice, columns: &[&str]) -> Result<Vec<SqlValue>, StoreError> {
    invoice
        .check_invariants()
        .map_err(|e| backend(e.to_string()))?;
    InvoiceRow { invoice }.values(columns)
}

/// Each row of `rows` with its encoding from `chunks`, in order, to `write`; rows without
/// one (the thread stopped) are an error.
///
/// # Errors
/// The encoding's error, `write`'s, or [`StoreError::Backend`] for rows left unencoded.
pub(crate) fn write_each<R, T>(
    rows: &[R],
    chunks: &Receiver<Result<Vec<T>, StoreError>>,
    mut write: impl FnMut(&R, T) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut rows = rows.iter();
    for chunk in chunks {
        for encoded in chunk? {
            let Some(row) = rows.next() else {
                return Err(backend("more rows encoded than a run has"));
            };
            write(row, encoded)?;
        }
    }
    match rows.next() {
        Some(_) => Err(backend("a run's rows were not all encoded")),
        None => Ok(()),
    }
}
