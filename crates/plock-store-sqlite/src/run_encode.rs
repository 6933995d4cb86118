//! A billing run's rows encoded while the batch's transaction writes them: what its usage
//! items billed (each field's text) and its invoices (checked, their JSON compressed,
//! [`crate::invoice_json`]), a chunk of rows at a time, ahead of the writes.
//!
//! At M a run records 90,810 invoices (147 MB of JSON) and 437,097 billed usage rows: the
//! invoices' encoding costs more than all of SQLite's statements, so it starts at once, on a
//! thread of its own that hands each chunk to rayon's pool, while the writing thread records
//! the billed usage (encoded by a second such thread) and moves the watermarks; the invoices
//! are then inserted as their chunks come. Each chunk comes in order; a failure is sent in
//! place of its chunk, and its thread stops there.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::Scope;

use plock_core::Invoice;
use plock_core::billing::BilledUsage;
use plock_core::store::StoreError;
use plock_store_sql::SqlValue;
use plock_store_sql::rows::{InvoiceRow, Row};
use plock_store_sql::sql::names;
use rayon::prelude::*;

use crate::codec::{INVOICE_SCALARS, backend};
use crate::invoice_json::{Compressor, StoredJson};

/// Rows a chunk.
pub(crate) const ROWS_A_CHUNK: usize = 512;

/// Chunks of billed usage encoded ahead of the writes, at most: enough to keep both sides
/// busy, and little memory.
const USAGE_CHUNKS_AHEAD: usize = 8;

/// Chunks of invoices encoded ahead of their inserts, at most. The invoices' encoding starts
/// while the billed usage and the watermarks are written, one thread's work; stopped 64
/// chunks ahead, it left the second core idle for the rest of that time at M (half of M's
/// invoices are encoded in it). 128 chunks (65,536 invoices) cover that time; all of M's
/// invoices encoded ahead (178 chunks) raised the peak by 120 MB.
const INVOICE_CHUNKS_AHEAD: usize = 128;

thread_local! {
    /// Each thread's compressor: its table of 64 KB is made once a thread, not once for each
    /// of the many tasks rayon splits a chunk into.
    static COMPRESSOR: std::cell::RefCell<Compressor> = std::cell::RefCell::new(Compressor::new());
}

/// A billed usage row's columns beside its key's ids: `period_start`, `period_end`,
/// `quantity` and `amount` as text.
pub(crate) struct UsageValues {
    pub(crate) period_start: String,
    pub(crate) period_end: String,
    pub(crate) quantity: String,
    pub(crate) amount: String,
}

/// An invoice's columns: [`INVOICE_SCALARS`], then its JSON as stored.
pub(crate) struct InvoiceValues {
    pub(crate) scalars: Vec<SqlValue>,
    pub(crate) json: StoredJson,
}

/// A chunk of billed usage rows' values.
pub(crate) type UsageChunk = Result<Vec<UsageValues>, StoreError>;

/// A chunk of invoices' values, each invoice checked.
pub(crate) type InvoiceChunk = Result<Vec<InvoiceValues>, StoreError>;

/// The encoded chunks, as the thread makes them.
pub(crate) struct Encoded {
    /// Every billed usage row's, in order.
    pub(crate) usage: Receiver<UsageChunk>,
    /// Then every invoice's, in order.
    pub(crate) invoices: Receiver<InvoiceChunk>,
}

/// Starts encoding `usage` and `invoices`, each on a thread of `scope`. Dropping a receiver
/// stops its thread.
pub(crate) fn encode<'scope, 'env: 'scope>(
    scope: &'scope Scope<'scope, 'env>,
    usage: &'env [BilledUsage],
    invoices: &'env [Invoice],
) -> Encoded {
    let (usage_to, usage_from) = sync_channel(USAGE_CHUNKS_AHEAD);
    let (invoices_to, invoices_from) = sync_channel(INVOICE_CHUNKS_AHEAD);
    scope.spawn(move || send_all(&invoices_to, invoices, encode_invoices));
    scope.spawn(move || send_all(&usage_to, usage, encode_usage));
    Encoded {
        usage: usage_from,
        invoices: invoices_from,
    }
}

/// Encodes `usage` and `invoices` now, on the current thread and its rayon pool: for a run
/// recorded a part at a time ([`crate::run_streamed`]), whose writing runs on a thread of the
/// run's pool. A pool thread blocked on a channel would leave its core idle while the
/// encoding waited in the pool's queue behind the run; encoded here, the pool's other
/// threads take part in it and the part's rows are few.
pub(crate) fn encode_here(usage: &[BilledUsage], invoices: &[Invoice]) -> Encoded {
    let chunks = |rows: usize| rows.div_ceil(ROWS_A_CHUNK).max(1);
    let (usage_to, usage_from) = sync_channel(chunks(usage.len()));
    let (invoices_to, invoices_from) = sync_channel(chunks(invoices.len()));
    send_all(&invoices_to, invoices, encode_invoices);
    send_all(&usage_to, usage, encode_usage);
    Encoded {
        usage: usage_from,
        invoices: invoices_from,
    }
}

/// A chunk of invoices' values, encoded across the pool.
fn encode_invoices(chunk: &[Invoice]) -> InvoiceChunk {
    let columns = names(INVOICE_SCALARS);
    chunk
        .par_iter()
        .map(|invoice| {
            COMPRESSOR.with(|compressor| match compressor.try_borrow_mut() {
                Ok(mut compressor) => invoice_values(&mut compressor, invoice, &columns),
                Err(_) => invoice_values(&mut Compressor::new(), invoice, &columns),
            })
        })
        .collect()
}

/// A chunk of billed usage rows' values, encoded across the pool.
fn encode_usage(chunk: &[BilledUsage]) -> UsageChunk {
    chunk.par_iter().map(usage_values).collect()
}

/// Sends `rows` encoded by `encode`, a chunk at a time, until all are sent, a chunk fails
/// or the receiver is gone.
fn send_all<R, T>(
    to: &SyncSender<Result<Vec<T>, StoreError>>,
    rows: &[R],
    mut encode: impl FnMut(&[R]) -> Result<Vec<T>, StoreError>,
) {
    for chunk in rows.chunks(ROWS_A_CHUNK) {
        let encoded = encode(chunk);
        let failed = encoded.is_err();
        if to.send(encoded).is_err() || failed {
            return;
        }
    }
}

/// A row's values, each date as [`plock_core::period::date_text`] spells it.
fn usage_values(row: &BilledUsage) -> Result<UsageValues, StoreError> {
    Ok(UsageValues {
        period_start: plock_core::period::date_text(row.period.start()),
        period_end: plock_core::period::date_text(row.period.end()),
        quantity: plock_core::money::decimal_text(row.quantity),
        amount: plock_core::money::decimal_text(row.amount),
    })
}

fn invoice_values(
    compressor: &mut Compressor,
    invoice: &Invoice,
    columns: &[&str],
) -> Result<InvoiceValues, StoreError> {
    invoice
        .check_invariants()
        .map_err(|e| backend(format!("invoice {}: {e}", invoice.number())))?;
    Ok(InvoiceValues {
        scalars: InvoiceRow { invoice }.values(columns)?,
        json: compressor.store(&invoice.without_products())?,
    })
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
