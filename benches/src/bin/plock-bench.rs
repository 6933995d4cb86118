//! Billing at a chosen scale and thread count: usage records per second, invoices per second,
//! the aggregation alone, and peak memory.
//!
//! `cargo run --release -p plock-benches --bin plock-bench -- --scale M --threads 2`
//! (`--csv` measures CSV ingestion instead; `--paired` also times calls on one thread alternating
//! with calls on `--threads`, so both see the same minutes of a shared machine; `--against L`
//! times calls at another scale alternating with calls at `--scale`).
// Rates and mebibytes are for people to read, not money: floats are fine here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::time::{Duration, Instant};

// A billing run allocates a few small strings per invoice line; glibc's allocator spent 40% of
// the run in its free lists, mimalloc a fraction of that.
#[cfg(not(feature = "alloc-stats"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(feature = "alloc-stats")]
#[global_allocator]
static ALLOCATOR: plock_benches::alloc_stats::Counting =
    plock_benches::alloc_stats::Counting(mimalloc::MiMalloc);

/// With the `alloc-stats` feature, the bytes asked for and not freed now and their peak since
/// the last mark, then a new mark; nothing without it.
fn alloc_stats(what: &str) {
    #[cfg(feature = "alloc-stats")]
    {
        use plock_benches::alloc_stats::{live_bytes, mark, peak_bytes};
        println!(
            "  allocated {what}: live {:.1} MiB, peak {:.1} MiB",
            mib(live_bytes() as u64),
            mib(peak_bytes() as u64)
        );
        mark();
    }
    #[cfg(not(feature = "alloc-stats"))]
    let _ = what;
}

use chrono::NaiveDate;
use plock_benches::company::{RUN_DATE, Scale, generate_csv, generate_table};
use plock_benches::{peak_rss_bytes, reset_peak_rss, rss_bytes};
use plock_core::import::ingest_usage;
use plock_core::period::Period;
use plock_core::store::CompanySnapshot;
use plock_core::{RunOptions, UsageTable, run};

struct Args {
    scale: Scale,
    threads: usize,
    csv: bool,
    paired: bool,
    against: Option<Scale>,
    repeat: usize,
}

fn args() -> Result<Args, String> {
    let mut parsed = Args {
        scale: Scale::S,
        threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
        csv: false,
        paired: false,
        against: None,
        repeat: 5,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--scale" => parsed.scale = scale(args.next().as_deref())?,
            "--against" => parsed.against = Some(scale(args.next().as_deref())?),
            "--threads" => {
                parsed.threads = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--threads takes a positive number")?
            }
            "--repeat" => {
                parsed.repeat = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|n| *n > 0)
                    .ok_or("--repeat takes a positive number")?
            }
            "--csv" => parsed.csv = true,
            "--paired" => parsed.paired = true,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(parsed)
}

fn scale(name: Option<&str>) -> Result<Scale, String> {
    match name {
        Some("S") => Ok(Scale::S),
        Some("M") => Ok(Scale::M),
        Some("L") => Ok(Scale::L),
        other => Err(format!(
            "--scale and --against take S, M or L, not {other:?}"
        )),
    }
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / 1_048_576.0
}

/// What `repeat` calls of a function took: the first (on memory fresh from the OS), fastest
/// and median times, and the peak resident memory during each call (each call's peak counts
/// what earlier calls freed and the allocator kept).
struct Timed {
    first: Duration,
    fastest: Duration,
    median: Duration,
    peaks: Vec<u64>,
}

