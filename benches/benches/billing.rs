//! Billing-run benchmarks at several scales: `cargo bench -p plock-benches`.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plock_benches::company::{RUN_DATE, generate_sized};
use plock_core::{RunOptions, run};

fn billing(c: &mut Criterion) {
    let mut group = c.benchmark_group("billing_run");
    group.sample_size(10);
    for (accounts, records) in [(1_000, 100_000), (10_000, 1_000_000)] {
        let company = generate_sized(accounts, records, 7);
        let options = RunOptions {
            run_date: RUN_DATE,
            first_invoice_number: 1,
            dispatch_erp: None,
        };
        group.throughput(Throughput::Elements(records as u64));
        group.bench_function(format!("{accounts}_accounts_{records}_records"), |b| {
            b.iter(|| run(black_box(&company.data()), &options))
        });
    }
    group.finish();
}

fn ingestion(c: &mut Criterion) {
    let company = generate_sized(1_000, 100_000, 7);
    let mut csv = String::from("account_key,metric,timestamp,quantity\n");
    for r in &company.usage {
        csv.push_str(&format!(
            "{},{},{},{}\n",
            r.account(),
            r.metric(),
            r.timestamp().to_rfc3339(),
            r.quantity()
        ));
    }
    let mut group = c.benchmark_group("usage_csv");
    group.sample_size(10);
    group.throughput(Throughput::Elements(company.usage.len() as u64));
    group.bench_function("parse_100k_rows", |b| {
        b.iter(|| plock_core::parse_usage(black_box(csv.as_bytes()), &company.accounts))
    });
    group.finish();
}

criterion_group!(benches, billing, ingestion);
criterion_main!(benches);
