//! A billing run recorded: what its subscriptions are billed through, and its invoices, in a
//! few statements whatever the run's size.

use std::collections::{HashMap, HashSet};

use plock_core::Invoice;
use plock_core::billing::Billed;
use plock_core::store::StoreError;
use plock_core::subscription::BilledThrough;
use postgres::Transaction;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::types::Type;

use plock_store_sql::codec::{billed_through, sql_number, text};
use plock_store_sql::rows::{InvoiceRow, Row};

use crate::bind::binds;
use crate::codec::{INVOICE_COLUMNS, Param, backend, names};
use crate::failure::{Db, Failure};
use crate::queries::next_invoice_number;

/// Records run `index`: every subscription it billed must still be billed through what the
/// run read (its row locked until the batch ends, so two runs recording at once cannot both
/// pass), and its invoice numbers must be free.
pub(crate) fn record_run(
    tx: &mut Transaction<'_>,
    index: usize,
    invoices: &[Invoice],
    billed: &[Billed],
) -> Result<(), Failure> {
    move_watermarks(tx, index, billed)?;
    let mut next = next_invoice_number(tx, true)?;
    let numbers = invoices
        .iter()
        .map(|i| sql_number(i.number()))
        .collect::<Result<Vec<_>, _>>()?;
    let taken: HashSet<i64> = tx
        .query(
            "SELECT number FROM invoices WHERE number = ANY($1)",
            &[&numbers],
        )
        .db("reading invoices")?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .db("reading invoices")?;
    let mut seen = HashSet::with_capacity(invoices.len());
    for invoice in invoices {
        invoice
            .check_invariants()
            .map_err(|e| backend(e.to_string()))?;
        let number = invoice.number();
        if !seen.insert(number) || taken.contains(&sql_number(number)?) {
            return Err(Failure::Refused(StoreError::Conflict {
                index,
                what: "invoice",
                id: number.to_string(),
                reason: "already exists",
            }));
        }
        next = next.max(number.saturating_add(1));
    }
    write_invoices(tx, invoices)?;
    tx.execute(
        "UPDATE meta SET value = $1 WHERE name = 'next_invoice_number'",
        &[&sql_number(next)?],
    )
    .db("writing the next invoice number")?;
    Ok(())
}

/// Checks and moves the billed subscriptions' watermarks, in the order the run lists them.
fn move_watermarks(
    tx: &mut Transaction<'_>,
    index: usize,
    billed: &[Billed],
) -> Result<(), Failure> {
    if billed.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = billed.iter().map(|b| b.subscription.as_str()).collect();
    let rows = tx
        .query(
            "SELECT id, billed_through_in_advance, billed_through_in_arrears \
             FROM subscriptions WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&ids],
        )
        .db("reading subscriptions")?;
    let mut stored: HashMap<String, BilledThrough> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let id: String = row.try_get(0).db("reading subscriptions")?;
        let in_advance = row.try_get(1).db("reading subscriptions")?;
        let in_arrears = row.try_get(2).db("reading subscriptions")?;
        stored.insert(id, billed_through(in_advance, in_arrears)?);
    }
    for b in billed {
        let id = b.subscription.as_str();
        let Some(current) = stored.get_mut(id) else {
            return Err(Failure::Refused(StoreError::NotFound {
                index,
                what: "subscription",
                id: id.to_owned(),
            }));
        };
        if *current != b.from {
            return Err(Failure::Refused(StoreError::Conflict {
                index,
                what: "subscription",
                id: id.to_owned(),
                reason: "was billed by another run since this run read it",
            }));
        }
        // Checked above: `from` still holds, so the run's watermark is recorded as it is
        // (moved back where it credited days past a moved end).
        *current = b.through;
    }
    let mut update_ids = Vec::with_capacity(stored.len());
    let mut in_advance = Vec::with_capacity(stored.len());
    let mut in_arrears = Vec::with_capacity(stored.len());
    for (id, through) in &stored {
        update_ids.push(id.as_str());
        in_advance.push(through.in_advance.as_ref().map(text).transpose()?);
        in_arrears.push(through.in_arrears.as_ref().map(text).transpose()?);
    }
    tx.execute(
        "UPDATE subscriptions s \
         SET billed_through_in_advance = u.in_advance, billed_through_in_arrears = u.in_arrears \
         FROM unnest($1::text[], $2::text[], $3::text[]) AS u (id, in_advance, in_arrears) \
         WHERE s.id = u.id",
        &[&update_ids, &in_advance, &in_arrears],
    )
    .db("recording what subscriptions are billed through")?;
    Ok(())
}

/// Writes the invoices with one binary `COPY`.
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
    for invoice in invoices {
        let values = InvoiceRow { invoice }.values(&columns)?;
        let binds = binds(&values);
        let params: Vec<Param<'_>> = binds.iter().map(|b| b as Param<'_>).collect();
        writer.write(&params).db("writing invoices")?;
    }
    writer.finish().db("writing invoices")?;
    Ok(())
}
