//! Accounts and subscriptions files read from any reader a chunk at a time: every row checked
//! with the same rules as a file read whole, and every problem reported at its line. Memory
//! holds one chunk of text and what the rows plan, never the whole file.

use std::collections::HashMap;
use std::io::Read;

use chrono::NaiveDate;

use super::chunks::{Chunks, SIZES, Sizes};
use super::progress::RowProgress;
use super::table::{ImportErrors, Table};
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

/// Reads `input` a chunk at a time, giving each chunk's table to `each`; problems of the
/// text (the header, rows that are not records) go to `errors`.
fn read_rows<R: Read>(
    input: R,
    columns: (&[&str], &[&str], &str),
    sizes: Sizes,
    progress: &dyn RowProgress,
    errors: &mut ImportErrors,
    mut each: impl FnMut(&Table, &mut ImportErrors),
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
        }
        each(&table, errors);
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
        |table, errors| {
            for row in &table.rows {
                rows.extend(super::accounts::parse_row(table, row, today, errors));
            }
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
        |table, errors| {
            for (parsed, problems) in super::subscription_rows::parse_rows(table) {
                errors.append(problems);
                if let Some(parsed) = parsed {
                    gathered.add(parsed, errors);
                }
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

/// Validates an accounts CSV against the accounts already in `book` and plans the batch that
/// imports it. New keys become accounts (id = key); known keys with identical rows change
/// nothing, so importing a file twice is harmless; known keys whose name, contact, currency,
/// payment terms, tags or external ids differ are updated; a different state, master or
/// group-billing switch is refused (change those with the account commands).
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::AccountBook;
/// use plock_core::import::plan_account_import;
///
/// let today = NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?;
/// let csv = "key,name,currency,tags\ndentist-johnson,Dentist Johnson,SEK,dental|smb\nprospect,Prospect AB,XXX,\n";
/// // Every problem at once, with its line, column and value.
/// let problems = plan_account_import(csv.as_bytes(), &AccountBook::new(), today).unwrap_err();
/// assert_eq!(problems.total(), 1);
/// let problem = problems.errors().first().ok_or("no problem")?;
/// assert_eq!((problem.line, problem.column.as_str(), problem.value.as_str()), (3, "currency", "XXX"));
///
/// let fixed = csv.replace("XXX", "SEK");
/// let plan = plan_account_import(fixed.as_bytes(), &AccountBook::new(), today)?;
/// // Two accounts and two tags.
/// assert_eq!(plan.changes.len(), 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Every problem of the file at once; nothing is planned when there is one.
pub fn plan_account_import(
    bytes: &[u8],
    book: &AccountBook,
    today: NaiveDate,
) -> Result<Batch, ImportErrors> {
    plan_account_import_counted(bytes, book, today, &())
}

/// [`plan_account_import`], telling `progress` each chunk of rows checked.
///
/// # Errors
/// Every problem of the file at once; nothing is planned when there is one.
pub fn plan_account_import_counted(
    bytes: &[u8],
    book: &AccountBook,
    today: NaiveDate,
    progress: &dyn RowProgress,
) -> Result<Batch, ImportErrors> {
    plan_account_import_from(bytes, book, today, progress).map(|plan| plan.batch)
}

/// Validates a subscriptions CSV against the accounts, subscriptions and metric catalogue
/// already stored, and plans the batch: new metrics, new or changed subscriptions. Identical
/// subscriptions change nothing, so importing twice is harmless.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};
/// use plock_core::account::{AccountName, Contact};
/// use plock_core::import::plan_subscription_import;
/// use plock_core::store::Change;
///
/// let mut book = AccountBook::new();
/// let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
/// book.add(Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, day))?;
/// // One row per item; the subscription's own columns repeat.
/// let csv = "subscription_id,account_key,start,currency,product,metric,aggregation,model,price,quantity\n\
///            sub-globex,globex,2025-01-01,EUR,platform,,,flat_fee,2000.00,1\n\
///            sub-globex,globex,2025-01-01,EUR,emails,emails,sum,per_unit,0.004,\n";
/// let plan = plan_subscription_import(csv.as_bytes(), &book, &[], &[])?;
/// let puts: Vec<&str> = plan.changes.iter().map(|c| match c {
///     Change::PutMetric { .. } => "metric",
///     Change::PutSubscription { .. } => "subscription",
///     _ => "other",
/// }).collect();
/// // The new metric joins the catalogue, then the subscription with its two items.
/// assert_eq!(puts, ["metric", "subscription"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Every problem of the file at once.
pub fn plan_subscription_import(
    bytes: &[u8],
    book: &AccountBook,
    existing: &[Subscription],
    metrics: &[Metric],
) -> Result<Batch, ImportErrors> {
    plan_subscription_import_counted(bytes, book, existing, metrics, &())
}

/// [`plan_subscription_import`], telling `progress` each chunk of rows checked.
///
/// # Errors
/// Every problem of the file at once.
pub fn plan_subscription_import_counted(
    bytes: &[u8],
    book: &AccountBook,
    existing: &[Subscription],
    metrics: &[Metric],
    progress: &dyn RowProgress,
) -> Result<Batch, ImportErrors> {
    plan_subscription_import_from(bytes, book, existing, metrics, progress).map(|plan| plan.batch)
}

#[cfg(test)]
#[path = "streamed_tests.rs"]
mod tests;
