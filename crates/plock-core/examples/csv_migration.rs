//! A migration from another billing system: its accounts, subscriptions and usage exports are
//! read into plock, and the first billing run is made on the migrated data.
//!
//! The accounts and subscriptions files are in plock's CSV formats (see `docs/csv.md`); the
//! usage export keeps the old system's own layout, which [`UsageLayout`] describes. Every
//! importer validates the whole file before anything is written and returns either a plan (a
//! [`Batch`] of changes) or every problem of the file at once. The plans are applied to the
//! in-memory store of `plock-store-memory`, which applies a batch entirely or not at all.
//!
//! Run it with `cargo run -p plock-core --example csv_migration`.

use std::error::Error;
use std::fmt::Write as _;

use chrono::NaiveDate;
use plock_core::account::ExternalSystem;
use plock_core::billing::{self, BillingRun, RunOptions};
use plock_core::erp;
use plock_core::import::{self, TimeFormat, UsageLayout};
use plock_core::store::{Batch, Change, Store};
use plock_store_memory::MemoryStore;

/// The old system's exports. Compiled into the example so it runs from any folder.
const ACCOUNTS_CSV: &[u8] = include_bytes!("data/accounts.csv");
const SUBSCRIPTIONS_CSV: &[u8] = include_bytes!("data/subscriptions.csv");
const USAGE_CSV: &[u8] = include_bytes!("data/usage.csv");

fn main() -> Result<(), Box<dyn Error>> {
    print!("{}", run()?);
    Ok(())
}

/// What a migration reports: the plans, the usage read, the first run and what goes to the ERP.
struct Migration {
    store: MemoryStore,
    result: BillingRun,
    log: String,
}

/// Migrates the company and describes each step, then shows how a faulty file is refused.
fn run() -> Result<String, Box<dyn Error>> {
    let migration = migrate()?;
    let mut log = migration.log;
    writeln!(log, "\nBilling run {}", migration.result.run_date)?;
    for invoice in &migration.result.invoices {
        writeln!(
            log,
            "  invoice {} to {}: {} ({} lines)",
            invoice.number(),
            invoice.owner(),
            invoice.total(),
            invoice.lines().len()
        )?;
    }
    let problems = broken_accounts_file(&migration.store)?;
    writeln!(log, "\nA faulty accounts file, refused whole:\n{problems}")?;
    Ok(log)
}

fn date(year: i32, month: u32, day: u32) -> Result<NaiveDate, Box<dyn Error>> {
    Ok(NaiveDate::from_ymd_opt(year, month, day).ok_or("no such date")?)
}

fn migrate() -> Result<Migration, Box<dyn Error>> {
    let mut log = String::new();
    let mut store = MemoryStore::new();
    // "Today" is an input: plock-core never reads the clock. It dates accounts whose file
    // row has no `created` date.
    let today = date(2025, 2, 1)?;

    // 1. Accounts: new keys become accounts, `master_key` links a child to its master.
    let plan = import::plan_account_import(ACCOUNTS_CSV, store.book(), today)?;
    writeln!(log, "accounts.csv: {} changes planned", plan.changes.len())?;
    store.apply(plan)?;

    // Importing the same file again plans nothing: rows are keyed, so a retried migration
    // cannot duplicate accounts.
    let again = import::plan_account_import(ACCOUNTS_CSV, store.book(), today)?;
    writeln!(log, "accounts.csv again: {} changes", again.changes.len())?;

    // 2. Subscriptions, one row per item; the metrics they count join the catalogue.
    let company = store.company()?;
    let plan = import::plan_subscription_import(
        SUBSCRIPTIONS_CSV,
        &company.accounts,
        &company.subscriptions,
        &company.metrics,
    )?;
    writeln!(
        log,
        "subscriptions.csv: {} changes planned",
        plan.changes.len()
    )?;
    store.apply(plan)?;

    // 3. Usage in the old system's layout: other column names, Unix seconds, and event ids
    //    that make a re-sent event count once.
    let layout = UsageLayout::default()
        .account("customer")
        .metric("event_type")
        .timestamp("occurred_at", TimeFormat::EpochSeconds)
        .quantity("units")
        .record_id("event_id");
    let usage = import::read_usage(USAGE_CSV, store.book(), &layout)?;
    writeln!(log, "usage.csv: {} records read", usage.len())?;

    // 4. The first billing run on the migrated data, numbered where the store left off.
    let company = store.company()?;
    let options = RunOptions {
        run_date: today,
        first_invoice_number: store.next_invoice_number()?,
        dispatch_erp: Some(ExternalSystem::Fortnox),
    };
    let result = billing::run(&company.data(&usage), &options)?;
    writeln!(log, "first run: {} invoices", result.invoices.len())?;

    // 5. The invoices as Fortnox imports them, addressed to each owner's customer number.
    let export = erp::export_to_erp(&result.invoices, &ExternalSystem::Fortnox);
    writeln!(
        log,
        "Fortnox: {} invoices ready, {} held",
        export.payloads.len(),
        export.not_exported.len()
    )?;

    // 6. The store records the invoices and what each subscription is billed through, in one
    //    batch: a second run on the same day finds nothing due.
    store.apply(Batch::one(Change::RecordRun {
        invoices: result.invoices.clone(),
        billed: result.billed.clone(),
        billed_usage: result.billed_usage.clone(),
    }))?;
    let company = store.company()?;
    let rerun = billing::run(&company.data(&usage), &options)?;
    writeln!(log, "Run again: {} invoices", rerun.invoices.len())?;

    Ok(Migration { store, result, log })
}

