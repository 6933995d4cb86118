//! CSV import and export (docs/domain.md, section 10): accounts, subscriptions and usage
//! from another billing system, validated whole before anything is written, and exported in
//! the same formats.
//!
//! Importers are pure: they read bytes and the current data and return a [`Batch`](crate::store::Batch)
//! for the store's atomic apply, or every problem of the file at once.
//!
//! [`plan_account_import`] and [`plan_subscription_import`] read plock's own CSV formats;
//! [`read_usage`] reads usage in any column layout and time format ([`UsageLayout`]) into a
//! [`UsageTable`](crate::usage::UsageTable) for the billing run. [`export_accounts`] and
//! [`export_subscriptions`] write the formats back. The `csv_migration` example walks a whole
//! migration.
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::book::AccountBook;
//! use plock_core::import::plan_account_import;
//! use plock_core::store::{Change, apply_to_book};
//!
//! let today = NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?;
//! let csv = "key,name,currency,master_key,group_billing\n\
//!            globex,Globex Group,EUR,,true\n\
//!            globex-nordics,Globex Nordics,EUR,globex,\n";
//! let mut book = AccountBook::new();
//! let plan = plan_account_import(csv.as_bytes(), &book, today)?;
//! assert!(matches!(plan.changes.first(), Some(Change::AddAccount { .. })));
//! for (index, change) in plan.changes.iter().enumerate() {
//!     apply_to_book(&mut book, index, change)?;
//! }
//! let nordics = book.by_key(&"globex-nordics".parse()?).ok_or("not imported")?;
//! assert_eq!(nordics.master().map(|m| m.as_str()), Some("globex"));
//!
//! // The same file again plans nothing.
//! assert!(plan_account_import(csv.as_bytes(), &book, today)?.changes.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

/// A column list that ends with the `ext_<name>` columns, one per external system with a
/// column of its own: the accounts file, its [`EXTERNAL_COLUMNS`] and a discovery source share
/// them.
macro_rules! with_external_columns {
    ($($column:literal),* $(,)?) => {
        [
            $($column,)*
            "ext_hubspot",
            "ext_salesforce",
            "ext_fortnox",
            "ext_business_central",
            "ext_netvisor",
            "ext_kleer",
        ]
    };
}
pub(crate) use with_external_columns;

mod account_checks;
mod account_row;
mod accounts;
mod canonical;
mod chunks;
mod contact_cells;
#[cfg(test)]
mod date_tests;
mod ingest;
mod layout;
mod progress;
mod streamed;
pub mod subscription_file;
mod subscription_rows;
mod subscriptions;
pub(crate) mod table;
mod terms_cell;
mod time_format;
mod usage;
mod usage_block;
mod usage_check;
#[cfg(test)]
mod usage_check_tests;
pub mod usage_file;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

pub use accounts::{ACCOUNT_COLUMNS, EXTERNAL_COLUMNS, export_accounts};
pub use canonical::common_time;
pub use chunks::MAX_RECORD_BYTES;
pub use contact_cells::CLEAR as CLEAR_CELL;
#[cfg(feature = "fuzz-support")]
pub(crate) use ingest::fuzz_read;
pub use ingest::{ingest_usage, read_usage};
pub use layout::UsageLayout;
pub use progress::RowProgress;
pub use streamed::{
    ImportPlan, plan_account_import, plan_account_import_counted, plan_account_import_from,
    plan_subscription_import, plan_subscription_import_counted, plan_subscription_import_from,
};
pub use subscriptions::{SUBSCRIPTION_COLUMNS, export_subscriptions};
pub use table::{
    Delimiter, ImportError, ImportErrors, LineNumbers, MAX_IMPORT_BYTES, MAX_IMPORT_ROWS,
    MAX_REPORTED_ERRORS, MAX_STREAMED_ROWS,
};
pub use time_format::TimeFormat;
pub use usage::{USAGE_COLUMNS, parse_usage};
pub use usage_block::{BlockError, BlockKeys, BlockRecord, MadeUpIds, UsageBlock};
#[cfg(feature = "fuzz-support")]
pub(crate) use usage_check::reference as usage_check_reference;
pub use usage_check::{UsageChecker, UsageRow};
#[cfg(feature = "fuzz-support")]
pub(crate) use usage_file::agrees as usage_file_agrees;

