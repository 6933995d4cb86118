//! Files in and out: CSV import, export, discovery, invoice export.

use std::path::Path;

use plock_core::account::ExternalSystem;
use plock_core::import::ImportErrors;
use plock_core::store::Change;
use plock_core::{AccountId, Invoice};
use serde::Serialize;

use crate::app::{Opened, invalid, store_error, subject, today};
use crate::cli::{ExportKind, ImportKind};
use crate::discover_missing::Missing;
use crate::exit::{Class, CliError, fail};
use crate::files::{name, read, write_out};
use crate::out::json;
use crate::progress::Progress;
use crate::rows::Rows;
use crate::store_open::Backend;

type Result<T> = std::result::Result<T, CliError>;

/// Every problem of a refused file: the summary and a line per problem as text, the list as
/// `problems` in JSON.
fn rejected(path: &Path, errors: &ImportErrors) -> CliError {
    let mut error = fail(Class::Validation, format!("{}: {errors}", name(path)));
    error.problems = serde_json::to_value(errors.errors()).ok();
    error
}

/// What an import did (or, with `--dry-run`, would do), counted in rows of the file and in
/// the things they hold, not in the store's changes.
#[derive(Debug, Serialize)]
struct ImportReport {
    action: &'static str,
    file: String,
    #[serde(serialize_with = "kind_name")]
    kind: ImportKind,
    /// Data rows in the file.
    rows: usize,
    /// New accounts, subscriptions or usage records.
    added: usize,
    /// Accounts or subscriptions that exist and change.
    updated: usize,
    /// Accounts or subscriptions that exist and stay as they are.
    unchanged: usize,
    /// Metrics the subscriptions bring into the catalogue.
    #[serde(skip_serializing_if = "Option::is_none")]
    new_metrics: Option<usize>,
    dry_run: bool,
    written: bool,
    /// Records for days their subscription has already billed in arrears.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    late: Vec<plock_core::usage::LateUsage>,
}

fn kind_name<S: serde::Serializer>(
    kind: &ImportKind,
    serializer: S,
) -> std::result::Result<S::Ok, S::Error> {
    serializer.serialize_str(match kind {
        ImportKind::Accounts => "accounts",
        ImportKind::Subscriptions => "subscriptions",
        ImportKind::Usage => "usage",
    })
}

impl ImportReport {
    fn text(&self) -> String {
        let thing = match self.kind {
            ImportKind::Accounts => "account",
            ImportKind::Subscriptions => "subscription",
            ImportKind::Usage => "usage record",
        };
        let mut counts = match self.kind {
            ImportKind::Accounts | ImportKind::Subscriptions => format!(
                "{} new {thing}(s), {} updated, {} unchanged",
                self.added, self.updated, self.unchanged
            ),
            ImportKind::Usage => format!("{} {thing}(s)", self.added),
        };
        if let Some(metrics) = self.new_metrics.filter(|m| *m > 0) {
            counts.push_str(&format!("; {metrics} new metric(s)"));
        }
        let summary = if self.dry_run {
            format!(
                "{}: {} row(s) valid, would import {counts}; nothing written (dry run)",
                self.file, self.rows
            )
        } else if self.written {
            format!("{}: {} row(s) imported: {counts}", self.file, self.rows)
        } else {
            format!(
                "{}: {} row(s), nothing to change (already imported)",
                self.file, self.rows
            )
        };
        let late = self.late.iter().map(|l| {
            format!(
                "\nlate: {} record(s) of {} for {} (quantity {}, from {}) fall before {}, \
                 which subscription {} has already billed in arrears: billing runs do not \
                 bill them; charge them with a one-off invoice",
                l.records,
                l.metric,
                l.account,
                l.quantity,
                l.first_day,
                l.billed_through,
                l.subscription
            )
        });
        std::iter::once(summary).chain(late).collect()
    }
}

