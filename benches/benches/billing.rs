//! Billing benchmarks at several scales: `cargo bench -p plock-benches`.
//!
//! The billing run on data in memory, the aggregation alone, usage CSV
//! ingestion (the import path and the bulk path), and CSV to invoices end to end.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plock_benches::company::{RUN_DATE, generate_csv, generate_table};
use plock_core::import::ingest_usage;
use plock_core::period::Period;
use plock_core::{RunOptions, run};

// As in plock-bench: a run allocates many small strings; the binary picks the allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const OPTIONS: RunOptions = RunOptions {
    run_date: RUN_DATE,
    first_invoice_number: 1,
    dispatch_erp: None,
};

const SIZES: [(usize, usize); 2] = [(1_000, 100_000), (10_000, 1_000_000)];

fn billing(c: &mut Criterion) {
    let mut group = c.benchmark_group("billing_run");
    group.sample_size(10);
    for (accounts, records) in SIZES {
        let (company, table) = generate_table(accounts, records, 7);
        let data = plock_benches::table_data(&company, &table);
        group.throughput(Throughput::Elements(records as u64));
        group.bench_function(format!("run_{accounts}_accounts_{records}_records"), |b| {
            b.iter(|| run(black_box(&data), &OPTIONS))
        });
    }
    group.finish();
}

fn aggregation(c: &mut Criterion) {
    let mut group = c.benchmark_group("aggregation");
    group.sample_size(10);
    let (accounts, records) = SIZES[1];
    let (company, table) = generate_table(accounts, records, 7);
    let january = match (
        NaiveDate::from_ymd_opt(2025, 1, 1),
        NaiveDate::from_ymd_opt(2025, 2, 1),
    ) {
        (Some(from), Some(to)) => Period::new(from, to).ok(),
        _ => None,
    };
    if let Some(january) = january {
        group.throughput(Throughput::Elements(records as u64));
        group.bench_function(format!("{records}_records"), |b| {
            b.iter(|| table.aggregate_all(black_box(&company.metrics), &january))
        });
    }
    group.finish();
}

fn ingestion(c: &mut Criterion) {
    let mut group = c.benchmark_group("usage_csv");
    group.sample_size(10);
    for (accounts, records) in SIZES {
        let (company, csv) = generate_csv(accounts, records, 7);
        group.throughput(Throughput::Elements(records as u64));
        if records <= 100_000 {
            group.bench_function(format!("import_parse_{records}_rows"), |b| {
                b.iter(|| {
                    plock_core::import::parse_usage(black_box(csv.as_bytes()), &company.accounts)
                })
            });
        }
        group.bench_function(format!("ingest_{records}_rows"), |b| {
            b.iter(|| ingest_usage(black_box(csv.as_bytes()), &company.accounts))
        });
    }
    group.finish();
}

fn end_to_end(c: &mut Criterion) {
    let mut group = c.benchmark_group("end_to_end");
    group.sample_size(10);
    let (accounts, records) = SIZES[1];
    let (company, csv) = generate_csv(accounts, records, 7);
    group.throughput(Throughput::Elements(records as u64));
    group.bench_function(format!("csv_to_invoices_{records}_rows"), |b| {
        b.iter(|| {
            let table = ingest_usage(black_box(csv.as_bytes()), &company.accounts)?;
            let data = plock_benches::table_data(&company, &table);
            Ok::<_, Box<dyn std::error::Error>>(run(&data, &OPTIONS)?)
        })
    });
    group.finish();
}

criterion_group!(benches, billing, aggregation, ingestion, end_to_end);
criterion_main!(benches);
