//! A usage file imported into PostgreSQL through the store's usage import, as `plock import
//! usage` does it: rows checked a batch of chunks at a time by core's `UsageChecker` (chunks
//! in parallel), each block encoded and sent by binary `COPY`. Prints the rows a second of
//! the whole import and of the check alone, and the CPU seconds of this process and of the
//! server's processes during the import: what bounds the rate.
//!
//! ```sh
//! .ci/postgres.sh start /tmp/plock-pg      # prints the connection string
//! cargo run --release -p plock-benches --bin plock-usage-import -- CSV/M \
//!     --postgres "host=127.0.0.1 port=… user=plock dbname=postgres" [--threads 2]
//! ```
//!
//! CSV/M is the kit's data in plock's formats (`plock-kit-convert`): its `accounts.csv` is
//! imported first (not timed), then its `usage.csv`. The database must hold no plock schema.
// Rates are for people to read, not money: floats are fine here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Result, anyhow, bail};
use plock_benches::usage_csv::each_block;
use plock_core::import::plan_account_import;
use plock_core::{AccountBook, Store};
use plock_store_postgres::PostgresStore;

fn main() {
    if let Err(e) = run() {
        eprintln!("plock-usage-import: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let mut it = std::env::args().skip(1);
    let csv: PathBuf = it.next().ok_or_else(|| anyhow!("the CSV folder"))?.into();
    let (mut postgres, mut threads) = (None, None);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--postgres" => postgres = Some(value),
            "--threads" => threads = Some(value.parse::<usize>()?),
            other => bail!("unknown flag {other}"),
        }
    }
    let postgres = postgres.ok_or_else(|| anyhow!("--postgres CONFIG"))?;
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads.unwrap_or(0))
        .build()?;
    pool.install(|| measure(&csv, &postgres))
}

fn measure(csv: &Path, postgres: &str) -> Result<()> {
    let mut store = PostgresStore::create(postgres)?;
    let accounts = std::fs::read(csv.join("accounts.csv"))?;
    let today = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).ok_or_else(|| anyhow!("date"))?;
    let plan = plan_account_import(&accounts, &AccountBook::new(), today)
        .map_err(|e| anyhow!("accounts.csv: {e}"))?;
    store.apply(plan)?;
    let book = store.company()?.accounts;
    let usage = csv.join("usage.csv");

    let cpu_before = own_cpu()?;
    let started = Instant::now();
    let rows = each_block(&usage, &book, |_| Ok(()))?;
    let check = started.elapsed();
    println!(
        "check alone: {rows} rows in {:.2} s = {:.0} rows/s; CPU: plock {:.2} s",
        check.as_secs_f64(),
        rate(rows, check),
        own_cpu()? - cpu_before
    );

    let (cpu_before, server_before) = (own_cpu()?, server_cpu()?);
    let started = Instant::now();
    let mut import = store.usage_import()?;
    let mut adding = Duration::ZERO;
    let rows = each_block(&usage, &book, |block| {
        let at = Instant::now();
        import.add(block)?;
        adding += at.elapsed();
        Ok(())
    })?;
    let at = Instant::now();
    import.commit()?;
    adding += at.elapsed();
    let total = started.elapsed();
    let (cpu, server) = (own_cpu()? - cpu_before, server_cpu()? - server_before);
    println!(
        "import: {rows} rows in {:.2} s = {:.0} rows/s; encoding and sending {:.2} s; CPU: plock {cpu:.2} s, server {server:.2} s",
        total.as_secs_f64(),
        rate(rows, total),
        adding.as_secs_f64()
    );
    Ok(())
}

fn rate(rows: u64, t: Duration) -> f64 {
    rows as f64 / t.as_secs_f64()
}

/// This process's CPU seconds (user and system).
fn own_cpu() -> Result<f64> {
    cpu_of(Path::new("/proc/self/stat"))
}

/// The CPU seconds of every process named `postgres` (user and system).
fn server_cpu() -> Result<f64> {
    let mut sum = 0.0;
    for entry in std::fs::read_dir("/proc")? {
        let stat = entry?.path().join("stat");
        let Ok(text) = std::fs::read_to_string(&stat) else {
            continue;
        };
        if text.contains("(postgres)") {
            sum += cpu_of(&stat).unwrap_or(0.0);
        }
    }
    Ok(sum)
}

fn cpu_of(stat: &Path) -> Result<f64> {
    let text = std::fs::read_to_string(stat)?;
    let after = text.rsplit(')').next().unwrap_or_default();
    let fields: Vec<&str> = after.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    Ok((ticks(11) + ticks(12)) / 100.0)
}
