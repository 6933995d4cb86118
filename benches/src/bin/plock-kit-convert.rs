//! The billing benchmark kit's data in plock's own CSV formats, for timing the `plock` command
//! end to end; and the kit's billing history recorded in a database `plock` imported it into.
//!
//! `plock-kit-convert --data DATA/M --out CSV/M` writes `accounts.csv`, `subscriptions.csv`
//! and `usage.csv` as `plock import` reads them
//! (docs/csv.md).
//!
//! `plock-kit-convert --data DATA/M --history plock.data` records in that database (a SQLite
//! data file, or a PostgreSQL connection string as `plock --store` takes it) what the
//! kit's earlier runs billed (every period before the run date, as the kit's harness assumes),
//! through the store's own `RecordRun`, so `plock bill --date 2025-04-01` then bills what the
//! kit's reference bills. Neither step is part of what is timed.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, SecondsFormat};
use plock_benches::kit;
use plock_core::Store;
use plock_core::billing::Billed;
use plock_core::store::{Batch, Change};
use plock_store_postgres::PostgresStore;
use plock_store_sqlite::SqliteStore;

fn main() {
    if let Err(e) = run() {
        eprintln!("plock-kit-convert: {e:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let (mut data, mut out, mut history) = (None, None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--data" => data = args.next().map(PathBuf::from),
            "--out" => out = args.next().map(PathBuf::from),
            "--history" => history = args.next().map(PathBuf::from),
            other => bail!("unknown argument {other:?} (--data DIR and --out DIR or --history DB)"),
        }
    }
    let data = data.ok_or_else(|| anyhow!("--data DIR is required"))?;
    let mut company = kit::load_rest(&data)?;
    match (out, history) {
        (Some(out), None) => {
            std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
            write(
                &out.join("accounts.csv"),
                &plock_core::import::export_accounts(&company.book),
            )?;
            let subscriptions = plock_core::import::export_subscriptions(
                &company.book,
                &company.subscriptions,
                &company.metrics,
            );
            write(&out.join("subscriptions.csv"), &subscriptions)?;
            convert_usage(&data.join("usage.csv"), &out.join("usage.csv"))
        }
        (None, Some(db)) => {
            kit::history(&mut company.subscriptions, kit::RUN_DATE);
            record_history(&db, &company)
        }
        _ => bail!("give one of --out DIR or --history DB"),
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// `account_id,metric_id,ts_ms,quantity` to `account_key,metric,timestamp,quantity`.
fn convert_usage(from: &Path, to: &Path) -> Result<()> {
    let input = BufReader::with_capacity(
        1 << 20,
        File::open(from).with_context(|| format!("opening {}", from.display()))?,
    );
    let mut output = BufWriter::with_capacity(
        1 << 20,
        File::create(to).with_context(|| format!("creating {}", to.display()))?,
    );
    writeln!(output, "account_key,metric,timestamp,quantity")?;
    for (n, line) in input.lines().enumerate().skip(1) {
        let line = line.with_context(|| format!("{} line {}", from.display(), n + 1))?;
        let mut fields = line.split(',');
        let (Some(account), Some(metric), Some(ms), Some(quantity)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            bail!("{} line {}: not four fields", from.display(), n + 1);
        };
        let ms: i64 = ms
            .parse()
            .with_context(|| format!("{} line {}: ts_ms", from.display(), n + 1))?;
        let time = DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| anyhow!("{} line {}: ts_ms out of range", from.display(), n + 1))?;
        writeln!(
            output,
            "{account},{metric},{},{quantity}",
            time.to_rfc3339_opts(SecondsFormat::Millis, true)
        )?;
    }
    output.flush()?;
    Ok(())
}

/// Moves each subscription's watermark from what the database holds to the kit's history.
fn record_history(db: &Path, company: &kit::Company) -> Result<()> {
    let text = db.to_string_lossy();
    let mut store: Box<dyn Store> = if text.starts_with("postgres") || text.contains('=') {
        Box::new(PostgresStore::open(&text)?)
    } else {
        Box::new(SqliteStore::open(db)?)
    };
    let mut billed = Vec::new();
    for subscription in &company.subscriptions {
        let stored = store.subscription(subscription.id())?.ok_or_else(|| {
            anyhow!(
                "subscription {} is not in {}",
                subscription.id(),
                db.display()
            )
        })?;
        billed.push(Billed {
            subscription: subscription.id().clone(),
            from: stored.billed_through(),
            through: subscription.billed_through(),
        });
    }
    store.apply(Batch::one(Change::RecordRun {
        invoices: Vec::new(),
        billed,
        billed_usage: Vec::new(),
    }))?;
    Ok(())
}
