//! The S scale (1,000 accounts, 100,000 usage records) billed by the run on 1 and 2 threads,
//! from a table built three ways, against the tests' oracle: correctness only, no timing.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use plock_benches::company::{RUN_DATE, Scale, generate, generate_csv, generate_table};
use plock_core::billing::oracle::{RecordData, reference_run};
use plock_core::import::ingest_usage;
use plock_core::{BillingRun, RunOptions, UsageTable, run};

/// The run as JSON, but for the work it did (the oracle walks every period from the start).
fn json(run: &BillingRun) -> String {
    let mut run = run.clone();
    run.periods_visited = 0;
    serde_json::to_string(&run).unwrap()
}

#[test]
fn the_run_bills_the_s_scale_exactly_as_the_oracle() {
    let (accounts, records) = Scale::S.size();
    let company = generate(Scale::S, 7);
    let options = RunOptions {
        run_date: RUN_DATE,
        first_invoice_number: 1,
        dispatch_erp: None,
    };
    let record_data = RecordData {
        accounts: &company.accounts,
        subscriptions: &company.subscriptions,
        metrics: &company.metrics,
        usage: &company.usage,
        billed_usage: &[],
    };
    let reference = reference_run(&record_data, &options).unwrap();
    assert!(
        reference.invoices.len() > 800,
        "{}",
        reference.invoices.len()
    );
    assert!(!reference.unmatched.is_empty());
    assert!(!reference.unpriced_usage.is_empty());

    // The table from the records, generated straight into a table, and read from CSV.
    let table = UsageTable::from_records(&company.usage).unwrap();
    let (_, generated) = generate_table(accounts, records, 7);
    assert_eq!(generated, table);
    let (_, csv) = generate_csv(accounts, records, 7);
    assert_eq!(
        ingest_usage(csv.as_bytes(), &company.accounts).unwrap(),
        table
    );

    let data = plock_benches::table_data(&company, &table);
    for threads in [1, 2] {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        let fast = pool.install(|| run(&data, &options)).unwrap();
        assert_eq!(json(&fast), json(&reference), "{threads} thread(s)");
    }
}
