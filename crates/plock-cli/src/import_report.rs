//! What an import did (or would do), as text or JSON.

use serde::Serialize;

use crate::cli::ImportKind;

/// What an import did (or, with `--dry-run`, would do), counted in rows of the file and in
/// the things they hold, not in the store's changes.
#[derive(Debug, Serialize)]
pub struct ImportReport {
    pub action: &'static str,
    pub file: String,
    #[serde(serialize_with = "kind_name")]
    pub kind: ImportKind,
    /// Data rows in the file.
    pub rows: usize,
    /// New accounts, subscriptions or usage records.
    pub added: usize,
    /// Accounts or subscriptions that exist and change.
    pub updated: usize,
    /// Accounts or subscriptions that exist and stay as they are.
    pub unchanged: usize,
    /// Metrics the subscriptions bring into the catalogue.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_metrics: Option<usize>,
    pub dry_run: bool,
    pub written: bool,
    /// Records for days their subscription has already billed in arrears.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub late: Vec<plock_core::usage::LateUsage>,
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
    /// Nothing done yet to `file`.
    pub fn new(file: String, kind: ImportKind, dry_run: bool) -> ImportReport {
        ImportReport {
            action: if dry_run { "checked" } else { "imported" },
            file,
            kind,
            rows: 0,
            added: 0,
            updated: 0,
            unchanged: 0,
            new_metrics: None,
            dry_run,
            written: false,
            late: Vec::new(),
        }
    }

    /// The report as the command says it, with the late records after it.
    pub fn text(&self) -> String {
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
