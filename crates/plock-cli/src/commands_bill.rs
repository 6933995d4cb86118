//! `plock bill`: the one billing run over the store's company, recorded, then reported.

use plock_core::RunOptions;
use plock_core::store::{Batch, Change};

use crate::app::{Opened, invalid};
use crate::exit::CliError;
use crate::progress::{self, Progress};
use crate::render;
use crate::store_errors::store_error;

type Result<T> = std::result::Result<T, CliError>;

/// `plock bill --date D [--preview] [--full]`.
pub fn bill(
    mut s: Opened,
    date: chrono::NaiveDate,
    preview: bool,
    full: bool,
    as_json: bool,
) -> Result<String> {
    let (company, usage) =
        progress::step("reading the company", || s.store.run_input()).map_err(store_error)?;
    let options = RunOptions {
        run_date: date,
        first_invoice_number: s.store.next_invoice_number().map_err(store_error)?,
        dispatch_erp: None,
    };
    // The one billing run, over the usage packed in its table.
    let bar = Progress::bar(
        u64::try_from(company.subscriptions.len()).unwrap_or(u64::MAX),
        "billing",
        "subscriptions",
    );
    let result = plock_core::billing::run_with_progress(&company.data(&usage), &options, &|n| {
        bar.inc(u64::try_from(n).unwrap_or(u64::MAX));
    })
    .map_err(invalid);
    drop(bar);
    let result = result?;
    // The company and its usage (at M, hundreds of MB in a million allocations) are not
    // freed piece by piece: the command ends after recording the run, and the operating
    // system takes the memory back at once.
    std::mem::forget(company);
    std::mem::forget(usage);
    // The run is recorded before anything is printed: a reader that closes the pipe early
    // never stops a run half recorded. JSON is then written as it is made, the recorded
    // invoices read back from the store.
    if as_json {
        return bill_json(s, result, preview, options.first_invoice_number);
    }
    let text = if full {
        render::run(&result, preview)
    } else {
        render::run_summary(&result, preview)
    };
    if !preview {
        progress::step("recording the run", || {
            s.commit(Batch::one(Change::RecordRun {
                invoices: result.invoices,
                billed: result.billed,
                billed_usage: result.billed_usage,
            }))
        })?;
    }
    Ok(text)
}

/// `bill --json`: the run recorded (unless a preview), then its report streamed.
fn bill_json(
    mut s: Opened,
    mut result: plock_core::BillingRun,
    preview: bool,
    first: u64,
) -> Result<String> {
    if preview {
        let invoices = std::mem::take(&mut result.invoices);
        crate::stream::to_stdout(|w| {
            crate::stream::run_report(
                w,
                result,
                &*s.store,
                crate::stream::RunInvoices::Preview(invoices),
            )
        })?;
        return Ok(String::new());
    }
    let until = first.saturating_add(u64::try_from(result.invoices.len()).unwrap_or(u64::MAX));
    let invoices = std::mem::take(&mut result.invoices);
    progress::step("recording the run", || {
        s.commit(Batch::one(Change::RecordRun {
            invoices,
            billed: result.billed.clone(),
            billed_usage: std::mem::take(&mut result.billed_usage),
        }))
    })?;
    crate::stream::to_stdout(|w| {
        crate::stream::run_report(
            w,
            result,
            &*s.store,
            crate::stream::RunInvoices::Recorded { from: first, until },
        )
    })?;
    Ok(String::new())
}
