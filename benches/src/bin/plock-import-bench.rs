//! Import throughput: N accounts and N subscriptions from CSV, planned and applied to a memory
//! store, with rows per second and peak memory. `cargo run --release -p plock-benches --bin
//! plock-import-bench -- 100000`.
// Rates and mebibytes are for people to read, not money: floats are fine here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::time::Instant;

use plock_core::{AccountBook, Store};
use plock_store_memory::MemoryStore;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(100_000);
    let (accounts, subscriptions) = plock_benches::import_files(n);
    let base = plock_benches::peak_rss_bytes();
    println!(
        "{n} accounts ({} bytes of CSV), {n} subscriptions ({} bytes)",
        accounts.len(),
        subscriptions.len()
    );

    let started = Instant::now();
    let batch = match plock_core::import::plan_account_import(
        accounts.as_bytes(),
        &AccountBook::new(),
        plock_benches::DAY,
    ) {
        Ok(batch) => batch,
        Err(e) => return eprintln!("account import failed: {e}"),
    };
    let planned = started.elapsed();
    let mut store = MemoryStore::new();
    if let Err(e) = store.apply(batch) {
        return eprintln!("account apply failed: {e}");
    }
    let accounts_done = started.elapsed();
    println!(
        "accounts:      plan {:>8.3} s, plan+apply {:>8.3} s = {:>10.0} rows/s",
        planned.as_secs_f64(),
        accounts_done.as_secs_f64(),
        n as f64 / accounts_done.as_secs_f64()
    );

    let started = Instant::now();
    let company = match store.company() {
        Ok(c) => c,
        Err(e) => return eprintln!("{e}"),
    };
    let batch = match plock_core::import::plan_subscription_import(
        subscriptions.as_bytes(),
        &company.accounts,
        &company.subscriptions,
        &company.metrics,
    ) {
        Ok(batch) => batch,
        Err(e) => return eprintln!("subscription import failed: {e}"),
    };
    if let Err(e) = store.apply(batch) {
        return eprintln!("subscription apply failed: {e}");
    }
    let subs_done = started.elapsed();
    println!(
        "subscriptions: plan+apply {:>8.3} s = {:>10.0} rows/s",
        subs_done.as_secs_f64(),
        n as f64 / subs_done.as_secs_f64()
    );
    let peak = plock_benches::peak_rss_bytes();
    println!(
        "peak memory {:.1} MiB ({:.0} bytes per imported row above the {:.1} MiB baseline)",
        peak as f64 / 1048576.0,
        (peak - base) as f64 / (2 * n) as f64,
        base as f64 / 1048576.0
    );
}
