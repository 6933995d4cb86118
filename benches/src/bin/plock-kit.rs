//! The billing benchmark kit billed by plock: reads the kit's CSV files from `--data`, bills
//! the run date 2025-04-01 and writes the kit's four result files into `--out`, then prints
//! the phase timings as one JSON line.
//!
//! `cargo run --release -p plock-benches --bin plock-kit -- --data DATA/S --out OUT [--threads N] [--repeat K] [--batch S | --collect]`
//!
//! The run hands its invoices on as it goes (`run_streaming`, a part about every `--batch`
//! subscriptions, 4,096 unless said), and they are taken into the kit's rows as they come:
//! that is timed with the run, and the run never holds every invoice. With `--collect` the run
//! holds every invoice to its end (`run`), and the rows are made after it, untimed.
//!
//! Then `python3 ../shared/bench-kit/compare.py DATA/S/ref_duckdb OUT` prints MATCH or the
//! differences.
//!
//! The JSON line also holds the memory after each phase (`memory_by_phase`: resident now and
//! at the peak, and with `--features alloc-stats` the bytes allocated) and what each structure
//! takes (`structures`), and for every run, in call order, its minor page faults, user and
//! system time and each pool thread's time on a core and waiting for one (`runs`). Loading
//! returns what it frees to the OS at once; the run keeps what it frees for 10 s, for itself
//! and repeated runs, unless `PLOCK_KIT_KEEP=0` (or `MIMALLOC_PURGE_DELAY`) says otherwise.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use plock_benches::kit;
use plock_benches::{peak_rss_bytes, rss_bytes};

// As in plock-bench: a run allocates a few small strings per invoice line.
#[cfg(not(feature = "alloc-stats"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
#[cfg(feature = "alloc-stats")]
#[global_allocator]
static ALLOCATOR: plock_benches::alloc_stats::Counting =
    plock_benches::alloc_stats::Counting(mimalloc::MiMalloc);

/// The memory at the end of one phase: resident now and at the peak so far, and with the
/// `alloc-stats` feature the bytes asked for and not freed, and their peak within the phase.
fn memory_at(phase: &str) -> serde_json::Value {
    #[cfg(feature = "alloc-stats")]
    let (live, peak) = {
        use plock_benches::alloc_stats::{live_bytes, mark, peak_bytes};
        let figures = (live_bytes(), peak_bytes());
        mark();
        figures
    };
    #[cfg(not(feature = "alloc-stats"))]
    let (live, peak) = (0usize, 0usize);
    serde_json::json!({
        "phase": phase,
        "rss": rss_bytes(),
        "peak_rss": peak_rss_bytes(),
        "allocated_live": live,
        "allocated_peak_in_phase": peak,
    })
}

struct Args {
    data: PathBuf,
    out: PathBuf,
    threads: usize,
    repeat: usize,
    taking: kit::Taking,
}

fn args() -> Result<Args> {
    let (mut data, mut out) = (None, None);
    let mut threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut repeat = 1;
    let mut taking = kit::Taking::Streamed(kit::BATCH);
    let mut args = std::env::args().skip(1);
    let positive = |value: Option<String>, name: &str| -> Result<usize> {
        value
            .and_then(|n| n.parse().ok())
            .filter(|n| *n > 0)
            .ok_or_else(|| anyhow!("{name} takes a positive number"))
    };
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next().map(PathBuf::from),
            "--out" => out = args.next().map(PathBuf::from),
            "--threads" => threads = positive(args.next(), "--threads")?,
            "--repeat" => repeat = positive(args.next(), "--repeat")?,
            "--batch" => taking = kit::Taking::Streamed(positive(args.next(), "--batch")?),
            "--collect" => taking = kit::Taking::Collected,
            other => bail!(
                "unknown argument {other:?} (--data DIR --out DIR [--threads N] [--repeat K] [--batch S | --collect])"
            ),
        }
    }
    Ok(Args {
        data: data.ok_or_else(|| anyhow!("--data DIR is required"))?,
        out: out.ok_or_else(|| anyhow!("--out DIR is required"))?,
        threads,
        repeat,
        taking,
    })
}

/// Calls `f` and returns its result and the time it took.
fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed())
}

fn main() {
    if let Err(e) = args().and_then(|args| {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(args.threads)
            .build()?;
        pool.install(|| kit_run(&args))
    }) {
        eprintln!("plock-kit: {e:#}");
        std::process::exit(1);
    }
}

/// What the phases took, and the memory at their ends.
struct Phases {
    load_rest: Duration,
    load_usage: Duration,
    history: Duration,
    /// Every run's time, sorted.
    runs: Vec<Duration>,
    /// Every run's faults, processor times and threads' time on a core, in call order.
    runs_counted: Vec<serde_json::Value>,
    aggregates: Duration,
    write: Duration,
    peak_loading: u64,
    held_loaded: u64,
    held_with_history: u64,
    peak_running: u64,
    /// [`memory_at`] the end of each phase.
    memory: Vec<serde_json::Value>,
    /// What each structure takes ([`kit::structures`]).
    structures: serde_json::Value,
}

