//! Accounts and subscriptions files read from any reader a chunk at a time: every row checked
//! with the same rules as a file read whole, and every problem reported at its line. Memory
//! holds one chunk of text and what the rows plan, never the whole file.

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;

use super::chunks::{Chunks, SIZES, Sizes};
use super::progress::RowProgress;
use super::table::{ImportErrors, Row, Table};
use crate::book::AccountBook;
use crate::store::Batch;
use crate::subscription::Subscription;
use crate::usage::Metric;

/// A checked import file's plan: the batch that imports it, and the rows it came from, so a
/// refused change can be named by its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportPlan {
    /// The changes, for the store's atomic apply.
    pub batch: Batch,
    /// Data rows read (blank rows not counted).
    pub rows: usize,
    /// The first line of each key (`key` of an accounts file, `subscription_id` of a
    /// subscriptions file), as written, trimmed.
    first_lines: HashMap<String, u64>,
}

impl ImportPlan {
    /// The first line (the header is line 1) holding `key` in the file's key column.
    pub fn line_of(&self, key: &str) -> Option<u64> {
        self.first_lines.get(key).copied()
    }

    /// How many distinct keys the file holds.
    pub fn keys(&self) -> usize {
        self.first_lines.len()
    }
}

/// What reading a file's rows found besides what each row gave.
struct RowsRead {
    rows: usize,
    first_lines: HashMap<String, u64>,
}

/// Reads `input` a chunk at a time, giving each row to `each` with its chunk's table;
/// problems of the text (the header, rows that are not records) go to `errors`.
fn read_rows<R: Read>(
    input: R,
    columns: (&[&str], &[&str], &str),
    sizes: Sizes,
    progress: &dyn RowProgress,
    errors: &mut ImportErrors,
    mut each: impl FnMut(&Table, &Row, &mut ImportErrors),
) -> RowsRead {
    let (known, required, key) = columns;
    let mut chunks = Chunks::new(input, known, required, sizes);
    let mut read = RowsRead {
        rows: 0,
        first_lines: HashMap::new(),
    };
    loop {
        let mut table = match chunks.next_table() {
            Ok(Some(table)) => table,
            Ok(None) => break,
            Err(problems) => {
                errors.append(problems);
                break;
            }
        };
        errors.append(std::mem::take(&mut table.problems));
        for row in &table.rows {
            if let Some(cell) = table.cell(row, key)
                && !read.first_lines.contains_key(cell)
            {
                read.first_lines.insert(cell.to_owned(), row.line);
            }
            each(&table, row, errors);
        }
        read.rows = read.rows.saturating_add(table.rows.len());
        progress.checked(u64::try_from(table.rows.len()).unwrap_or(u64::MAX));
    }
    read
}

/// [`plan_account_import`](crate::import::plan_account_import) of a file read from `input` a
/// chunk at a time, whatever its size (up to
/// [`MAX_STREAMED_ROWS`](crate::import::MAX_STREAMED_ROWS) rows), telling `progress` each
/// chunk of rows checked.
///
/// # Errors
/// Every problem of the file at once, a failing `input` among them; nothing is planned when
/// there is one.
pub fn plan_account_import_from<R: Read>(
    input: R,
    book: &AccountBook,
    today: NaiveDate,
    progress: &dyn RowProgress,
) -> Result<ImportPlan, ImportErrors> {
    plan_accounts(input, book, today, SIZES, progress)
}

/// [`plan_account_import_from`], reading chunks of `sizes`.
pub(crate) fn plan_accounts<R: Read>(
    input: R,
    book: &AccountBook,
    today: NaiveDate,
    sizes: Sizes,
    progress: &dyn RowProgress,
) -> Result<ImportPlan, ImportErrors> {
    let mut errors = ImportErrors::default();
    let mut rows = Vec::new();
    let columns = (
        super::accounts::ACCOUNT_COLUMNS.as_slice(),
        super::accounts::REQUIRED.as_slice(),
        "key",
    );
    let read = read_rows(
        input,
        columns,
        sizes,
        progress,
        &mut errors,
        |table, row, errors| {
            rows.extend(super::accounts::parse_row(table, row, today, errors));
        },
    );
    super::account_checks::check_rows_together(&read.first_lines, &rows, book, &mut errors);
    errors.into_result(())?;
    Ok(ImportPlan {
        batch: super::accounts::plan(rows, book),
        rows: read.rows,
        first_lines: read.first_lines,
    })
}

/// [`plan_subscription_import`](crate::import::plan_subscription_import) of a file read from
/// `input` a chunk at a time, whatever its size (up to
/// [`MAX_STREAMED_ROWS`](crate::import::MAX_STREAMED_ROWS) rows), telling `progress` each
/// chunk of rows checked. Its rows are gathered by subscription as they are read.
///
/// # Errors
/// Every problem of the file at once, a failing `input` among them.
pub fn plan_subscription_import_from<R: Read>(
    input: R,
    book: &AccountBook,
    existing: &[Subscription],
    metrics: &[Metric],
    progress: &dyn RowProgress,
) -> Result<ImportPlan, ImportErrors> {
    let stored = (existing, metrics);
    plan_subscriptions(input, book, stored, SIZES, progress)
}

/// [`plan_subscription_import_from`], reading chunks of `sizes`; `stored` are the stored
/// subscriptions and metrics.
pub(crate) fn plan_subscriptions<R: Read>(
    input: R,
    book: &AccountBook,
    stored: (&[Subscription], &[Metric]),
    sizes: Sizes,
    progress: &dyn RowProgress,
) -> Result<ImportPlan, ImportErrors> {
    let (existing, metrics) = stored;
    let mut errors = ImportErrors::default();
    let mut gathered = super::subscriptions::Gathered::new(metrics);
    let columns = (
        super::subscriptions::SUBSCRIPTION_COLUMNS.as_slice(),
        super::subscriptions::REQUIRED.as_slice(),
        "subscription_id",
    );
    let read = read_rows(
        input,
        columns,
        sizes,
        progress,
        &mut errors,
        |table, row, errors| {
            if let Some(parsed) = super::subscription_rows::parse_row(table, row, errors) {
                gathered.add(parsed, errors);
            }
        },
    );
    let changes = gathered.plan(book, existing, &mut errors);
    errors.into_result(ImportPlan {
        batch: Batch { changes },
        rows: read.rows,
        first_lines: read.first_lines,
    })
}

#[cfg(test)]
#[path = "streamed_tests.rs"]
mod tests;
