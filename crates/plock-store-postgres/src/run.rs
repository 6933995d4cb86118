//! A billing run recorded: what its subscriptions are billed through, and its invoices, in a
//! few statements whatever the run's size.

use std::collections::HashSet;

use plock_core::Invoice;
use plock_core::billing::Billed;
use plock_core::store::StoreError;
use plock_store_sql::SqlValue;
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;
use rayon::prelude::*;

use plock_store_sql::codec::sql_number;
use plock_store_sql::rows::{InvoiceRow, Row};

use crate::bind::binds;
use crate::codec::{INVOICE_COLUMNS, Param, backend, names};
use crate::failure::{Db, Failure};
use crate::queries::next_invoice_number;
use crate::watermarks::Owners;

/// Invoices checked and encoded at once on rayon's pool, then copied, a chunk at a time: the
/// server takes in one chunk while the next is encoded, and the run's JSON is never in memory
/// all at once.
const INVOICES_A_CHUNK: usize = 2048;

/// Records run `index`: every subscription it billed must still be billed through what the
/// run read, and its invoice numbers must be free. The invoice number counter is locked
/// first, so runs recording at once record one after the other. Returns the owners of the
/// subscriptions billed.
pub(crate) fn record_run(
    tx: &mut Transaction<'_>,
    index: usize,
    invoices: &[Invoice],
    billed: &[Billed],
) -> Result<Owners, Failure> {
    let counter = next_invoice_number(tx, true)?;
    let owners = crate::watermarks::move_all(tx, index, billed)?;
    if let Some((position, conflict)) = first_taken(tx, index, invoices, counter)? {
        // A broken invoice listed before the conflict is the refusal, as when checked in order.
        for invoice in invoices.iter().take(position) {
            check(invoice)?;
        }
        return Err(Failure::Refused(conflict));
    }
    write_invoices(tx, invoices)?;
    let next = invoices
        .iter()
        .map(|i| i.number().saturating_add(1))
        .fold(counter, u64::max);
    tx.execute(
        "UPDATE meta SET value = $1 WHERE name = 'next_invoice_number'",
        &[&sql_number(next)?],
    )
    .db("writing the next invoice number")?;
    Ok(owners)
}

/// The first invoice whose number the run lists twice or the store holds, and its refusal.
/// Every stored invoice is numbered below the counter (`counter`), so only numbers below it
/// are looked up.
fn first_taken(
    tx: &mut Transaction<'_>,
    index: usize,
    invoices: &[Invoice],
    counter: u64,
) -> Result<Option<(usize, StoreError)>, Failure> {
    let below = invoices
        .iter()
        .map(Invoice::number)
        .filter(|&n| n < counter)
        .map(sql_number)
        .collect::<Result<Vec<_>, _>>()?;
    let taken: HashSet<i64> = if below.is_empty() {
        HashSet::new()
    } else {
        tx.query(
            "SELECT number FROM invoices WHERE number = ANY($1)",
            &[&below],
        )
        .db("reading invoices")?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .db("reading invoices")?
    };
    let mut seen = HashSet::with_capacity(invoices.len());
    for (position, invoice) in invoices.iter().enumerate() {
        let number = invoice.number();
        if !seen.insert(number) || taken.contains(&sql_number(number)?) {
            let conflict = StoreError::Conflict {
                index,
                what: "invoice",
                id: number.to_string(),
                reason: "already exists",
            };
            return Ok(Some((position, conflict)));
        }
    }
    Ok(None)
}

fn check(invoice: &Invoice) -> Result<(), StoreError> {
    invoice
        .check_invariants()
        .map_err(|e| backend(e.to_string()))
}

/// Writes the invoices with one binary `COPY`, each checked and encoded on rayon's pool
/// ([`INVOICES_A_CHUNK`]); the first broken invoice, in order, is the refusal.
fn write_invoices(tx: &mut Transaction<'_>, invoices: &[Invoice]) -> Result<(), Failure> {
    if invoices.is_empty() {
        return Ok(());
    }
    let sink = tx
        .copy_in(&format!(
            "COPY invoices ({INVOICE_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .db("writing invoices")?;
    let types = [
        Type::TEXT,
        Type::INT8,
        Type::TEXT,
        Type::NUMERIC,
        Type::TEXT,
        Type::TEXT,
        Type::TEXT,
    ];
    let mut writer = BinaryCopyInWriter::new(sink, &types);
    let columns = names(INVOICE_COLUMNS);
    for chunk in invoices.chunks(INVOICES_A_CHUNK) {
        let encoded: Vec<Result<Vec<SqlValue>, StoreError>> = chunk
            .par_iter()
            .map(|invoice| {
                check(invoice)?;
                InvoiceRow { invoice }.values(&columns)
            })
            .collect();
        for values in encoded {
            let values = values?;
            let binds = binds(&values);
            let params: Vec<Param<'_>> = binds.iter().map(|b| b as Param<'_>).collect();
            writer.write(&params).db("writing invoices")?;
        }
    }
    writer.finish().db("writing invoices")?;
    Ok(())
}
