//! A billing run recorded in the batch's transaction: what its usage items billed, every
//! subscription's new watermark, its invoices, and the next invoice number.
//!
//! A run at M writes 90,810 invoices, 437,097 billed usage rows and up to 109,926 watermarks
//! in one transaction, so each row costs one statement: an invoice is inserted and a number
//! already taken is told by the primary key's refusal, not by a read before it; a watermark is
//! moved by one update that matches the watermark the run read (see
//! [`crate::subscription_watermarks::Mover::moved`]), and only an update that matches nothing reads the row to say
//! why. (A page cache of 256 MiB for the write,
//! against SQLite's 2 MiB, saved no time at M and cost 160 MB of peak memory.)

use plock_core::Invoice;
use plock_core::billing::Billed;
use plock_core::store::StoreError;
use plock_store_sql::codec::{invoice_number, sql_number};
use plock_store_sql::sql::placeholders;
use plock_store_sql::writer::Run;
use rusqlite::{Connection, Statement};

use crate::codec::{Bind, Context, INVOICE_SCALARS, backend, question};
use crate::run_encode::InvoiceValues;

/// Records change `index`'s run in `tx`: refused as the store contract says when an invoice
/// number is taken or a subscription was billed by another run since this one read it.
pub(crate) fn record(
    tx: &Connection,
    index: usize,
    run: Run<'_>,
    watermarks: impl FnMut(&Billed) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    std::thread::scope(|scope| {
        let encoded = crate::run_encode::encode(scope, run.billed_usage, run.invoices);
        write_encoded(tx, index, run, &encoded, watermarks)
    })
}

/// A part of a run recorded as it goes ([`crate::run_streamed`]): its invoices and billed
/// usage written in `tx`, their values as `encoded` ([`crate::run_encode::encode_here`])
/// holds them.
pub(crate) fn record_part(
    tx: &Connection,
    index: usize,
    run: Run<'_>,
    encoded: &crate::run_encode::Encoded,
) -> Result<(), StoreError> {
    write_encoded(tx, index, run, encoded, |b| {
        Err(backend(format!(
            "a part of a run moves no watermark ({})",
            b.subscription
        )))
    })
}

/// Writes `run` in `tx`, its rows' values as `encoded` hands them over.
fn write_encoded(
    tx: &Connection,
    index: usize,
    run: Run<'_>,
    encoded: &crate::run_encode::Encoded,
    mut watermarks: impl FnMut(&Billed) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let Run {
        invoices,
        billed,
        billed_usage,
    } = run;
    crate::billed_usage::write(tx, index, billed_usage, &encoded.usage)?;
    let mut mover = crate::subscription_watermarks::Mover::new(tx)?;
    for b in billed {
        if !mover.moved(b)? {
            // Nothing matched: the slow path finds out why, or moves a watermark stored
            // in another spelling of the same dates.
            watermarks(b)?;
        }
    }
    let mut next = next_invoice_number(tx)?;
    let mut insert = tx
        .prepare(&format!(
            "INSERT INTO invoices ({INVOICE_SCALARS}, json_bytes, invoice) VALUES ({})",
            placeholders(&format!("{INVOICE_SCALARS}, json_bytes, invoice"), question)
        ))
        .context("writing an invoice")?;
    crate::run_encode::write_each(invoices, &encoded.invoices, |invoice, values| {
        insert_invoice(&mut insert, &values)
            .and_then(|()| insert.raw_execute())
            .map_err(|e| refused(e, index, invoice))?;
        next = next.max(invoice.number().saturating_add(1));
        Ok(())
    })?;
    let next = sql_number(next)?;
    tx.prepare_cached("UPDATE meta SET value = ?1 WHERE name = 'next_invoice_number'")
        .and_then(|mut stmt| stmt.execute([next]))
        .context("writing the next invoice number")?;
    Ok(())
}

/// Binds an invoice's values to the statement inserting it.
fn insert_invoice(insert: &mut Statement<'_>, values: &InvoiceValues) -> rusqlite::Result<()> {
    for (i, value) in values.scalars.iter().enumerate() {
        insert.raw_bind_parameter(i.saturating_add(1), Bind(value))?;
    }
    let n = values.scalars.len();
    insert.raw_bind_parameter(n.saturating_add(1), values.json.json_bytes)?;
    insert.raw_bind_parameter(n.saturating_add(2), &values.json.value)
}

/// An invoice insert's failure: a number already taken is the contract's conflict.
fn refused(e: rusqlite::Error, index: usize, invoice: &Invoice) -> StoreError {
    match &e {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
        {
            StoreError::Conflict {
                index,
                what: "invoice",
                id: invoice.number().to_string(),
                reason: "already exists",
            }
        }
        _ => backend(format!("writing invoice {}: {e}", invoice.number())),
    }
}

/// The number the next invoice recorded takes.
pub(crate) fn next_invoice_number(conn: &Connection) -> Result<u64, StoreError> {
    let next: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'next_invoice_number'",
            [],
            |row| row.get(0),
        )
        .context("reading the next invoice number")?;
    invoice_number(next)
}