/// Times `repeat` calls of `f`, and keeps the last result. Only one result is held at a time.
fn timed<T>(repeat: usize, mut f: impl FnMut() -> T) -> (Timed, T) {
    let mut times = Vec::with_capacity(repeat);
    let mut peaks = Vec::with_capacity(repeat);
    let mut last = None;
    let cpu_before = plock_benches::cpu_ticks();
    for _ in 0..repeat {
        drop(last.take());
        reset_peak_rss();
        let started = Instant::now();
        let out = f();
        times.push(started.elapsed());
        peaks.push(peak_rss_bytes());
        last = Some(out);
    }
    if std::env::var_os("PLOCK_BENCH_VERBOSE").is_some() {
        // Processor time of the whole process (every thread), in clock ticks of 10 ms: steadier
        // than wall time on a shared machine, whose other tenants take cores away.
        let ticks = plock_benches::cpu_ticks().saturating_sub(cpu_before);
        eprintln!(
            "timings: {times:?}; processor time {:.1} ms per call",
            ticks as f64 * 10.0 / repeat as f64
        );
    }
    let first = times.first().copied().unwrap_or_default();
    times.sort();
    let timed = Timed {
        first,
        median: times.get(times.len() / 2).copied().unwrap_or_default(),
        fastest: times.first().copied().unwrap_or_default(),
        peaks,
    };
    match last {
        Some(out) => (timed, out),
        None => (timed, f()),
    }
}

fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("plock-bench: {e}");
            std::process::exit(2);
        }
    };
    // Longer than any run or ingestion at L, so every repeated call reuses what the one before
    // freed, at every scale.
    plock_benches::allocator::keep_freed_for(Duration::from_secs(10));
    if let Err(e) = rayon::ThreadPoolBuilder::new()
        .num_threads(args.threads)
        .build_global()
    {
        eprintln!("plock-bench: {e}");
        std::process::exit(2);
    }
    let (accounts, records) = args.scale.size();
    let threads = args.threads;
    println!(
        "scale {:?}: {accounts} accounts, {records} usage records, {threads} thread(s)",
        args.scale
    );
    if args.csv {
        return csv(accounts, records, args.repeat);
    }

    let started = Instant::now();
    alloc_stats("before generating");
    let (company, table) = generate_table(accounts, records, 7);
    alloc_stats("generating (company and table)");
    println!(
        "generated and packed in {:.2} s: usage table {:.0} MiB = {:.1} bytes per record",
        started.elapsed().as_secs_f64(),
        mib(table.heap_bytes() as u64),
        table.heap_bytes() as f64 / records as f64
    );
    let options = RunOptions {
        run_date: RUN_DATE,
        first_invoice_number: 1,
        dispatch_erp: None,
    };
    let data = plock_benches::table_data(&company, &table);
    let generation_peak = peak_rss_bytes();
    // What generating freed is not the run's memory: returned before anything is measured.
    plock_benches::allocator::release_freed();
    let held = rss_bytes();
    println!(
        "holding the company and its usage: {:.0} MiB = {:.1} bytes per usage record",
        mib(held),
        held as f64 / records as f64
    );
    let reset = reset_peak_rss();
    let (runs, result) = timed(args.repeat, || run(&data, &options));
    alloc_stats("by the runs (holding the last run's output)");
    let result = match result {
        Ok(r) => r,
        Err(e) => return eprintln!("run failed: {e}"),
    };
    #[cfg(feature = "alloc-stats")]
    output_breakdown(&result);
    let secs = runs.median.as_secs_f64();
    let best = runs.fastest.as_secs_f64();
    println!(
        "run: median {:.3} s = {:.1} M usage records/s, {:.0} k invoices/s; fastest {:.3} s = {:.1} M records/s, {:.0} k invoices/s (of {}; {} invoices, {} lines); first {:.3} s",
        secs,
        records as f64 / secs / 1e6,
        result.invoices.len() as f64 / secs / 1e3,
        best,
        records as f64 / best / 1e6,
        result.invoices.len() as f64 / best / 1e3,
        args.repeat,
        result.invoices.len(),
        result
            .invoices
            .iter()
            .map(|i| i.lines().len())
            .sum::<usize>(),
        runs.first.as_secs_f64(),
    );
    if args.paired {
        paired(args.repeat, threads, || run(&data, &options));
    }
    if let Some(other) = args.against {
        let (other_accounts, other_records) = other.size();
        let (other_company, other_table) = generate_table(other_accounts, other_records, 7);
        let other_data = plock_benches::table_data(&other_company, &other_table);
        let times = alternate(args.repeat, &|| run(&other_data, &options), &|| {
            run(&data, &options)
        });
        println!(
            "{other:?} against {:?}, {} alternating pairs: {} (the time)",
            args.scale,
            args.repeat,
            times.summary()
        );
    }
    aggregation_alone(&company, &table, args.repeat);
    memory_report(records, generation_peak, reset.then_some(&runs));
    drop(table);
}

