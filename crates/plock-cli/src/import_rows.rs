//! Importing an accounts or a subscriptions file: checked with a bar of the rows on a
//! terminal, counted in rows, and written in one batch, each refused change named by its row.

use std::collections::BTreeSet;
use std::path::Path;

use plock_core::import::{ImportErrors, ImportPlan};
use plock_core::store::Change;
use plock_core::{AccountId, SubscriptionId};

use crate::app::{Opened, subject, today};
use crate::backend::Backend;
use crate::cli::ImportKind;
use crate::exit::CliError;
use crate::import_input::Input;
use crate::import_report::ImportReport;
use crate::store_errors::store_error;

type Result<T> = std::result::Result<T, CliError>;

/// Imports `path` (accounts or subscriptions, as `report.kind` says) into `s`, filling in
/// `report`; `rejected` words a refused file.
pub fn import(
    s: &mut Opened,
    path: &Path,
    report: &mut ImportReport,
    rejected: impl Fn(&ImportErrors) -> CliError,
) -> Result<()> {
    let file = report.file.clone();
    let (input, read_error) = Input::open(path, &format!("checking {file}"))?;
    // A failing read is the file's reading, not its content.
    let refused = |e: &ImportErrors| read_error.of(path).unwrap_or_else(|| rejected(e));
    // The book read to check the rows is the store's for the batch, if nothing is written
    // meanwhile: it is not read twice.
    let (mut plan, book, mark) = match report.kind {
        ImportKind::Accounts => {
            let (book, mark) = s.store.account_book_marked().map_err(store_error)?;
            let planned = plock_core::import::plan_account_import_from(input, &book, today(), &());
            let plan = planned.map_err(|e| refused(&e))?;
            count_accounts(&plan, report);
            (plan, book, mark)
        }
        ImportKind::Subscriptions | ImportKind::Usage => {
            let (company, mark) = s.store.company_marked().map_err(store_error)?;
            let planned = plock_core::import::plan_subscription_import_from(
                input,
                &company.accounts,
                &company.subscriptions,
                &company.metrics,
                &(),
            );
            let plan = planned.map_err(|e| refused(&e))?;
            let stored: BTreeSet<&SubscriptionId> =
                company.subscriptions.iter().map(|s| s.id()).collect();
            count_subscriptions(&plan, &stored, report);
            (plan, company.accounts, mark)
        }
    };
    let batch = std::mem::take(&mut plan.batch);
    // The rows behind the changes name the row of a refused change.
    if report.dry_run {
        let describe =
            |store: &dyn Backend, change: &Change| row_of(store, &plan, &Subject::of(change));
        s.check_described(&batch, &describe)
            .map_err(|e| e.prefixed(format!("{file}: would be refused; ")))?;
    } else if !batch.changes.is_empty() {
        // What names each change, not the changes: the store holds the batch meanwhile. A
        // batch of one is named by the command.
        let subjects: Vec<Subject> = if batch.changes.len() > 1 {
            batch.changes.iter().map(Subject::of).collect()
        } else {
            Vec::new()
        };
        let name = |store: &dyn Backend, index: usize| {
            subjects
                .get(index)
                .map(|subject| row_of(store, &plan, subject))
        };
        let prefix = format!("{file}: nothing imported; ");
        let save = || s.commit_named(batch, book, mark, &name);
        crate::progress::step(&format!("saving {file}"), save).map_err(|e| e.prefixed(prefix))?;
        report.written = true;
    }
    Ok(())
}

/// What a change of an import names: a subscription, an account, or something the change
/// itself says.
enum Subject {
    Subscription(SubscriptionId),
    Account(AccountId),
    Other(String),
}

impl Subject {
    fn of(change: &Change) -> Subject {
        match change {
            Change::PutSubscription { subscription } => {
                Subject::Subscription(subscription.id().clone())
            }
            other => match other.account() {
                Some(id) => Subject::Account(id.clone()),
                None => Subject::Other(subject(change)),
            },
        }
    }
}

/// Counts an accounts import: rows, accounts added, updated and left as they are.
fn count_accounts(plan: &ImportPlan, report: &mut ImportReport) {
    let mut added = BTreeSet::new();
    let mut touched = BTreeSet::new();
    for change in &plan.batch.changes {
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
    report.rows = plan.rows;
    report.added = added.len();
    report.updated = touched.difference(&added).count();
    report.unchanged = plan
        .keys()
        .saturating_sub(report.added)
        .saturating_sub(report.updated);
}

/// Counts a subscriptions import: rows, subscriptions added (not in `stored`), updated and
/// left as they are, and new metrics.
fn count_subscriptions(
    plan: &ImportPlan,
    stored: &BTreeSet<&SubscriptionId>,
    report: &mut ImportReport,
) {
    let mut metrics = 0;
    for change in &plan.batch.changes {
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
    report.rows = plan.rows;
    report.unchanged = plan
        .keys()
        .saturating_sub(report.added)
        .saturating_sub(report.updated);
    report.new_metrics = Some(metrics);
}

/// Names the row of an import file a change came from: `line 3 (account acme)`.
fn row_of(store: &dyn Backend, plan: &ImportPlan, change: &Subject) -> String {
    let (what, key) = match change {
        Subject::Subscription(id) => ("subscription", id.to_string()),
        Subject::Account(id) => {
            // Accounts are found by the key the file names; an imported account's id is its
            // key, an older one may have another.
            let key = store
                .account(id)
                .ok()
                .flatten()
                .map_or_else(|| id.to_string(), |a| a.key().to_string());
            ("account", key)
        }
        Subject::Other(text) => return text.clone(),
    };
    match plan.line_of(&key) {
        Some(line) => format!("line {line} ({what} {key})"),
        None => format!("{what} {key}"),
    }
}
