//! The kit's company in the SQL stores: usage imported through the store port, and one billing
//! run read from the store, run, and recorded in it, on PostgreSQL and on SQLite in the same
//! minutes.
//!
//! ```sh
//! .ci/postgres.sh start /tmp/plock-pg      # prints the connection string
//! cargo run --release -p plock-benches --bin plock-store-kit -- ../kitdata/M \
//!     --postgres "host=127.0.0.1 port=… user=plock dbname=postgres" --sqlite /tmp/m.plock \
//!     [--out results/]
//! ```
//!
//! `--out` writes the PostgreSQL run's results for the kit's `compare.py`. `--usage-csv
//! CSV/M/usage.csv` (the kit's usage in plock's format, from `plock-kit-convert`) imports
//! the usage into both stores as `plock import usage` does (checked blocks, made-up record
//! ids, each store's usage import) instead of through the port.
// Rates are for people to read, not money: floats are fine here.
#![allow(clippy::float_arithmetic, clippy::cast_precision_loss)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, Utc};
use plock_benches::kit;
use plock_benches::usage_csv::each_block;
use plock_core::store::{Batch, Change, CompanySnapshot};
use plock_core::{
    AccountKey, BillingRun, MetricId, RunOptions, Store, UsageRecord, UsageTable, run,
};
use plock_store_postgres::PostgresStore;
use plock_store_sqlite::SqliteStore;
use rust_decimal::Decimal;

struct Args {
    data: PathBuf,
    postgres: String,
    sqlite: PathBuf,
    out: Option<PathBuf>,
    usage_csv: Option<PathBuf>,
}

fn args() -> Result<Args> {
    let mut it = std::env::args().skip(1);
    let data = it
        .next()
        .ok_or_else(|| anyhow!("the kit data folder"))?
        .into();
    let (mut postgres, mut sqlite, mut out, mut usage_csv) = (None, None, None, None);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or_else(|| anyhow!("{flag} needs a value"))?;
        match flag.as_str() {
            "--postgres" => postgres = Some(value),
            "--sqlite" => sqlite = Some(PathBuf::from(value)),
            "--out" => out = Some(PathBuf::from(value)),
            "--usage-csv" => usage_csv = Some(PathBuf::from(value)),
            other => bail!("unknown flag {other}"),
        }
    }
    Ok(Args {
        data,
        postgres: postgres.ok_or_else(|| anyhow!("--postgres CONFIG"))?,
        sqlite: sqlite.ok_or_else(|| anyhow!("--sqlite PATH (a new file)"))?,
        out,
        usage_csv,
    })
}

/// The kit's company (no usage) as store batches: accounts, then links and group billing,
/// metrics and subscriptions (with what earlier runs billed).
fn company_batch(company: &kit::Company) -> Batch {
    let mut changes = Vec::new();
    for account in company.book.iter() {
        changes.push(Change::AddAccount {
            account: account.clone(),
        });
    }
    for account in company.book.iter() {
        if let Some(master) = account.master() {
            changes.push(Change::Link {
                child: account.id().clone(),
                master: master.clone(),
            });
        }
    }
    for account in company.book.iter().filter(|a| a.group_billing()) {
        changes.push(Change::SetGroupBilling {
            master: account.id().clone(),
            on: true,
        });
    }
    for metric in &company.metrics {
        changes.push(Change::PutMetric {
            metric: metric.clone(),
        });
    }
    for subscription in &company.subscriptions {
        changes.push(Change::PutSubscription {
            subscription: subscription.clone(),
        });
    }
    Batch { changes }
}

/// The kit's usage.csv (`account_id,metric_id,ts_ms,quantity`) as records.
fn usage_records(path: &Path) -> Result<Vec<UsageRecord>> {
    let text = std::fs::read_to_string(path).with_context(|| path.display().to_string())?;
    let mut keys: HashMap<&str, AccountKey> = HashMap::new();
    let mut metrics: HashMap<&str, MetricId> = HashMap::new();
    let mut out = Vec::with_capacity(text.len() / 32);
    for (n, line) in text.lines().enumerate().skip(1) {
        let mut f = line.split(',');
        let (Some(a), Some(m), Some(t), Some(q)) = (f.next(), f.next(), f.next(), f.next()) else {
            bail!("line {}: four fields expected", n + 1);
        };
        let key = match keys.get(a) {
            Some(k) => k.clone(),
            None => keys.entry(a).or_insert(AccountKey::new(a)?).clone(),
        };
        let metric = match metrics.get(m) {
            Some(k) => k.clone(),
            None => metrics.entry(m).or_insert(MetricId::new(m)?).clone(),
        };
        let millis: i64 = t.parse()?;
        let at = DateTime::<Utc>::from_timestamp_millis(millis)
            .ok_or_else(|| anyhow!("line {}: time {t}", n + 1))?;
        let quantity = Decimal::from_str_exact(q)?;
        out.push(UsageRecord::new(key, metric, at, quantity, None)?);
    }
    Ok(out)
}

