//! The kit's CSV files: a header, then `,`-separated fields without quoting, an empty field
//! for NULL. Read line by line; every error names the file and the line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::str::FromStr;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{DateTime, NaiveDate};
use rust_decimal::Decimal;

/// One data row, its fields read by column name.
pub(crate) struct Row<'a> {
    columns: &'a [&'a str],
    fields: Vec<&'a str>,
}

impl<'a> Row<'a> {
    /// The field of `column`, `None` when empty (NULL).
    pub(crate) fn optional(&self, column: &str) -> Result<Option<&'a str>> {
        let at = self
            .columns
            .iter()
            .position(|c| *c == column)
            .ok_or_else(|| anyhow!("no column {column:?}"))?;
        let field = self
            .fields
            .get(at)
            .copied()
            .ok_or_else(|| anyhow!("no field for column {column:?}"))?;
        Ok(Some(field).filter(|f| !f.is_empty()))
    }

    /// The field of `column`, which must not be empty.
    pub(crate) fn text(&self, column: &str) -> Result<&'a str> {
        self.optional(column)?
            .ok_or_else(|| anyhow!("column {column:?} is empty"))
    }

    /// The field of `column` parsed as a `T`.
    pub(crate) fn parse<T: FromStr>(&self, column: &str) -> Result<T>
    where
        T::Err: std::error::Error + Send + Sync + 'static,
    {
        let text = self.text(column)?;
        text.parse()
            .with_context(|| format!("column {column:?}: {text:?}"))
    }

    /// The field of `column` as an exact decimal, `None` when empty.
    pub(crate) fn decimal(&self, column: &str) -> Result<Option<Decimal>> {
        self.optional(column)?
            .map(|text| {
                Decimal::from_str_exact(text)
                    .with_context(|| format!("column {column:?}: {text:?}"))
            })
            .transpose()
    }

    /// The UTC date of the epoch milliseconds in `column`, `None` when empty.
    pub(crate) fn date_of_ms(&self, column: &str) -> Result<Option<NaiveDate>> {
        self.optional(column)?
            .map(|text| {
                let ms: i64 = text
                    .parse()
                    .with_context(|| format!("column {column:?}: {text:?}"))?;
                DateTime::from_timestamp_millis(ms)
                    .map(|at| at.date_naive())
                    .ok_or_else(|| anyhow!("column {column:?}: {ms} ms is out of range"))
            })
            .transpose()
    }
}

/// Calls `each` with every data row of the file at `path`, whose header must be `columns`.
///
/// # Errors
/// An unreadable file, another header, a row without as many fields as columns, or an error of
/// `each`; each names the file and the line.
pub(crate) fn for_each_row(
    path: &Path,
    columns: &[&str],
    mut each: impl FnMut(&Row<'_>) -> Result<()>,
) -> Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut lines = BufReader::new(file).lines();
    let header = lines
        .next()
        .transpose()?
        .ok_or_else(|| anyhow!("{}: no header", path.display()))?;
    if !header.trim_end().split(',').eq(columns.iter().copied()) {
        bail!(
            "{}: header {header:?}, expected {columns:?}",
            path.display()
        );
    }
    for (index, line) in lines.enumerate() {
        let place = || format!("{} line {}", path.display(), index.saturating_add(2));
        let line = line.with_context(place)?;
        let fields: Vec<&str> = line.trim_end().split(',').collect();
        if fields.len() != columns.len() {
            bail!(
                "{}: {} fields, expected {}",
                place(),
                fields.len(),
                columns.len()
            );
        }
        each(&Row { columns, fields }).with_context(place)?;
    }
    Ok(())
}
