//! Importing an accounts or a subscriptions file: checked with a bar of the rows on a
//! terminal, counted in rows, and written in one batch, each refused change named by its row.

use std::collections::BTreeSet;
use std::path::Path;

use plock_core::SubscriptionId;
use plock_core::store::Change;

use crate::app::{Opened, subject, today};
use crate::backend::Backend;
use crate::cli::ImportKind;
use crate::exit::CliError;
use crate::files::read;
use crate::import_report::ImportReport;
use crate::progress::Progress;
use crate::rows::Rows;
use crate::store_errors::store_error;

type Result<T> = std::result::Result<T, CliError>;

/// Imports `path` (accounts or subscriptions, as `report.kind` says) into `s`, filling in
/// `report`; `rejected` words a refused file.
pub fn import(
    s: &mut Opened,
    path: &Path,
    report: &mut ImportReport,
    rejected: impl Fn(&plock_core::import::ImportErrors) -> CliError,
) -> Result<()> {
    let file = report.file.clone();
    let bytes = read(path)?;
    let (batch, rows) = match report.kind {
        ImportKind::Accounts => {
            let book = s.store.account_book().map_err(store_error)?;
            let checking = Progress::rows(&format!("checking {file}"), "rows");
            let planned =
                plock_core::import::plan_account_import_counted(&bytes, &book, today(), &checking);
            drop(checking);
            let batch = planned.map_err(|e| rejected(&e))?;
            let rows = crate::rows::scan(&bytes, "key");
            count_accounts(&batch.changes, &rows, report);
            (batch, rows)
        }
        ImportKind::Subscriptions | ImportKind::Usage => {
            let company = s.store.company_without_usage().map_err(store_error)?;
            let checking = Progress::rows(&format!("checking {file}"), "rows");
            let planned = plock_core::import::plan_subscription_import_counted(
                &bytes,
                &company.accounts,
                &company.subscriptions,
                &company.metrics,
                &checking,
            );
            drop(checking);
            let batch = planned.map_err(|e| rejected(&e))?;
            let rows = crate::rows::scan(&bytes, "subscription_id");
            let stored: BTreeSet<&SubscriptionId> =
                company.subscriptions.iter().map(|s| s.id()).collect();
            count_subscriptions(&batch.changes, &rows, &stored, report);
            (batch, rows)
        }
    };
    // The rows behind the changes name the row of a refused change.
    let describe = |store: &dyn Backend, change: &Change| row_of(store, Some(&rows), change);
    if report.dry_run {
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
    Ok(())
}

/// Counts an accounts import: rows, accounts added, updated and left as they are.
fn count_accounts(changes: &[Change], rows: &Rows, report: &mut ImportReport) {
    let mut added = BTreeSet::new();
    let mut touched = BTreeSet::new();
    for change in changes {
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
}

/// Counts a subscriptions import: rows, subscriptions added (not in `stored`), updated and
/// left as they are, and new metrics.
fn count_subscriptions(
    changes: &[Change],
    rows: &Rows,
    stored: &BTreeSet<&SubscriptionId>,
    report: &mut ImportReport,
) {
    let mut metrics = 0;
    for change in changes {
        match change {
            Change::PutSubscription { subscription } => {
                if stored.contains(subscription.id()) {
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