/// A file with faults: every problem is reported at once, with line, column and value, and
/// nothing is planned.
fn broken_accounts_file(store: &MemoryStore) -> Result<String, Box<dyn Error>> {
    let broken =
        "key,name,currency\nok-1,Fine Ltd,SEK\n,No Key Ltd,SEK\nbad-2,Bad Currency Ltd,SEKK\n";
    match import::plan_account_import(broken.as_bytes(), store.book(), date(2025, 2, 1)?) {
        Ok(_) => Err("the broken file was accepted".into()),
        Err(problems) => Ok(problems.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plock_core::money::{Currency, Money};
    use rust_decimal::{Decimal, dec};

    fn sek(amount: Decimal) -> Money {
        Money::new(amount, Currency::SEK)
    }

    fn total_of(result: &BillingRun, owner: &str) -> Money {
        result
            .invoices
            .iter()
            .find(|i| i.owner().as_str() == owner)
            .unwrap()
            .total()
    }

    #[test]
    fn the_migrated_company_is_billed_to_the_cent() {
        let migration = migrate().unwrap();
        let result = &migration.result;
        assert_eq!(result.invoices.len(), 3);
        // Two licences at 299.00 for January and February in advance, and 4,200 receipts at
        // 0.05: the re-sent event evt-1002 counts once.
        assert_eq!(total_of(result, "bakery-berg"), sek(dec!(1406.00)));
        // In arrears: January's licence less 10% (269.10) and 1,800 receipts (90.00).
        assert_eq!(total_of(result, "cafe-lind"), sek(dec!(359.10)));
        // The hotel group, consolidated: platform for January and February (2,400.00), the
        // master's 1,300 bookings on its graduated price (1,000 x 2.00 + 300 x 1.50 =
        // 2,450.00) and Kiruna's 400 at its own 2.00 (800.00).
        assert_eq!(total_of(result, "hotel-norr"), sek(dec!(5650.00)));
        assert!(result.unmatched.is_empty());
        assert!(result.unpriced_usage.is_empty());
        assert_eq!(migration.store.book().len(), 4);
    }

    #[test]
    fn the_log_shows_each_step() {
        let log = run().unwrap();
        assert!(log.contains("accounts.csv again: 0 changes"), "{log}");
        assert!(log.contains("usage.csv: 6 records read"), "{log}");
        assert!(log.contains("Fortnox: 3 invoices ready, 0 held"), "{log}");
        assert!(log.contains("Run again: 0 invoices"), "{log}");
    }

    #[test]
    fn a_broken_file_reports_every_problem_and_plans_nothing() {
        let store = MemoryStore::new();
        let report = broken_accounts_file(&store).unwrap();
        assert!(report.contains("line 3"), "{report}");
        assert!(report.contains("line 4"), "{report}");
        assert!(report.contains("SEKK"), "{report}");
    }
}