/// The time of aggregating every account's usage over January, alone.
fn aggregation_alone(company: &CompanySnapshot, table: &UsageTable, repeat: usize) {
    let january = Period::new(date(2025, 1, 1), date(2025, 2, 1));
    if let Ok(january) = january {
        let (aggregation, sums) = timed(repeat, || table.aggregate_all(&company.metrics, &january));
        let (took, fastest) = (aggregation.median, aggregation.fastest);
        println!(
            "aggregation alone: median {:.3} s = {:.0} M usage records/s; fastest {:.0} M records/s ({} account-metric aggregates)",
            took.as_secs_f64(),
            table.len() as f64 / took.as_secs_f64() / 1e6,
            table.len() as f64 / fastest.as_secs_f64() / 1e6,
            sums.len()
        );
    }
}

/// The peak memory of generating, and of the runs when the peak could be reset first.
fn memory_report(records: usize, generation_peak: u64, runs: Option<&Timed>) {
    let per_record = |bytes: u64| bytes as f64 / records as f64;
    println!(
        "peak memory while generating: {:.0} MiB = {:.1} bytes per usage record",
        mib(generation_peak),
        per_record(generation_peak)
    );
    if let Some(runs) = runs {
        let first = runs.peaks.first().copied().unwrap_or_default();
        let highest = runs.peaks.iter().copied().max().unwrap_or_default();
        println!(
            "peak memory of a run (company, usage and the run's output): first run {:.0} MiB = {:.1} bytes per usage record held; highest of the {} runs {:.0} MiB = {:.1} (a later run also holds what earlier runs freed and the allocator kept)",
            mib(first),
            per_record(first),
            runs.peaks.len(),
            mib(highest),
            per_record(highest)
        );
    }
}

/// Medians of alternating calls of two functions, and the ratios of each pair's times.
struct Alternated {
    first: f64,
    second: f64,
    /// First's time over second's, pair by pair, sorted.
    ratios: Vec<f64>,
}

impl Alternated {
    /// The medians and their ratio, then the pairs' ratios: median, lowest and highest.
    fn summary(&self) -> String {
        let ratio = |at: usize| self.ratios.get(at).copied().unwrap_or_default();
        format!(
            "medians {:.3} s and {:.3} s = {:.2}x; median of the pairs' ratios {:.2}x (lowest {:.2}x, highest {:.2}x)",
            self.first,
            self.second,
            self.first / self.second,
            ratio(self.ratios.len() / 2),
            ratio(0),
            ratio(self.ratios.len().saturating_sub(1)),
        )
    }
}

