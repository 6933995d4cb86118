//! `plock bill`: the one billing run over the store's company, recorded, then reported. A
//! run whose summary alone is printed is recorded (or previewed) as it goes, a part at a
//! time; `--full` and `--json` print every invoice, and take the run whole.

use plock_core::billing::run_streaming;
use plock_core::store::{Batch, Change, CompanySnapshot};
use plock_core::{RunOptions, UsageTable};

use crate::app::{Opened, invalid};
use crate::exit::CliError;
use crate::progress::{self, Progress};
use crate::render;
use crate::render_summary::{self, InvoiceTally};
use crate::store_errors::{refused, store_error};

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
    if !full && !as_json {
        let text = if preview {
            preview_streamed(&company, &usage, &options, &bar)
        } else {
            bill_streamed(&mut s, &company, &usage, &options, &bar)
        };
        drop(bar);
        // As below: the operating system takes the memory back at once.
        std::mem::forget(company);
        std::mem::forget(usage);
        return text;
    }
    let result = plock_core::billing::run_with_progress(&company.data(&usage), &options, &|n| {
        bar.inc(n);
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
        render_summary::run_summary(&result, preview)
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

/// Subscriptions billed between two parts of a run recorded as it goes: a part's invoices
/// are written while the next part is billed, and the run holds a part at a time.
const BATCH: usize = 4096;

/// `plock bill`: the run recorded a part at a time as it bills, in one transaction, then
/// summed up from the counts taken as the parts went by.
fn bill_streamed(
    s: &mut Opened,
    company: &CompanySnapshot,
    usage: &UsageTable,
    options: &RunOptions,
    bar: &Progress,
) -> Result<String> {
    let data = company.data(usage);
    let mut tally = InvoiceTally::default();
    let mut outcome = None;
    let recorded = s.store.record_streamed(&mut |sink| {
        let progress = |n: usize| bar.inc(n);
        let run = run_streaming(&data, options, BATCH, &progress, &mut |part| {
            tally.add(&part.invoices);
            sink(part);
        });
        let billed = run.as_ref().ok().map(|r| r.billed.clone());
        outcome = Some(run);
        billed
    });
    // A run that failed is reported before what the store said of it (nothing recorded).
    let recorded = recorded.map_err(|e| refused(&e, &|_| None));
    let run = match outcome {
        Some(run) => run.map_err(invalid)?,
        // The store refused before the run started.
        None => return recorded.and(Err(invalid("the billing run did not start"))),
    };
    recorded?;
    Ok(render_summary::summary(&run, &tally, false))
}

/// `plock bill --preview`: the run's parts counted as they come and let go, then summed up.
fn preview_streamed(
    company: &CompanySnapshot,
    usage: &UsageTable,
    options: &RunOptions,
    bar: &Progress,
) -> Result<String> {
    let mut tally = InvoiceTally::default();
    let progress = |n: usize| bar.inc(n);
    let run = run_streaming(
        &company.data(usage),
        options,
        BATCH,
        &progress,
        &mut |part| {
            tally.add(&part.invoices);
        },
    )
    .map_err(invalid)?;
    Ok(render_summary::summary(&run, &tally, true))
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