/// `plock import accounts|subscriptions|usage FILE [--dry-run]`: all rows or none.
pub fn import(
    mut s: Opened,
    kind: ImportKind,
    path: &Path,
    dry_run: bool,
    as_json: bool,
) -> Result<String> {
    let file = name(path);
    let mut report = ImportReport {
        action: if dry_run { "checked" } else { "imported" },
        file: file.clone(),
        kind,
        rows: 0,
        added: 0,
        updated: 0,
        unchanged: 0,
        new_metrics: None,
        dry_run,
        written: false,
        late: Vec::new(),
    };
    if let ImportKind::Usage = kind {
        // Usage for days already billed in arrears is said, never taken in silently.
        let book = s.store.account_book().map_err(store_error)?;
        let subscriptions = all_subscriptions(&s)?;
        let mut late = Vec::new();
        let rows = crate::import_usage::import(
            &mut s,
            path,
            &file,
            dry_run,
            |errors| rejected(path, errors),
            |records| {
                late.extend(plock_core::usage::late_usage(
                    records,
                    &book,
                    &subscriptions,
                ));
            },
        )?;
        report.late = late;
        report.rows = usize::try_from(rows).unwrap_or(usize::MAX);
        report.added = report.rows;
        report.written = !dry_run && rows > 0;
        return if as_json {
            json(&report)
        } else {
            Ok(report.text())
        };
    }
    let bytes = read(path)?;
    let checking = Progress::step(&format!("checking {file}"));
    let planned = match kind {
        ImportKind::Accounts => {
            let book = s.store.account_book().map_err(store_error)?;
            plock_core::import::plan_account_import(&bytes, &book, today())
        }
        ImportKind::Subscriptions | ImportKind::Usage => {
            let company = s.store.company_without_usage().map_err(store_error)?;
            plock_core::import::plan_subscription_import(
                &bytes,
                &company.accounts,
                &company.subscriptions,
                &company.metrics,
            )
        }
    };
    drop(checking);
    let batch = planned.map_err(|e| rejected(path, &e))?;
    // The rows behind the changes: to count them, and to name the row of a refused change.
    let rows = match kind {
        ImportKind::Accounts => {
            let rows = crate::rows::scan(&bytes, "key");
            let mut added = std::collections::BTreeSet::new();
            let mut touched = std::collections::BTreeSet::new();
            for change in &batch.changes {
                match change {
                    Change::AddAccount { account } | Change::AddDiscovered { account } => {
                        added.insert(account.id().clone());
                    }
                    other => {
                        if let Some(id) = other.account() {
                            touched.insert(id.clone());
                        }
                    }
                }
            }
            report.rows = rows.count;
            report.added = added.len();
            report.updated = touched.difference(&added).count();
            report.unchanged = rows
                .keys()
                .saturating_sub(report.added)
                .saturating_sub(report.updated);
            Some(rows)
        }
        ImportKind::Subscriptions => {
            let rows = crate::rows::scan(&bytes, "subscription_id");
            let mut metrics = 0;
            for change in &batch.changes {
                match change {
                    Change::PutSubscription { subscription } => {
                        if s.store
                            .subscription(subscription.id())
                            .map_err(store_error)?
                            .is_some()
                        {
                            report.updated += 1;
                        } else {
                            report.added += 1;
                        }
                    }
                    Change::PutMetric { .. } => metrics += 1,
                    _ => {}
                }
            }
            report.rows = rows.count;
            report.unchanged = rows
                .keys()
                .saturating_sub(report.added)
                .saturating_sub(report.updated);
            report.new_metrics = Some(metrics);
            Some(rows)
        }
        ImportKind::Usage => None,
    };
    let describe = |store: &dyn Backend, change: &Change| row_of(store, rows.as_ref(), change);
    if dry_run {
        s.check_described(&batch, &describe)
            .map_err(|e| e.prefixed(format!("{file}: would be refused; ")))?;
    } else if !batch.changes.is_empty() {
        let prefix = format!("{file}: nothing imported; ");
        crate::progress::step(&format!("saving {file}"), || {
            s.commit_described(batch, &describe)
        })
        .map_err(|e| e.prefixed(prefix))?;
        report.written = true;
    }
    if as_json {
        json(&report)
    } else {
        Ok(report.text())
    }
}

/// Every stored subscription, page by page.
fn all_subscriptions(s: &Opened) -> Result<Vec<plock_core::Subscription>> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = s
            .store
            .list_subscriptions(&plock_core::store::SubscriptionQuery {
                account: None,
                after,
                limit: 0,
            })
            .map_err(store_error)?;
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

/// Names the row of an import file a change came from: `line 3 (account acme)`.
fn row_of(store: &dyn Backend, rows: Option<&Rows>, change: &Change) -> String {
    let keyed = match change {
        Change::PutSubscription { subscription } => {
            Some(("subscription", subscription.id().to_string()))
        }
        other => other.account().map(|id| {
            // Accounts are found by the key the file names; an imported account's id is its
            // key, an older one may have another.
            let key = store
                .account(id)
                .ok()
                .flatten()
                .map_or_else(|| id.to_string(), |a| a.key().to_string());
            ("account", key)
        }),
    };
    match keyed {
        Some((what, key)) => match rows.and_then(|r| r.line_of(&key)) {
            Some(line) => format!("line {line} ({what} {key})"),
            None => format!("{what} {key}"),
        },
        None => subject(change),
    }
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