/// Times `repeat` pairs of calls, `first` then `second`. Alternating keeps both sides in the
/// same minutes: on a shared machine the speed of one binary moved by up to half within an
/// hour, so medians taken minutes apart compare the minutes, not the code.
fn alternate<T>(repeat: usize, first: &dyn Fn() -> T, second: &dyn Fn() -> T) -> Alternated {
    let time = |g: &dyn Fn() -> T| {
        let started = Instant::now();
        let out = g();
        let took = started.elapsed().as_secs_f64();
        drop(out);
        took
    };
    let (mut firsts, mut seconds, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..repeat {
        let (a, b) = (time(first), time(second));
        firsts.push(a);
        seconds.push(b);
        ratios.push(a / b);
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or_default()
    };
    ratios.sort_by(f64::total_cmp);
    Alternated {
        first: median(firsts),
        second: median(seconds),
        ratios,
    }
}

/// Times `repeat` pairs of calls of `f`, one on a pool of one thread, then one on the global
/// pool of `threads`, and prints how much faster the second is.
fn paired<T: Send>(repeat: usize, threads: usize, f: impl Fn() -> T + Sync) {
    let one = match rayon::ThreadPoolBuilder::new().num_threads(1).build() {
        Ok(pool) => pool,
        Err(e) => return eprintln!("plock-bench: {e}"),
    };
    let times = alternate(repeat, &|| one.install(&f), &f);
    println!(
        "1 -> {threads} threads, {repeat} alternating pairs: {} (faster)",
        times.summary()
    );
}

fn csv(accounts: usize, records: usize, repeat: usize) {
    let started = Instant::now();
    let (company, csv) = generate_csv(accounts, records, 7);
    println!(
        "generated {:.0} MiB of CSV in {:.2} s",
        mib(csv.len() as u64),
        started.elapsed().as_secs_f64()
    );
    plock_benches::allocator::release_freed();
    let (calls, table) = timed(repeat, || ingest_usage(csv.as_bytes(), &company.accounts));
    let table = match table {
        Ok(t) => t,
        Err(e) => return eprintln!("ingestion failed: {e}"),
    };
    let (secs, fastest) = (calls.median.as_secs_f64(), calls.fastest);
    println!(
        "CSV ingestion: median {:.3} s = {:.1} M rows/s, {:.0} MiB/s; fastest {:.1} M rows/s (of {repeat}; {} records); first {:.3} s",
        secs,
        records as f64 / secs / 1e6,
        mib(csv.len() as u64) / secs,
        records as f64 / fastest.as_secs_f64() / 1e6,
        table.len(),
        calls.first.as_secs_f64()
    );
    let first = calls.peaks.first().copied().unwrap_or_default();
    let highest = calls.peaks.iter().copied().max().unwrap_or_default();
    println!(
        "peak memory of an ingestion (the CSV, the company and the table): first {:.0} MiB; highest of the {} {:.0} MiB (a later one also holds what earlier ones freed and the allocator kept)",
        mib(first),
        calls.peaks.len(),
        mib(highest)
    );
}

/// The heap bytes of a run's output that its lengths account for (capacities are not visible).
#[cfg(feature = "alloc-stats")]
fn output_breakdown(run: &plock_core::BillingRun) {
    use plock_core::Invoice;
    use plock_core::billing::Billed;
    use plock_core::invoice::{Dispatch, InvoiceLine, ProductTotal};
    use std::mem::size_of;
    let lines: usize = run.invoices.iter().map(|i| i.lines().len()).sum();
    let products: usize = run.invoices.iter().map(|i| i.products().len()).sum();
    let debtors: usize = run.invoices.iter().map(|i| i.debtor_ids().len()).sum();
    let held = run
        .invoices
        .iter()
        .filter(|i| matches!(i.dispatch(), Dispatch::Held { .. }))
        .count();
    let single = run.invoices.iter().filter(|i| i.lines().len() == 1).count();
    println!(
        "  output: {} invoices x {} B = {:.1} MiB; {lines} lines x {} B = {:.1} MiB; {products} product totals x {} B = {:.1} MiB; {debtors} debtor ids; {held} held; {single} one-line invoices; {} subscriptions billed x {} B = {:.1} MiB; {} skipped, {} unmatched, {} unpriced",
        run.invoices.len(),
        size_of::<Invoice>(),
        mib((run.invoices.capacity() * size_of::<Invoice>()) as u64),
        size_of::<InvoiceLine>(),
        mib((lines * size_of::<InvoiceLine>()) as u64),
        size_of::<ProductTotal>(),
        mib((products * size_of::<ProductTotal>()) as u64),
        run.billed.len(),
        size_of::<Billed>(),
        mib((run.billed.capacity() * size_of::<Billed>()) as u64),
        run.skipped.len(),
        run.unmatched.len(),
        run.unpriced_usage.len(),
    );
    let mut sizes = std::collections::BTreeMap::<usize, usize>::new();
    for i in &run.invoices {
        *sizes.entry(i.lines().len()).or_default() += 1;
    }
    let top: Vec<_> = sizes.iter().take(8).collect();
    println!(
        "  lines per invoice (lines, invoices): {top:?} ... max {:?}",
        sizes.last_key_value()
    );
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap_or_default()
}
