//! A billing run recorded in the batch's transaction: what its usage items billed, every
//! subscription's new watermark, its invoices, and the next invoice number.
//!
//! A run at M writes 90,810 invoices, 437,097 billed usage rows and up to 109,926 watermarks
//! in one transaction, so each row costs one statement: an invoice is inserted and a number
//! already taken is told by the primary key's refusal, not by a read before it; a watermark is
//! moved by one update that matches the watermark the run read (see
//! [`crate::subscription_watermarks::moved`]), and only an update that matches nothing reads the row to say
//! why. (A page cache of 256 MiB for the write,
//! against SQLite's 2 MiB, saved no time at M and cost 160 MB of peak memory.)

use plock_core::Invoice;
use plock_core::billing::Billed;
use plock_core::store::StoreError;
use plock_store_sql::codec::{invoice_number, sql_number};
use plock_store_sql::sql::placeholders;
use plock_store_sql::writer::Run;
use rusqlite::{Connection, Statement};

use crate::codec::{Bind, Context, INVOICE_SCALARS, backend};
use crate::run_encode::InvoiceValues;

/// Records change `index`'s run in `tx`: refused as the store contract says when an invoice
/// number is taken or a subscription was billed by another run since this one read it.
pub(crate) fn record(
    tx: &Connection,
    index: usize,
    run: Run<'_>,
    mut watermarks: impl FnMut(&Billed) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let Run {
        invoices,
        billed,
        billed_usage,
    } = run;
    std::thread::scope(|scope| {
        let encoded = crate::run_encode::encode(scope, billed_usage, invoices);
        crate::billed_usage::write(tx, index, billed_usage, &encoded.usage)?;
        for b in billed {
            if !crate::subscription_watermarks::moved(tx, b)? {
                // Nothing matched: the slow path finds out why, or moves a watermark stored
                // in another spelling of the same dates.
                watermarks(b)?;
            }
        }
        let mut next = next_invoice_number(tx)?;
        let mut many = tx
            .prepare(&invoice_insert(INVOICES_A_STATEMENT))
            .context("writing an invoice")?;
        let mut one = tx
            .prepare(&invoice_insert(1))
            .context("writing an invoice")?;
        // The invoices' values waiting for a statement; their invoices are the next of
        // `invoices` from `written` on, in order.
        let mut pending = Vec::with_capacity(INVOICES_A_STATEMENT);
        let mut written = 0usize;
        crate::run_encode::write_each(invoices, &encoded.invoices, |invoice, values| {
            next = next.max(invoice.number().saturating_add(1));
            pending.push(values);
            if pending.len() == INVOICES_A_STATEMENT {
                let batch = invoices.get(written..).unwrap_or_default();
                insert_many(&mut many, &mut one, index, batch, &pending)?;
                written = written.saturating_add(pending.len());
                pending.clear();
            }
            Ok(())
        })?;
        let rest = invoices.get(written..).unwrap_or_default();
        for (invoice, values) in rest.iter().zip(&pending) {
            insert_one(&mut one, index, invoice, values)?;
        }
        let next = sql_number(next)?;
        tx.prepare_cached("UPDATE meta SET value = ?1 WHERE name = 'next_invoice_number'")
            .and_then(|mut stmt| stmt.execute([next]))
            .context("writing the next invoice number")?;
        Ok(())
    })
}

/// Invoices one insert statement carries, as billed usage rows are written
/// (`crate::billed_usage`): 8 took 0.81x the instructions of one a statement, 16 a little
/// more than 8.
const INVOICES_A_STATEMENT: usize = 8;

/// An insert of `rows` invoices.
fn invoice_insert(rows: usize) -> String {
    let columns = format!("{INVOICE_SCALARS}, json_bytes, invoice");
    let row = format!("({})", placeholders(&columns, |_, _| "?".to_owned()));
    let values = vec![row; rows].join(", ");
    format!("INSERT INTO invoices ({columns}) VALUES {values}")
}

/// Inserts `values` with their invoices, the first of `invoices`, by `many` (made by
/// [`invoice_insert`] for as many rows). A refused statement changes nothing, so its
/// invoices are then inserted one at a time by `one`, which names the one refused.
fn insert_many(
    many: &mut Statement<'_>,
    one: &mut Statement<'_>,
    index: usize,
    invoices: &[Invoice],
    values: &[InvoiceValues],
) -> Result<(), StoreError> {
    let mut at = 0usize;
    for v in values {
        at = bind_invoice(many, at, v).context("writing an invoice")?;
    }
    let Err(e) = many.raw_execute() else {
        return Ok(());
    };
    for (invoice, v) in invoices.iter().zip(values) {
        insert_one(one, index, invoice, v)?;
    }
    Err(backend(format!("writing invoices: {e}")))
}

/// Inserts one invoice by `one`, a number already taken refused as the contract says.
fn insert_one(
    one: &mut Statement<'_>,
    index: usize,
    invoice: &Invoice,
    values: &InvoiceValues,
) -> Result<(), StoreError> {
    bind_invoice(one, 0, values)
        .and_then(|_| one.raw_execute())
        .map(|_| ())
        .map_err(|e| refused(e, index, invoice))
}

/// Binds an invoice's values to the statement inserting it, after its first `at`
/// parameters; the number of parameters bound then.
fn bind_invoice(
    insert: &mut Statement<'_>,
    at: usize,
    values: &InvoiceValues,
) -> rusqlite::Result<usize> {
    let mut at = at;
    for value in &values.scalars {
        at = at.saturating_add(1);
        insert.raw_bind_parameter(at, Bind(value))?;
    }
    at = at.saturating_add(1);
    insert.raw_bind_parameter(at, values.json.json_bytes)?;
    at = at.saturating_add(1);
    insert.raw_bind_parameter(at, &values.json.value)?;
    Ok(at)
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
