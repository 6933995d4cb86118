//! A run recorded as it goes ([`Store::record_streamed`]): what a store keeps is what one
//! [`Change::RecordRun`](crate::store::Change::RecordRun) of the whole run keeps, and a failed or refused run keeps nothing.

use crate::billing::{BillingRun, RunOptions, run, run_streaming};
use crate::store::{InvoiceQuery, Store};

use super::fixtures::date;

/// The run of 1 February over what `store` holds, its invoices numbered from the store's next.
fn february<S: Store>(store: &S) -> (crate::store::CompanySnapshot, RunOptions) {
    let company = store.company().unwrap();
    let options = RunOptions {
        run_date: date(2025, 2, 1),
        first_invoice_number: store.next_invoice_number().unwrap(),
        dispatch_erp: None,
    };
    (company, options)
}

/// Records the run of `company` as it goes, a part every subscription; its result.
fn record<S: Store>(
    store: &mut S,
    company: &crate::store::CompanySnapshot,
    options: &RunOptions,
) -> Result<bool, crate::store::StoreError> {
    let usage = company.usage_table().unwrap();
    let data = company.data(&usage);
    store.record_streamed(&mut |sink| {
        run_streaming(&data, options, 1, &|_| (), sink)
            .ok()
            .map(|run| run.billed)
    })
}

/// Recorded a part at a time, a run keeps what the whole run keeps; recording it again is
/// refused and keeps nothing more; a run that fails after handing parts on keeps nothing.
pub fn streamed_runs<S: Store>(store: &mut S) {
    super::seed(store);
    let (company, options) = february(store);
    let usage = company.usage_table().unwrap();
    let whole: BillingRun = run(&company.data(&usage), &options).unwrap();
    assert!(whole.invoices.len() > 1, "the seed bills several invoices");

    assert!(record(store, &company, &options).unwrap());
    let listed = store.list_invoices(&InvoiceQuery::default()).unwrap();
    assert_eq!(listed.items, whole.invoices);
    let next = store.next_invoice_number().unwrap();
    assert_eq!(
        next,
        options.first_invoice_number + whole.invoices.len() as u64
    );
    for billed in &whole.billed {
        let stored = store.subscription(&billed.subscription).unwrap().unwrap();
        assert_eq!(stored.billed_through(), billed.through);
    }
    let mut stored = store.company().unwrap().billed_usage;
    stored.sort();
    let mut expected = whole.billed_usage.clone();
    expected.sort();
    assert_eq!(stored, expected, "billed usage as recorded");

    // The same run again, from what was read before: refused, nothing more kept.
    let again = record(store, &company, &options);
    assert!(again.is_err(), "{again:?}");
    let listed = store.list_invoices(&InvoiceQuery::default()).unwrap();
    assert_eq!(listed.items, whole.invoices);
    assert_eq!(store.next_invoice_number().unwrap(), next);

    // A run that hands a part on, then fails: nothing kept.
    let later = RunOptions {
        run_date: date(2025, 3, 1),
        first_invoice_number: next,
        ..options
    };
    let (company, _) = february(store);
    let usage = company.usage_table().unwrap();
    let data = company.data(&usage);
    let mut handed = 0usize;
    let recorded = store
        .record_streamed(&mut |sink| {
            let _ = run_streaming(&data, &later, 1, &|_| (), &mut |part| {
                handed += part.invoices.len();
                sink(part);
            });
            None
        })
        .unwrap();
    assert!(!recorded);
    assert!(handed > 0, "the failing run handed invoices on");
    let listed = store.list_invoices(&InvoiceQuery::default()).unwrap();
    assert_eq!(listed.items, whole.invoices);
    assert_eq!(store.next_invoice_number().unwrap(), next);
}
