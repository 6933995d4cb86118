//! Usage rows straight into the engine's table.
//!
//! A billing run reads every usage row once. Each row goes into a [`UsageTableBuilder`] as it
//! is read: no `UsageRecord` and no `Vec` of the company's records is made. Account keys and
//! metrics repeat on most rows, so each distinct text is validated once and then found by its
//! bytes. A record without a record id is billed by its UTC day alone, so its time is taken
//! from the `unix_day` column instead of parsing its timestamp text; a record with one keeps
//! its full time, which decides which re-sent record counts.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use plock_core::{AccountKey, MetricId, RecordId, StoreError, UsageTable, UsageTableBuilder};
use rusqlite::Connection;
use rusqlite::types::ValueRef;

use crate::codec::{Context, backend, decimal, parse};

/// Seconds in a day.
const DAY_SECONDS: i64 = 86_400;

/// Ids seen so far, each validated once.
struct Known<T> {
    by_text: HashMap<String, T>,
    what: &'static str,
}

impl<T: Clone> Known<T> {
    fn new(what: &'static str) -> Known<T> {
        Known {
            by_text: HashMap::new(),
            what,
        }
    }

    fn get(
        &mut self,
        text: &str,
        make: impl Fn(&str) -> Result<T, String>,
    ) -> Result<&T, StoreError> {
        if !self.by_text.contains_key(text) {
            let value =
                make(text).map_err(|e| backend(format!("stored {} {text:?}: {e}", self.what)))?;
            self.by_text.insert(text.to_owned(), value);
        }
        self.by_text
            .get(text)
            .ok_or_else(|| backend(format!("stored {} {text:?} was lost", self.what)))
    }
}

fn text_of<'a>(value: ValueRef<'a>, column: &str) -> Result<&'a str, StoreError> {
    value
        .as_str()
        .map_err(|e| backend(format!("usage column {column}: {e}")))
}

/// Reads every usage row into a [`UsageTable`], in the caller's read transaction `tx`.
///
/// # Errors
/// [`StoreError::Backend`] for a failed read or a stored value that is invalid.
pub(crate) fn usage_table(tx: &Connection) -> Result<UsageTable, StoreError> {
    let count: i64 = tx
        .query_row("SELECT count(*) FROM usage", [], |row| row.get(0))
        .context("counting usage")?;
    let mut builder = UsageTableBuilder::with_capacity(usize::try_from(count).unwrap_or(0));
    let mut accounts = Known::<AccountKey>::new("usage account key");
    let mut metrics = Known::<MetricId>::new("usage metric");
    let mut stmt = tx
        .prepare("SELECT account_key, metric, unix_day, timestamp, quantity, record_id FROM usage")
        .context("reading usage")?;
    let mut rows = stmt.query([]).context("reading usage")?;
    while let Some(row) = rows.next().context("reading usage")? {
        let cell = |i: usize| row.get_ref(i).context("reading usage");
        let key_text = text_of(cell(0)?, "account_key")?;
        let account = accounts.get(key_text, |t| AccountKey::new(t).map_err(|e| e.to_string()))?;
        let metric = metrics.get(text_of(cell(1)?, "metric")?, |t| {
            MetricId::new(t).map_err(|e| e.to_string())
        })?;
        let quantity = decimal("usage quantity", text_of(cell(4)?, "quantity")?)?;
        let record_id = match cell(5)? {
            ValueRef::Null => None,
            other => Some(
                RecordId::new(text_of(other, "record_id")?)
                    .map_err(|e| backend(format!("stored usage record id: {e}")))?,
            ),
        };
        let timestamp: DateTime<Utc> = if record_id.is_some() {
            parse(
                "usage timestamp",
                text_of(cell(3)?, "timestamp")?.to_owned(),
            )?
        } else {
            let day = cell(2)?
                .as_i64()
                .map_err(|e| backend(format!("usage column unix_day: {e}")))?;
            day.checked_mul(DAY_SECONDS)
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .ok_or_else(|| backend(format!("stored usage day {day} is out of range")))?
        };
        builder
            .push(account, metric, timestamp, quantity, record_id.as_ref())
            .map_err(|e| backend(format!("stored usage of {key_text}: {e}")))?;
    }
    Ok(builder.finish())
}
