//! A usage CSV file read into a usage table by `read_usage`, streaming: rows per second and
//! peak resident memory per record.
//!
//! `cargo run --release -p plock-benches --bin plock-read-usage -- /work/kitdata/M/usage.csv`
//! reads the benchmark kit's layout (`account_id,metric_id,ts_ms,quantity`, epoch
//! milliseconds) against a book of accounts `1` to N, N being the rows of the `accounts.csv`
//! beside the file (`--accounts N` to say it); `--plock` reads plock's own layout instead
//! (with accounts `a0000000`... as `plock-bench` generates them); `--threads T` (default: all
//! cores); `--repeat R` calls (default 3; the first call's peak is the one that counts, later
//! calls reuse what earlier ones freed).
// Rates and mebibytes are for people to read, not money: floats are fine here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use chrono::NaiveDate;
use plock_benches::{peak_rss_bytes, reset_peak_rss, rss_bytes};
use plock_core::account::{AccountName, Contact};
use plock_core::import::{TimeFormat, UsageLayout, read_usage};
use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};

struct Args {
    path: String,
    accounts: Option<usize>,
    plock: bool,
    threads: usize,
    repeat: usize,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args {
        path: String::new(),
        accounts: None,
        plock: false,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        repeat: 3,
    };
    let mut it = std::env::args().skip(1);
    let number = |v: Option<String>, what: &str| -> Result<usize, String> {
        v.and_then(|v| v.parse().ok())
            .ok_or_else(|| format!("{what} takes a number"))
    };
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--accounts" => parsed.accounts = Some(number(it.next(), "--accounts")?),
            "--plock" => parsed.plock = true,
            "--threads" => parsed.threads = number(it.next(), "--threads")?.max(1),
            "--repeat" => parsed.repeat = number(it.next(), "--repeat")?.max(1),
            path if !path.starts_with("--") && parsed.path.is_empty() => parsed.path = arg,
            other => return Err(format!("unknown argument {other:?}")),
        }
    }
    if parsed.path.is_empty() {
        return Err(
            "usage: plock-read-usage FILE [--accounts N] [--plock] [--threads T] [--repeat R]"
                .into(),
        );
    }
    Ok(parsed)
}

/// The rows of the `accounts.csv` beside `path`, less its header.
fn accounts_beside(path: &str) -> Option<usize> {
    let dir = std::path::Path::new(path).parent()?;
    let text = std::fs::read(dir.join("accounts.csv")).ok()?;
    Some(
        text.iter()
            .filter(|b| **b == b'\n')
            .count()
            .saturating_sub(1),
    )
}

/// A book of `n` accounts keyed `1` to `n` (the kit's), or as `plock-bench` keys them.
fn book(n: usize, plock: bool) -> Result<AccountBook, String> {
    let jan = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?;
    let mut book = AccountBook::new();
    for i in 0..n {
        let key = match plock {
            true => format!("a{i:07}"),
            false => (i + 1).to_string(),
        };
        let e = |e: &dyn std::fmt::Display| e.to_string();
        book.add(Account::new(
            AccountId::new(&key).map_err(|x| e(&x))?,
            AccountKey::new(&key).map_err(|x| e(&x))?,
            AccountName::new(&key).map_err(|x| e(&x))?,
            Contact::default(),
            Currency::EUR,
            jan,
        ))
        .map_err(|x| e(&x))?;
    }
    Ok(book)
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

fn main() {
    if let Err(e) = bench() {
        eprintln!("plock-read-usage: {e}");
        std::process::exit(2);
    }
}

fn bench() -> Result<(), String> {
    let args = args()?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()
        .map_err(|e| e.to_string())?;
    let accounts = args
        .accounts
        .or_else(|| accounts_beside(&args.path))
        .ok_or("no accounts.csv beside the file: give --accounts N")?;
    let book = book(accounts, args.plock)?;
    let layout = match args.plock {
        true => UsageLayout::default(),
        false => UsageLayout::default()
            .account("account_id")
            .metric("metric_id")
            .timestamp("ts_ms", TimeFormat::EpochMillis)
            .quantity("quantity"),
    };
    let bytes = std::fs::metadata(&args.path)
        .map_err(|e| e.to_string())?
        .len();
    let before = rss_bytes();
    println!(
        "{}: {:.0} MiB; {accounts} accounts, {} thread(s); resident before reading {:.0} MiB",
        args.path,
        mib(bytes),
        args.threads,
        mib(before)
    );
    let mut times: Vec<Duration> = Vec::new();
    let trace = std::env::var_os("PLOCK_TRACE_RSS").is_some();
    for call in 0..args.repeat {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let sampler = trace.then(|| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let started = Instant::now();
                let mut samples = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    samples.push((started.elapsed().as_millis(), rss_bytes() >> 20));
                    std::thread::sleep(Duration::from_millis(10));
                }
                samples
            })
        });
        reset_peak_rss();
        let file = std::fs::File::open(&args.path).map_err(|e| e.to_string())?;
        let (started, cpu) = (Instant::now(), plock_benches::cpu_ticks());
        let table = read_usage(file, &book, &layout).map_err(|e| e.to_string())?;
        let took = started.elapsed();
        let cpu = plock_benches::cpu_ticks().saturating_sub(cpu) as f64 * 10.0;
        let peak = peak_rss_bytes();
        let rows = table.len() as f64;
        let per = |b: u64| b as f64 / rows.max(1.0);
        println!(
            "call {}: {} records in {:.3} s = {:.1} M rows/s (processor {cpu:.0} ms); peak {:.0} MiB = {:.1} bytes a record ({:.1} beyond the resident before); table {:.1} bytes a record",
            call + 1,
            table.len(),
            took.as_secs_f64(),
            rows / took.as_secs_f64() / 1e6,
            mib(peak),
            per(peak),
            per(peak.saturating_sub(before)),
            per(table.heap_bytes() as u64),
        );
        times.push(took);
        drop(table);
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(samples) = sampler.and_then(|s| s.join().ok()) {
            println!("  resident MiB by ms: {samples:?}");
        }
    }
    times.sort();
    if let Some(median) = times.get(times.len() / 2) {
        println!("median {:.3} s", median.as_secs_f64());
    }
    Ok(())
}
