//! Invoices made by hand: one-off charges and compensations; and the accruals report, the
//! deferred-revenue schedule of lines billed for several months.

use plock_core::invoice::OneOffLine;
use plock_core::store::{Batch, Change, InvoiceQuery};
use plock_core::{Invoice, ProductId};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::app::{Opened, find_account, invalid, store_error};
use crate::cli_ops::{ChargeArgs, CompensateArgs};
use crate::exit::{Class, CliError, fail};
use crate::out::{done_json, json};
use crate::render;

type Result<T> = std::result::Result<T, CliError>;

fn decimal(text: &str, field: &str) -> Result<Decimal> {
    Decimal::from_str_exact(text.trim())
        .map_err(|_| invalid(format!("{field}: not a decimal number: {text:?}")))
}

/// `training,3,1200.00` as a one-off line.
fn one_off_line(text: &str) -> Result<OneOffLine> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    let [product, quantity, unit_price] = parts.as_slice() else {
        return Err(fail(
            Class::Usage,
            format!("--line {text:?}: expected PRODUCT,QUANTITY,UNIT_PRICE"),
        ));
    };
    Ok(OneOffLine {
        product: ProductId::new(product).map_err(invalid)?,
        quantity: decimal(quantity, "quantity")?,
        unit_price: decimal(unit_price, "unit price")?,
    })
}

/// Records one invoice made by hand, then reports it.
fn record(mut s: Opened, invoice: Invoice, verb: &str, as_json: bool) -> Result<String> {
    let text = if as_json {
        done_json(verb, "invoice", &invoice)?
    } else {
        render::invoice(&invoice)
    };
    s.commit(Batch::one(Change::RecordRun {
        invoices: vec![invoice],
        billed: vec![],
        billed_usage: vec![],
    }))?;
    Ok(text)
}

fn stored(s: &Opened, number: u64) -> Result<Invoice> {
    s.store
        .invoice(number)
        .map_err(store_error)?
        .ok_or_else(|| fail(Class::NotFound, format!("no invoice number {number}")))
}

/// `plock invoice charge ACCOUNT --date D --line PRODUCT,QUANTITY,UNIT_PRICE ...`.
pub fn charge(s: Opened, args: &ChargeArgs, as_json: bool) -> Result<String> {
    let account = find_account(&*s.store, &args.account)?;
    let lines = args
        .lines
        .iter()
        .map(|l| one_off_line(l))
        .collect::<Result<Vec<_>>>()?;
    let number = s.store.next_invoice_number().map_err(store_error)?;
    let invoice =
        plock_core::invoice::one_off(number, &account, args.date, &lines).map_err(invalid)?;
    record(s, invoice, "charged", as_json)
}

/// `plock invoice compensate N --line L --date D --amount A`.
pub fn compensate(s: Opened, args: &CompensateArgs, as_json: bool) -> Result<String> {
    let original = stored(&s, args.number)?;
    let line = args
        .line
        .checked_sub(1)
        .ok_or_else(|| invalid("lines are numbered from 1"))?;
    let amount = decimal(&args.amount, "amount")?;
    let number = s.store.next_invoice_number().map_err(store_error)?;
    let invoice = plock_core::invoice::compensation(number, &original, line, args.date, amount)
        .map_err(invalid)?;
    record(s, invoice, "compensated", as_json)
}

/// One month of a line's deferred revenue.
#[derive(Debug, Serialize)]
struct AccrualRow {
    invoice: u64,
    line: usize,
    product: String,
    month_start: chrono::NaiveDate,
    month_end: chrono::NaiveDate,
    amount: plock_core::Money,
}

/// The accrual rows of an invoice: each line of more than one month, spread per month.
fn accruals_of(invoice: &Invoice, rows: &mut Vec<AccrualRow>) -> Result<()> {
    for (index, line) in invoice.lines().iter().enumerate() {
        let schedule =
            plock_core::invoice::accrual_schedule(line.amount, line.period).map_err(invalid)?;
        if schedule.len() < 2 {
            continue;
        }
        rows.extend(schedule.into_iter().map(|a| AccrualRow {
            invoice: invoice.number(),
            line: index.saturating_add(1),
            product: line.product.to_string(),
            month_start: a.period.start(),
            month_end: a.period.end(),
            amount: a.amount,
        }));
    }
    Ok(())
}

/// `plock invoice accruals [N]`.
pub fn accruals(s: &Opened, number: Option<u64>, as_json: bool) -> Result<String> {
    let mut rows = Vec::new();
    if let Some(number) = number {
        accruals_of(&stored(s, number)?, &mut rows)?;
    } else {
        let mut after = None;
        loop {
            let page = s
                .store
                .list_invoices(&InvoiceQuery {
                    after: after.take(),
                    ..InvoiceQuery::default()
                })
                .map_err(store_error)?;
            for invoice in &page.items {
                accruals_of(invoice, &mut rows)?;
            }
            match page.next {
                Some(next) => after = Some(next),
                None => break,
            }
        }
    }
    if as_json {
        return json(&rows);
    }
    if rows.is_empty() {
        return Ok("no invoice line spans more than one month".to_owned());
    }
    let mut t = render::table(&["invoice", "line", "product", "month", "to", "amount"]);
    for r in &rows {
        t.add_row(vec![
            r.invoice.to_string(),
            r.line.to_string(),
            r.product.clone(),
            r.month_start.to_string(),
            r.month_end.to_string(),
            r.amount.to_string(),
        ]);
    }
    render::right(&mut t, &[0, 1, 5]);
    Ok(render::trimmed(&t))
}
