//! What a billing run reads from a PostgreSQL store, and the ways it can read its usage,
//! alternated on one database (one that `plock-store-kit` filled):
//!
//! ```sh
//! cargo run --release -p plock-benches --bin plock-store-read -- "host=… dbname=…" [ROUNDS]
//! ```
// Seconds are for people to read: floats are fine here.
#![allow(clippy::float_arithmetic)]

use std::time::Instant;

use anyhow::{Result, anyhow};
use plock_core::Store;
use plock_core::usage::UsageTable;
use plock_store_postgres::PostgresStore;

fn main() {
    if let Err(e) = reads() {
        eprintln!("plock-store-read: {e:#}");
        std::process::exit(1);
    }
}

fn reads() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let config = args.next().ok_or_else(|| anyhow!("a connection string"))?;
    let rounds: usize = args.next().map_or(Ok(2), |r| r.parse())?;
    let store = PostgresStore::open(&config)?;
    for round in 1..=rounds {
        let started = Instant::now();
        let (company, usage) = store.run_input()?;
        println!(
            "round {round}: what a billing run reads (run_input) {:.2} s ({} subscriptions, {} \
             records)",
            started.elapsed().as_secs_f64(),
            company.subscriptions.len(),
            usage.len()
        );
        drop((company, usage));
        let started = Instant::now();
        let table = store.usage_table()?;
        let copy = started.elapsed().as_secs_f64();
        let started = Instant::now();
        let company = store.company()?;
        let records = UsageTable::from_records(&company.usage)?;
        let query = started.elapsed().as_secs_f64();
        println!(
            "round {round}: binary COPY into the table {copy:.2} s; query, records, table \
             {query:.2} s ({} and {} records)",
            table.len(),
            records.len()
        );
    }
    Ok(())
}
