//! Files in and out: CSV import, export, discovery, invoice export.

use std::path::Path;

use plock_core::account::ExternalSystem;
use plock_core::import::ImportErrors;
use plock_core::store::Change;
use plock_core::{AccountId, Invoice};
use serde::Serialize;

use crate::app::{Opened, invalid, today};
use crate::cli::{ExportKind, ImportKind};
use crate::discover_missing::Missing;
use crate::exit::{Class, CliError, fail};
use crate::files::{name, read, write_out};
use crate::import_report::ImportReport;
use crate::out::json;
use crate::store_errors::store_error;

type Result<T> = std::result::Result<T, CliError>;

/// Every problem of a refused file: the summary and a line per problem as text, the list as
/// `problems` in JSON.
fn rejected(path: &Path, errors: &ImportErrors) -> CliError {
    let mut error = fail(Class::Validation, format!("{}: {errors}", name(path)));
    error.problems = serde_json::to_value(errors.errors()).ok();
    error
}

/// `plock import accounts|subscriptions|usage FILE [--dry-run]`: all rows or none.
pub fn import(
    mut s: Opened,
    kind: ImportKind,
    path: &Path,
    dry_run: bool,
    as_json: bool,
) -> Result<String> {
    let mut report = ImportReport::new(name(path), kind, dry_run);
    match kind {
        ImportKind::Usage => import_usage(&mut s, path, &mut report)?,
        ImportKind::Accounts | ImportKind::Subscriptions => {
            crate::import_rows::import(&mut s, path, &mut report, |errors| rejected(path, errors))?;
        }
    }
    if as_json {
        json(&report)
    } else {
        Ok(report.text())
    }
}

/// `plock import usage FILE`: usage for days already billed in arrears is said, never taken in
/// silently.
fn import_usage(s: &mut Opened, path: &Path, report: &mut ImportReport) -> Result<()> {
    let book = s.store.account_book().map_err(store_error)?;
    // Only subscriptions billed in arrears make usage late.
    let subscriptions = s.store.billed_in_arrears().map_err(store_error)?;
    let mut late = plock_core::usage::LateFinder::new(&book, &subscriptions);
    let mut unread = None;
    let file = report.file.clone();
    let rows = crate::import_usage::import(
        s,
        &book,
        path,
        &file,
        report.dry_run,
        |errors| rejected(path, errors),
        |block| {
            if let Err(e) = late.add(block) {
                unread.get_or_insert(e);
            }
        },
    )?;
    if let Some(e) = unread {
        return Err(fail(Class::Io, format!("{file}: {e}")));
    }
    report.late = late.finish();
    report.rows = usize::try_from(rows).unwrap_or(usize::MAX);
    report.added = report.rows;
    report.written = !report.dry_run && rows > 0;
    Ok(())
}

/// `plock export accounts|subscriptions [--out FILE]`.
pub fn export(s: &Opened, kind: ExportKind, out: Option<&Path>, as_json: bool) -> Result<String> {
    let company = s.store.company_without_usage().map_err(store_error)?;
    let (text, count) = match kind {
        ExportKind::Accounts => (
            plock_core::import::export_accounts(&company.accounts),
            company.accounts.len(),
        ),
        ExportKind::Subscriptions => (
            plock_core::import::export_subscriptions(
                &company.accounts,
                &company.subscriptions,
                &company.metrics,
            ),
            company.subscriptions.len(),
        ),
    };
    let what = match kind {
        ExportKind::Accounts => "accounts",
        ExportKind::Subscriptions => "subscriptions",
    };
    write_out(out, text, as_json, |path| {
        (
            format!("wrote {count} {what} to {}", path.display()),
            serde_json::json!({ what: count }),
        )
    })
}

/// `plock discover FILE [--yes [--archive-missing [--keep ACCOUNT]...]]`: plan, and apply
/// with `--yes`.
pub fn discover(
    mut s: Opened,
    path: &Path,
    source: &ExternalSystem,
    yes: bool,
    missing: &Missing,
    as_json: bool,
) -> Result<String> {
    let file = name(path);
    let customers =
        plock_core::discovery::parse_source(&read(path)?).map_err(|e| rejected(path, &e))?;
    let book = s.store.account_book().map_err(store_error)?;
    let plan = plock_core::discovery::plan_discovery(source, &customers, &book, today());
    let archived = crate::discover_missing::to_archive(&s, &plan, missing)?;
    let applied = yes && (!plan.is_empty() || !archived.is_empty());
    if applied {
        let mut batch = plan.batch();
        batch
            .changes
            .extend(archived.iter().map(|id| Change::Archive { id: id.clone() }));
        s.commit(batch)
            .map_err(|e| e.prefixed(format!("{file}: nothing applied; ")))?;
    }
    if as_json {
        #[derive(Serialize)]
        struct DiscoveryReport<'a> {
            #[serde(flatten)]
            plan: &'a plock_core::discovery::SyncPlan,
            archived: &'a [AccountId],
            applied: bool,
        }
        return json(&DiscoveryReport {
            plan: &plan,
            archived: if applied { &archived } else { &[] },
            applied,
        });
    }
    let mut lines = vec![format!(
        "discovery plan from {file}: {} new candidate(s), {} update(s), {} missing from the source, {} dismissed before",
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
        if u.link {
            what.push(format!("link to {source} as {}", u.key));
        }
        for (system, id) in &u.external_ids {
            what.push(format!("{system} id {id}"));
        }
        format!("  update         {}  {}", u.account, what.join(", "))
    }));
    lines.extend(plan.missing.iter().map(|m| {
        if applied && archived.contains(m) {
            format!("  missing        {m}  (archived)")
        } else if missing.archive {
            format!("  missing        {m}  (kept)")
        } else {
            format!("  missing        {m}  (flagged; never archived automatically)")
        }
    }));
    lines.extend(
        plan.dismissed
            .iter()
            .map(|k| format!("  dismissed      {k}  (not proposed again)")),
    );
    if applied {
        lines.push("applied".to_owned());
    } else if !plan.is_empty() {
        lines.push("nothing applied; run again with --yes to apply".to_owned());
    }
    Ok(lines.join("\n"))
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