fn kit_run(args: &Args) -> Result<()> {
    // Loading returns what it frees at once (mimalloc's default keeps it a second, so the
    // parse's buffers stay resident beside the table's sort); the run keeps what it frees,
    // for itself and for repeated runs.
    let keep = match std::env::var("PLOCK_KIT_KEEP").as_deref() {
        Ok("0") => Duration::ZERO,
        _ => Duration::from_secs(10),
    };
    plock_benches::allocator::keep_freed_for(Duration::ZERO);
    let mut memory = vec![memory_at("start")];
    let (company, load_rest) = timed(|| kit::load_rest(&args.data));
    let mut company = company?;
    memory.push(memory_at("rest loaded"));
    let usage_path = args.data.join("usage.csv");
    let (usage, load_usage) = timed(|| kit::load_usage(&usage_path, &company.book));
    let usage = usage?;
    memory.push(memory_at("usage loaded"));
    let peak_loading = peak_rss_bytes();
    // What loading freed is not the run's memory.
    plock_benches::allocator::release_freed();
    let held_loaded = rss_bytes();
    memory.push(memory_at("loading's freed memory returned"));
    plock_benches::allocator::keep_freed_for(keep);
    let ((), history) = timed(|| kit::history(&mut company.subscriptions, kit::RUN_DATE));
    let held_with_history = rss_bytes();
    let mut runs = Vec::with_capacity(args.repeat);
    let mut runs_counted = Vec::with_capacity(args.repeat);
    let mut result = None;
    for _ in 0..args.repeat {
        drop(result.take());
        let before = kit::Counters::now();
        let (run, results, took) =
            kit::bill(&company, &usage, args.taking).context("billing run")?;
        runs_counted.push(before.since(&kit::Counters::now(), took));
        result = Some((run, results));
        runs.push(took);
    }
    let (run, results) = result.ok_or_else(|| anyhow!("no run"))?;
    runs.sort();
    let peak_running = peak_rss_bytes();
    memory.push(memory_at("run"));
    let structures = kit::structures(&company, &usage, &run, &results);
    let (aggregates, aggregates_took) = timed(|| kit::aggregates(&company, &usage));
    let aggregates = aggregates?;
    memory.push(memory_at("aggregates"));
    let (written, write) = timed(|| kit::write_results(&args.out, &results, &aggregates));
    memory.push(memory_at("written"));
    let phases = Phases {
        load_rest,
        load_usage,
        history,
        runs,
        runs_counted,
        aggregates: aggregates_took,
        write,
        peak_loading,
        held_loaded,
        held_with_history,
        peak_running,
        memory,
        structures,
    };
    println!("{}", summary(args, &phases, &written?, &usage));
    Ok(())
}

/// The phases' times (seconds; the run's median of `--repeat`), the results' counts and the
/// memory, as one JSON object.
fn summary(
    args: &Args,
    phases: &Phases,
    written: &kit::Written,
    usage: &plock_core::UsageTable,
) -> serde_json::Value {
    let rows = u64::try_from(usage.len()).unwrap_or(u64::MAX);
    let per_row = |bytes: u64| bytes.checked_div(rows).unwrap_or(0);
    let table_bytes = u64::try_from(usage.heap_bytes()).unwrap_or(u64::MAX);
    let runs = &phases.runs;
    let median = runs.get(runs.len() / 2).copied().unwrap_or_default();
    let fastest = runs.first().copied().unwrap_or_default();
    let peak = peak_rss_bytes();
    serde_json::json!({
        "engine": "plock",
        "threads": args.threads,
        "repeat": args.repeat,
        "taking": match args.taking {
            kit::Taking::Streamed(batch) => format!("streamed, parts of {batch} subscriptions"),
            kit::Taking::Collected => "collected".to_owned(),
        },
        "usage_rows": rows,
        "load_usage_s": phases.load_usage.as_secs_f64(),
        "load_rest_s": phases.load_rest.as_secs_f64(),
        "history_s": phases.history.as_secs_f64(),
        "run_s": median.as_secs_f64(),
        "run_min_s": fastest.as_secs_f64(),
        "runs": phases.runs_counted,
        "aggregates_s": phases.aggregates.as_secs_f64(),
        "write_s": phases.write.as_secs_f64(),
        "invoices": written.invoices,
        "lines": written.lines,
        "grand_total": written.grand_total.to_string(),
        "peak_rss_bytes": peak,
        "peak_rss_bytes_per_usage_row": per_row(peak),
        "peak_rss_loading_bytes": phases.peak_loading,
        "rss_loaded_bytes": phases.held_loaded,
        "rss_with_history_bytes": phases.held_with_history,
        "peak_rss_through_run_bytes": phases.peak_running,
        "usage_table_bytes_per_row": per_row(table_bytes),
        "memory_by_phase": phases.memory,
        "structures": phases.structures,
    })
}