use table::{Row, Table};

/// A cell's text, trimmed, with a spreadsheet neutralisation (`'=...`) undone; `None` if empty.
fn cell_text(t: &Table, row: &Row, column: &str) -> Option<String> {
    t.cell(row, column).and_then(clean_cell)
}

/// A raw cell as [`cell_text`] gives it: trimmed, neutralisation undone, `None` if empty.
fn clean_cell(raw: &str) -> Option<String> {
    clean_str(raw).map(str::to_owned)
}

/// [`clean_cell`] borrowed: the neutralisation undone is a leading `'` left out.
fn clean_str(raw: &str) -> Option<&str> {
    let v = raw.trim();
    if v.is_empty() {
        return None;
    }
    let mut chars = v.chars();
    Some(match (chars.next(), chars.next()) {
        (Some('\''), Some('=' | '+' | '-' | '@' | '\'')) => v.get(1..).unwrap_or(v),
        _ => v,
    })
}

fn parse_bool(text: &str) -> Result<bool, String> {
    match text.to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" | "on" => Ok(true),
        "false" | "no" | "0" | "off" => Ok(false),
        _ => Err("must be true or false".into()),
    }
}

fn parse_date(text: &str) -> Result<NaiveDate, String> {
    if let Some(date) = plain_date(text) {
        return Ok(date);
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|_| "not a date (write YYYY-MM-DD)".into())
}

/// A date written exactly `YYYY-MM-DD`, read without chrono's format parser (a subscriptions
/// file has four date columns a row); any other text, or no such day, is left to it.
fn plain_date(text: &str) -> Option<NaiveDate> {
    let [y1, y2, y3, y4, b'-', m1, m2, b'-', d1, d2] = *text.as_bytes() else {
        return None;
    };
    let digits = |ds: &[u8]| {
        ds.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| {
                n.saturating_mul(10)
                    .saturating_add(u32::from(d.wrapping_sub(b'0')))
            })
        })
    };
    let year = i32::try_from(digits(&[y1, y2, y3, y4])?).ok()?;
    NaiveDate::from_ymd_opt(year, digits(&[m1, m2])?, digits(&[d1, d2])?)
}

/// RFC 3339 (`2025-01-31T12:00:00Z`), or a naive `YYYY-MM-DD HH:MM:SS` / `YYYY-MM-DD` read as UTC.
fn parse_timestamp(text: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S").map(|t| t.and_utc()))
        .or_else(|_| parse_date(text).map(|d| d.and_time(chrono::NaiveTime::MIN).and_utc()))
        .map_err(|_| "not a timestamp (write 2025-01-31T12:00:00Z)".into())
}

/// A spreadsheet runs a cell starting with `=`, `+`, `-` or `@` as a formula; a leading `'`
/// makes it text. The importers undo it. A cell that itself starts with `'` gets one more, so
/// undoing gives it back: export then import is exact for every value.
fn neutralise(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@', '\'']) {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// A tiny CSV writer (quoting per RFC 4180) so export needs no I/O.
struct Csv {
    out: String,
}

impl Csv {
    fn new(header: &[&str]) -> Csv {
        let mut csv = Csv { out: String::new() };
        csv.row(header.iter().map(|h| (*h).to_owned()));
        csv
    }

    fn row(&mut self, cells: impl Iterator<Item = String>) {
        let mut first = true;
        for cell in cells {
            if !first {
                self.out.push(',');
            }
            first = false;
            if cell.contains([',', '"', '\n', '\r', ';'])
                || cell.starts_with(' ')
                || cell.ends_with(' ')
            {
                self.out.push('"');
                self.out.push_str(&cell.replace('"', "\"\""));
                self.out.push('"');
            } else {
                self.out.push_str(&cell);
            }
        }
        self.out.push('\n');
    }

    fn finish(self) -> String {
        self.out
    }
}
