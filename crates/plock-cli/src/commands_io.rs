//! Files in and out: CSV import, export, discovery, invoice export.

use std::path::Path;

use plock_core::{Batch, Change, ExternalSystem, ImportErrors, Invoice, Store};

use crate::app::{Session, invalid, store_error, today};
use crate::cli::{ExportKind, ImportKind};
use crate::exit::{Class, CliError, fail};

type Result<T> = std::result::Result<T, CliError>;

fn read(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| fail(Class::Io, format!("cannot read {}: {e}", path.display())))
}

fn rejected(path: &Path, errors: ImportErrors) -> CliError {
    fail(Class::Validation, format!("{}: {errors}", path.display()))
}

/// A spinner for work over 10,000 items; indicatif hides it when stderr is not a terminal.
pub fn spinner(items: usize, message: String) -> Option<indicatif::ProgressBar> {
    (items > 10_000).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(message);
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    })
}

/// `plock import accounts|subscriptions|usage FILE`: all rows or none.
pub fn import(mut s: Session, kind: ImportKind, path: &Path) -> Result<String> {
    let bytes = read(path)?;
    let bar = spinner(bytes.len() / 40, format!("importing {}", path.display()));
    let batch = match kind {
        ImportKind::Accounts => plock_core::plan_account_import(&bytes, s.store.book(), today()),
        ImportKind::Subscriptions => {
            let company = s.store.company().map_err(store_error)?;
            plock_core::plan_subscription_import(
                &bytes,
                &company.accounts,
                &company.subscriptions,
                &company.metrics,
            )
        }
        ImportKind::Usage => plock_core::parse_usage(&bytes, s.store.book()).map(|records| {
            if records.is_empty() {
                Batch::default()
            } else {
                Batch::one(Change::AddUsage { records })
            }
        }),
    };
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let batch = batch.map_err(|e| rejected(path, e))?;
    let count = match kind {
        ImportKind::Usage => batch
            .changes
            .iter()
            .map(|c| {
                if let Change::AddUsage { records } = c {
                    records.len()
                } else {
                    0
                }
            })
            .sum(),
        _ => batch.changes.len(),
    };
    if batch.changes.is_empty() {
        return Ok(format!(
            "{}: nothing to change (already imported)",
            path.display()
        ));
    }
    s.commit(batch)?;
    let what = match kind {
        ImportKind::Accounts | ImportKind::Subscriptions => "change(s)",
        ImportKind::Usage => "usage record(s)",
    };
    Ok(format!(
        "{}: imported, {count} {what} applied",
        path.display()
    ))
}

/// `plock export accounts|subscriptions [--out FILE]`.
pub fn export(s: &Session, kind: ExportKind, out: Option<&Path>) -> Result<String> {
    let company = s.store.company().map_err(store_error)?;
    let text = match kind {
        ExportKind::Accounts => plock_core::export_accounts(&company.accounts),
        ExportKind::Subscriptions => plock_core::export_subscriptions(
            &company.accounts,
            &company.subscriptions,
            &company.metrics,
        ),
    };
    match out {
        None => Ok(text),
        Some(path) => {
            std::fs::write(path, text)
                .map_err(|e| fail(Class::Io, format!("cannot write {}: {e}", path.display())))?;
            Ok(format!("wrote {}", path.display()))
        }
    }
}

/// `plock discover FILE [--yes]`: plan, and apply with `--yes`.
pub fn discover(
    mut s: Session,
    path: &Path,
    source: &ExternalSystem,
    yes: bool,
    as_json: bool,
) -> Result<String> {
    let customers = plock_core::parse_source(&read(path)?).map_err(|e| rejected(path, e))?;
    let plan = plock_core::plan_discovery(source, &customers, s.store.book(), today());
    let mut out = if as_json {
        serde_json::to_string_pretty(&plan).map_err(|e| fail(Class::Io, e))?
    } else {
        let mut lines = vec![format!(
            "discovery plan from {}: {} new candidate(s), {} update(s), {} missing from the source, {} dismissed before",
            path.display(),
            plan.candidates.len(),
            plan.updates.len(),
            plan.missing.len(),
            plan.dismissed.len()
        )];
        lines.extend(
            plan.candidates
                .iter()
                .map(|a| format!("  new (Pending)  {}  {}", a.key(), a.name())),
        );
        lines.extend(plan.updates.iter().map(|u| {
            let mut what = Vec::new();
            if let Some(n) = &u.name {
                what.push(format!("name -> {n}"));
            }
            if u.contact.is_some() {
                what.push("contact".to_owned());
            }
            format!("  update         {}  {}", u.account, what.join(", "))
        }));
        lines.extend(
            plan.missing
                .iter()
                .map(|m| format!("  missing        {m}  (flagged; never archived automatically)")),
        );
        lines.extend(
            plan.dismissed
                .iter()
                .map(|k| format!("  dismissed      {k}  (not proposed again)")),
        );
        lines.join("\n")
    };
    if plan.is_empty() {
        return Ok(out);
    }
    if yes {
        s.commit(plan.batch())?;
        out.push_str("\napplied");
    } else {
        out.push_str("\nnothing applied; run again with --yes to apply");
    }
    Ok(out)
}

/// Invoices as CSV, one row per line (formula cells neutralised).
pub fn invoices_csv(invoices: &[Invoice]) -> Result<String> {
    let mut w = csv_writer();
    let header = [
        "invoice",
        "owner",
        "currency",
        "invoice_total",
        "kind",
        "source_account",
        "subscription",
        "product",
        "period_start",
        "period_end",
        "quantity",
        "unit_price",
        "rebate_percent",
        "amount",
    ];
    w.write_record(header).map_err(invalid)?;
    for inv in invoices {
        for l in inv.lines() {
            let kind = serde_json::to_value(l.kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            let cells = [
                inv.number().to_string(),
                inv.owner().to_string(),
                inv.currency().to_string(),
                inv.total().amount().to_string(),
                kind,
                l.source_account.to_string(),
                l.subscription
                    .as_ref()
                    .map_or(String::new(), ToString::to_string),
                l.product.to_string(),
                l.period.start().to_string(),
                l.period.end().to_string(),
                l.quantity.to_string(),
                l.unit_price.map_or(String::new(), |p| p.to_string()),
                l.rebate_percent.map_or(String::new(), |p| p.to_string()),
                l.amount.amount().to_string(),
            ];
            w.write_record(cells.iter().map(|c| {
                if c.starts_with(['=', '+', '-', '@']) {
                    format!("'{c}")
                } else {
                    c.clone()
                }
            }))
            .map_err(invalid)?;
        }
    }
    let bytes = w.into_inner().map_err(invalid)?;
    String::from_utf8(bytes).map_err(invalid)
}

fn csv_writer() -> csv::Writer<Vec<u8>> {
    csv::WriterBuilder::new().from_writer(Vec::new())
}
