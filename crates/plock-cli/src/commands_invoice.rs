//! The invoice commands: list, show, credit and export the billed invoices; invoices made by
//! hand, one-off charges and compensations; and the accruals report, the deferred-revenue
//! schedule of lines billed for several months.

use std::path::Path;

use plock_core::invoice::OneOffLine;
use plock_core::store::{Batch, Change, InvoiceQuery};
use plock_core::{Invoice, ProductId};
use serde::Serialize;

use crate::app::{Opened, find_account, invalid};
use crate::cli_invoice::{ErpArg, ExportFormat, InvoiceCommand};
use crate::cli_ops::{ChargeArgs, CompensateArgs};
use crate::exit::{Class, CliError, fail};
use crate::help::{help, nested};
use crate::out::{done_json, json};
use crate::render;
use crate::store_errors::store_error;
use crate::values::{all_pages, decimal};

type Result<T> = std::result::Result<T, CliError>;

/// `plock invoice ...`.
pub fn invoice(s: Opened, cmd: InvoiceCommand, as_json: bool) -> Result<String> {
    match cmd {
        InvoiceCommand::List => {
            if as_json {
                crate::stream::to_stdout(|w| crate::stream::invoices(w, &*s.store))?;
                return Ok(String::new());
            }
            Ok(render::invoice_list(&all(&s)?))
        }
        InvoiceCommand::Show { number } => {
            let inv = stored(&s, number)?;
            if as_json {
                crate::stream::to_stdout(|w| crate::stream::pretty(w, &inv))?;
                Ok(String::new())
            } else {
                Ok(render::invoice(&inv))
            }
        }
        InvoiceCommand::Credit {
            number,
            line,
            amount,
        } => credit(s, number, line.zip(amount), as_json),
        InvoiceCommand::Export {
            out,
            erp: Some(erp),
            ..
        } => export_to_erp(&s, erp, out.as_deref(), as_json),
        InvoiceCommand::Export {
            format,
            out,
            erp: None,
        } => export(&s, format, out.as_deref(), as_json),
        InvoiceCommand::Charge(args) => charge(s, &args, as_json),
        InvoiceCommand::Compensate(args) => compensate(s, &args, as_json),
        InvoiceCommand::Accruals { number } => accruals(&s, number, as_json),
        InvoiceCommand::Help { topic } => help(&nested("invoice", topic)),
    }
}

/// Every stored invoice, by number.
fn all(s: &Opened) -> Result<Vec<Invoice>> {
    all_pages(|after| {
        s.store.list_invoices(&InvoiceQuery {
            after,
            ..InvoiceQuery::default()
        })
    })
}

/// `plock invoice credit N [--line L --amount A]`: the whole invoice, or an amount of a line.
fn credit(
    mut s: Opened,
    number: u64,
    line: Option<(usize, String)>,
    as_json: bool,
) -> Result<String> {
    let invoices = all(&s)?;
    let original = invoices
        .iter()
        .find(|i| i.number() == number)
        .ok_or_else(|| fail(Class::NotFound, format!("no invoice number {number}")))?;
    let earlier: Vec<Invoice> = invoices
        .iter()
        .filter(|i| i.kind() == plock_core::invoice::InvoiceKind::Credit { of: number })
        .cloned()
        .collect();
    let request = match line {
        Some((line, amount)) => plock_core::invoice::CreditRequest::Line {
            line: line
                .checked_sub(1)
                .ok_or_else(|| invalid("lines are numbered from 1"))?,
            amount: decimal(&amount, "--amount")?,
        },
        None => plock_core::invoice::CreditRequest::Full,
    };
    let next = s.store.next_invoice_number().map_err(store_error)?;
    let credit =
        plock_core::invoice::credit(next, original, &earlier, &request).map_err(invalid)?;
    let text = if as_json {
        done_json("credited", "invoice", &credit)?
    } else {
        render::invoice(&credit)
    };
    s.commit(Batch::one(Change::RecordRun {
        invoices: vec![credit],
        billed: vec![],
        billed_usage: vec![],
    }))?;
    Ok(text)
}

/// `plock invoice export --erp E [--out FILE]`: the payloads an ERP takes.
fn export_to_erp(s: &Opened, erp: ErpArg, out: Option<&Path>, as_json: bool) -> Result<String> {
    let erp = erp.system();
    let export = plock_core::erp::export_to_erp(&all(s)?, &erp);
    let text = json(&export)?;
    crate::files::write_out(out, text, as_json, |path| {
        (
            format!(
                "wrote {} invoice(s) for {erp} to {}; {} not exported",
                export.payloads.len(),
                path.display(),
                export.not_exported.len()
            ),
            serde_json::json!({
                "invoices": export.payloads.len(),
                "not_exported": export.not_exported.len(),
                "erp": erp.name(),
            }),
        )
    })
}

/// `plock invoice export [--format json|csv] [--out FILE]`.
fn export(s: &Opened, format: ExportFormat, out: Option<&Path>, as_json: bool) -> Result<String> {
    let invoices = all(s)?;
    let text = match format {
        ExportFormat::Json => json(&invoices)?,
        ExportFormat::Csv => crate::commands_io::invoices_csv(&invoices)?,
    };
    crate::files::write_out(out, text, as_json, |path| {
        (
            format!("wrote {} invoice(s) to {}", invoices.len(), path.display()),
            serde_json::json!({ "invoices": invoices.len() }),
        )
    })
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
fn charge(s: Opened, args: &ChargeArgs, as_json: bool) -> Result<String> {
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
fn compensate(s: Opened, args: &CompensateArgs, as_json: bool) -> Result<String> {
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

/// The accrual rows of the invoice numbered `number`, or of every invoice a page of invoices
/// at a time; `None` after the last.
fn accrual_pages<'a>(
    s: &'a Opened,
    number: Option<u64>,
) -> impl FnMut() -> Result<Option<Vec<AccrualRow>>> + 'a {
    let mut after = None;
    let mut done = false;
    move || {
        if done {
            return Ok(None);
        }
        let invoices = match number {
            Some(number) => {
                done = true;
                vec![stored(s, number)?]
            }
            None => {
                let page = s
                    .store
                    .list_invoices(&InvoiceQuery {
                        after: after.take(),
                        ..InvoiceQuery::default()
                    })
                    .map_err(store_error)?;
                after = page.next;
                done = page.next.is_none();
                page.items
            }
        };
        let mut rows = Vec::new();
        for invoice in &invoices {
            accruals_of(invoice, &mut rows)?;
        }
        Ok(Some(rows))
    }
}

/// `plock invoice accruals [N]`.
fn accruals(s: &Opened, number: Option<u64>, as_json: bool) -> Result<String> {
    if as_json {
        // Written a page of invoices at a time, never gathered whole.
        crate::stream::array_to_stdout(accrual_pages(s, number))?;
        return Ok(String::new());
    }
    let mut rows = Vec::new();
    let mut pages = accrual_pages(s, number);
    while let Some(page) = pages()? {
        rows.extend(page);
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
