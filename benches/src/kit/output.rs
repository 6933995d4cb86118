//! The kit's four result files: account_aggregates.csv, owner_aggregates.csv,
//! invoice_lines.csv and invoices.csv, in the formats of the kit's README.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plock_core::period::Period;
use plock_core::usage::Aggregation;
use plock_core::{Metric, MetricId, UsageTable};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use super::Company;
use super::results::KitResults;

/// A quantity and the number of records it adds up.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Total {
    /// The exact sum of the quantities.
    pub quantity: Decimal,
    /// How many records.
    pub records: u64,
}

impl Total {
    fn add(&mut self, other: Total) -> Result<()> {
        self.quantity = self
            .quantity
            .checked_add(other.quantity)
            .ok_or_else(|| anyhow!("quantity sum overflows"))?;
        self.records = self.records.saturating_add(other.records);
        Ok(())
    }
}

/// Usage in each account's window: per (account, metric), and rolled up per (invoice owner,
/// metric) over the owner and the children it bills.
#[derive(Debug, Default)]
pub struct Aggregates {
    /// Per (account, metric), in order.
    pub accounts: Vec<((u64, u64), Total)>,
    /// Per (owner, metric).
    pub owners: BTreeMap<(u64, u64), Total>,
}

/// The aggregates of `usage` over each account's window (the period ending on the run date):
/// the table aggregates every group once per distinct window, and each group keeps its
/// account's.
///
/// # Errors
/// An account without a window, ids that are not numbers, or an overflowing sum.
pub fn aggregates(company: &Company, usage: &UsageTable) -> Result<Aggregates> {
    let groups = group_windows(company, usage)?;
    let windows: BTreeSet<Period> = groups.iter().map(|(_, window)| *window).collect();
    let metric_ids: BTreeSet<&MetricId> = usage.groups().map(|(_, m, _)| m).collect();
    let catalogue = |aggregation| -> Vec<Metric> {
        let metric = |id: &&MetricId| Metric {
            id: (*id).clone(),
            aggregation,
        };
        metric_ids.iter().map(metric).collect()
    };
    let (sum, count) = (catalogue(Aggregation::Sum), catalogue(Aggregation::Count));
    let mut accounts = Vec::new();
    for window in windows {
        let quantities = usage.aggregate_all(&sum, &window);
        let records = usage.aggregate_all(&count, &window);
        let each = groups.iter().zip(quantities).zip(records);
        for (((key, its), quantity), records) in each {
            if *its != window {
                continue;
            }
            let overflow = || anyhow!("usage of {key:?} overflows");
            let records = records.and_then(|r| r.to_u64()).ok_or_else(overflow)?;
            if records > 0 {
                let quantity = quantity.ok_or_else(overflow)?;
                accounts.push((*key, Total { quantity, records }));
            }
        }
    }
    accounts.sort_unstable_by_key(|(key, _)| *key);
    let mut owners: BTreeMap<(u64, u64), Total> = BTreeMap::new();
    for ((account, metric), total) in &accounts {
        let owner = company.owner(*account);
        owners.entry((owner, *metric)).or_default().add(*total)?;
    }
    Ok(Aggregates { accounts, owners })
}

/// Every group of the table, in order: its (account, metric) as numbers and its account's
/// window.
fn group_windows(company: &Company, usage: &UsageTable) -> Result<Vec<((u64, u64), Period)>> {
    usage
        .groups()
        .map(|(key, metric, _)| {
            let account: u64 = key.as_str().parse()?;
            let window = company
                .accounts
                .get(&account)
                .and_then(|a| a.window)
                .ok_or_else(|| anyhow!("account {account} has no period ending on the run date"))?;
            Ok(((account, metric.as_str().parse()?), window))
        })
        .collect()
}

/// What the result files hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Written {
    /// Invoices.
    pub invoices: usize,
    /// Invoice lines.
    pub lines: usize,
    /// The sum of the invoices' totals.
    pub grand_total: Decimal,
}

/// Writes the four result files into `dir` (created if need be).
///
/// # Errors
/// A file that cannot be written, or an overflowing grand total.
pub fn write_results(dir: &Path, run: &KitResults, aggregates: &Aggregates) -> Result<Written> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    write_file(dir, "account_aggregates.csv", |w| {
        writeln!(w, "account_id,metric_id,quantity,records")?;
        for ((account, metric), t) in &aggregates.accounts {
            writeln!(w, "{account},{metric},{},{}", t.quantity, t.records)?;
        }
        Ok(())
    })?;
    write_file(dir, "owner_aggregates.csv", |w| {
        writeln!(w, "owner_id,metric_id,quantity,records")?;
        for ((owner, metric), t) in &aggregates.owners {
            writeln!(w, "{owner},{metric},{},{}", t.quantity, t.records)?;
        }
        Ok(())
    })?;
    write_file(dir, "invoice_lines.csv", |w| write_lines(w, run))?;
    let mut written = Written {
        invoices: run.invoices.len(),
        lines: run.line_count(),
        grand_total: Decimal::ZERO,
    };
    write_file(dir, "invoices.csv", |w| {
        writeln!(w, "owner_id,lines,total")?;
        for invoice in &run.invoices {
            let total = Decimal::new(invoice.total_cents, 2);
            writeln!(w, "{},{},{total}", invoice.owner, invoice.lines)?;
            written.grand_total = written
                .grand_total
                .checked_add(total)
                .ok_or_else(|| anyhow!("the grand total overflows"))?;
        }
        Ok(())
    })?;
    Ok(written)
}

fn write_file(
    dir: &Path,
    name: &str,
    write: impl FnOnce(&mut BufWriter<File>) -> Result<()>,
) -> Result<()> {
    let path = dir.join(name);
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    let mut w = BufWriter::with_capacity(1 << 20, file);
    write(&mut w)
        .and_then(|()| Ok(w.flush()?))
        .with_context(|| format!("writing {}", path.display()))
}

/// invoice_lines.csv: one row per line; fixed lines have no metric and no quantity.
fn write_lines(w: &mut impl Write, run: &KitResults) -> Result<()> {
    writeln!(
        w,
        "owner_id,source_account_id,item_id,metric_id,quantity,amount"
    )?;
    for (owner, line) in run.each_line() {
        let (source, item) = (line.source, line.item);
        let amount = Decimal::new(line.amount_cents, 2);
        match line.metric {
            Some(metric) => writeln!(
                w,
                "{owner},{source},{item},{metric},{},{amount}",
                line.quantity()
            )?,
            None => writeln!(w, "{owner},{source},{item},,,{amount}")?,
        }
    }
    Ok(())
}