/// The kit's usage into both stores through the port (`AddUsage`).
fn add_usage(data: &Path, pg: &mut PostgresStore, lite: &mut SqliteStore) -> Result<()> {
    let (records, t) = timed(|| usage_records(&data.join("usage.csv")));
    let records = records?;
    let n = records.len() as f64;
    println!(
        "usage.csv parsed: {} records in {:.2} s",
        records.len(),
        t.as_secs_f64()
    );
    let rate = |t: Duration| n / t.as_secs_f64();
    let usage = Batch::one(Change::AddUsage { records });
    let (r, t) = timed(|| pg.apply(usage.clone()));
    r?;
    println!(
        "usage into PostgreSQL (binary COPY): {:.2} s = {:.0} rows/s",
        t.as_secs_f64(),
        rate(t)
    );
    let (r, t) = timed(|| lite.apply(usage));
    r?;
    println!(
        "usage into SQLite:                   {:.2} s = {:.0} rows/s",
        t.as_secs_f64(),
        rate(t)
    );
    Ok(())
}

/// The usage file into both stores as `plock import usage` imports it.
fn import_usage(path: &Path, pg: &mut PostgresStore, lite: &mut SqliteStore) -> Result<()> {
    let book = pg.company_without_usage()?.accounts;
    let started = Instant::now();
    let mut import = pg.usage_import()?;
    let rows = each_block(path, &book, |block| Ok(import.add(block)?))?;
    import.commit()?;
    let t = started.elapsed();
    println!(
        "usage import into PostgreSQL: {rows} rows in {:.2} s = {:.0} rows/s",
        t.as_secs_f64(),
        rows as f64 / t.as_secs_f64()
    );
    let started = Instant::now();
    let mut import = lite.usage_import()?;
    let rows = each_block(path, &book, |block| Ok(import.add_block(&block)?))?;
    import.commit()?;
    let t = started.elapsed();
    println!(
        "usage import into SQLite:     {rows} rows in {:.2} s = {:.0} rows/s",
        t.as_secs_f64(),
        rows as f64 / t.as_secs_f64()
    );
    Ok(())
}

/// Reading the usage a run needs from the rows written through the port: by binary `COPY`
/// into the engine's table, as records through `company()`, or aggregated in the database
/// (daily sums, rows fetched).
fn read_usage_ways(pg: &PostgresStore, postgres: &str) -> Result<()> {
    let (table, copy) = timed(|| pg.usage_table());
    drop(table?);
    println!(
        "PostgreSQL usage by binary COPY into the table: {:.2} s",
        copy.as_secs_f64()
    );
    let (snapshot, rows) = timed(|| {
        pg.company().and_then(|c| {
            let table = c
                .usage_table()
                .map_err(|e| plock_core::store::StoreError::Backend {
                    message: e.to_string(),
                })?;
            Ok((c, table))
        })
    });
    drop(snapshot?);
    println!(
        "PostgreSQL company() then records into the table: {:.2} s",
        rows.as_secs_f64()
    );
    let mut client = postgres::Client::connect(postgres, postgres::NoTls)?;
    let (groups, t) = timed(|| {
        client.query(
            "SELECT account_key, metric, (at AT TIME ZONE 'UTC')::date, sum(quantity) \
             FROM usage GROUP BY 1, 2, 3",
            &[],
        )
    });
    let groups = groups?.len();
    println!(
        "PostgreSQL daily sums aggregated in the database, {groups} rows fetched: {:.2} s",
        t.as_secs_f64()
    );
    Ok(())
}

fn timed<T>(f: impl FnOnce() -> T) -> (T, Duration) {
    let started = Instant::now();
    let out = f();
    (out, started.elapsed())
}

fn bill(company: &CompanySnapshot, usage: &UsageTable, first: u64) -> Result<BillingRun> {
    let options = RunOptions {
        run_date: kit::RUN_DATE,
        first_invoice_number: first,
        dispatch_erp: None,
    };
    Ok(run(&company.data(usage), &options)?)
}

