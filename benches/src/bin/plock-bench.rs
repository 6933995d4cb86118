//! One billing run at a chosen scale, timed once, with records and invoices per second and
//! peak memory: `cargo run --release -p plock-benches --bin plock-bench -- --scale M`.
// Rates and mebibytes are for people to read, not money: floats are fine here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::time::Instant;

use plock_benches::company::{RUN_DATE, Scale, generate};
use plock_core::{RunOptions, run};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scale = match args
        .iter()
        .position(|a| a == "--scale")
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
    {
        Some("M") => Scale::M,
        Some("L") => Scale::L,
        _ => Scale::S,
    };
    let (accounts, records) = scale.size();
    let started = Instant::now();
    let company = generate(scale, 7);
    let generated = started.elapsed();
    let before_run = plock_benches::peak_rss_bytes();
    println!(
        "scale {scale:?}: {accounts} accounts, {records} usage records, generated in {:.2} s, {:.0} MiB",
        generated.as_secs_f64(),
        before_run as f64 / 1048576.0
    );
    let options = RunOptions {
        run_date: RUN_DATE,
        first_invoice_number: 1,
        dispatch_erp: None,
    };
    let started = Instant::now();
    let result = match run(&company.data(), &options) {
        Ok(r) => r,
        Err(e) => return eprintln!("run failed: {e}"),
    };
    let took = started.elapsed().as_secs_f64();
    let peak = plock_benches::peak_rss_bytes();
    println!(
        "reference run (1 thread): {:.3} s, {:.2} M usage records/s, {:.0} invoices/s ({} invoices), peak {:.0} MiB = {:.0} bytes per usage record held",
        took,
        records as f64 / took / 1e6,
        result.invoices.len() as f64 / took,
        result.invoices.len(),
        peak as f64 / 1048576.0,
        peak as f64 / records as f64
    );
}