fn record(store: &mut impl Store, run: &BillingRun) -> Result<()> {
    store.apply(Batch::one(Change::RecordRun {
        invoices: run.invoices.clone(),
        billed: run.billed.clone(),
        billed_usage: run.billed_usage.clone(),
    }))?;
    Ok(())
}

fn main() {
    if let Err(e) = args().and_then(|a| store_kit(&a)) {
        eprintln!("plock-store-kit: {e:#}");
        std::process::exit(1);
    }
}

fn store_kit(args: &Args) -> Result<()> {
    let mut company = kit::load_rest(&args.data)?;
    kit::history(&mut company.subscriptions, kit::RUN_DATE);
    let batch = company_batch(&company);
    let mut pg = PostgresStore::create(&args.postgres)?;
    let mut lite = SqliteStore::create(&args.sqlite)?;
    let (r, t) = timed(|| pg.apply(batch.clone()));
    r?;
    println!("company into PostgreSQL: {:.2} s", t.as_secs_f64());
    let (r, t) = timed(|| lite.apply(batch));
    r?;
    println!("company into SQLite:     {:.2} s", t.as_secs_f64());

    match &args.usage_csv {
        Some(path) => import_usage(path, &mut pg, &mut lite)?,
        None => add_usage(&args.data, &mut pg, &mut lite)?,
    }

    if args.usage_csv.is_none() {
        read_usage_ways(&pg, &args.postgres)?;
    }

    // The run: read, bill, record; PostgreSQL then SQLite.
    let started = Instant::now();
    let (pg_company, pg_usage) = pg.run_input()?;
    let pg_run = bill(&pg_company, &pg_usage, pg.next_invoice_number()?)?;
    let (r, pg_record) = timed(|| record(&mut pg, &pg_run));
    r?;
    let pg_bill = started.elapsed();
    let started = Instant::now();
    let (lite_company, lite_usage) = lite.run_input()?;
    let lite_run = bill(&lite_company, &lite_usage, lite.next_invoice_number()?)?;
    let (r, lite_record) = timed(|| record(&mut lite, &lite_run));
    r?;
    let lite_bill = started.elapsed();
    println!(
        "record alone: PostgreSQL {:.2} s, SQLite {:.2} s, ratio {:.2}",
        pg_record.as_secs_f64(),
        lite_record.as_secs_f64(),
        pg_record.as_secs_f64() / lite_record.as_secs_f64()
    );
    println!(
        "bill (read, run, record {} invoices): PostgreSQL {:.2} s, SQLite {:.2} s, ratio {:.2}",
        pg_run.invoices.len(),
        pg_bill.as_secs_f64(),
        lite_bill.as_secs_f64(),
        pg_bill.as_secs_f64() / lite_bill.as_secs_f64()
    );
    if pg_run.invoices != lite_run.invoices {
        bail!("the two stores' runs differ");
    }
    one_account(&mut pg, "PostgreSQL")?;
    one_account(&mut lite, "SQLite")?;
    if let Some(out) = &args.out {
        let aggregates = kit::aggregates(&company, &pg_usage)?;
        kit::write_results(
            out,
            &kit::KitResults::of(pg_run.invoices.clone())?,
            &aggregates,
        )?;
        println!("results of the PostgreSQL run written to {}", out.display());
    }
    Ok(())
}

/// The median of 21 one-account writes (a new account, one batch each) and of 21 reads of
/// one account, on a store holding the kit's company.
fn one_account(store: &mut impl Store, name: &str) -> Result<()> {
    let mut writes = Vec::new();
    let mut reads = Vec::new();
    for i in 0..21 {
        let id = plock_core::AccountId::new(format!("one-{i}"))?;
        let account = plock_core::Account::new(
            id.clone(),
            AccountKey::new(format!("one-{i}"))?,
            plock_core::account::AccountName::new("One account")?,
            plock_core::account::Contact::default(),
            plock_core::Currency::EUR,
            kit::RUN_DATE,
        );
        let (r, t) = timed(|| store.apply(Batch::one(Change::AddAccount { account })));
        r?;
        writes.push(t);
        let (r, t) = timed(|| store.account(&id));
        r?.ok_or_else(|| anyhow!("account {id} not found"))?;
        reads.push(t);
    }
    writes.sort();
    reads.sort();
    let ms = |d: Option<&Duration>| d.map_or(0.0, |d| d.as_secs_f64() * 1000.0);
    println!(
        "{name}: one-account write median {:.2} ms (max {:.2}), read median {:.2} ms (max {:.2})",
        ms(writes.get(10)),
        ms(writes.last()),
        ms(reads.get(10)),
        ms(reads.last())
    );
    Ok(())
}
