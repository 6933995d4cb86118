//! Usage written a batch at a time: records in with binary `COPY … FROM STDIN`, out with
//! binary `COPY … TO STDOUT` as a block's text, which the billing run reads with the blocks.
//!
//! PostgreSQL's binary format carries each value as its wire bytes (a `numeric` as base-10000
//! digits with its scale, a `timestamptz` as microseconds), so the server prints and parses
//! nothing, and one statement moves any number of rows.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use plock_core::id::RecordId;
use plock_core::import::UsageBlock;
use plock_core::store::StoreError;
use plock_core::{AccountBook, AccountKey, MetricId, UsageRecord};
use postgres::types::Type;
use postgres::{GenericClient, Transaction};
use rust_decimal::Decimal;

use crate::codec::{Context, USAGE_COLUMNS, backend, join_time, owner_in, split_time};
use crate::copy::CopyRows;
use crate::copy_out::CopyOutRows;
use crate::failure::{Db, Failure};

/// The owner each key's usage goes to, or `None` for a key no account holds at this point of
/// the batch. The book answers for the accounts it holds (the batch changes no other); the
/// database for the rest, their rows share-locked so that no other writer dismisses them
/// before the batch commits.
fn owners<'a>(
    tx: &mut Transaction<'_>,
    original: &AccountBook,
    work: &AccountBook,
    records: &'a [UsageRecord],
) -> Result<HashMap<&'a str, Option<String>>, Failure> {
    let mut owners: HashMap<&str, Option<String>> = HashMap::new();
    let mut ask: HashSet<&str> = HashSet::new();
    for record in records {
        let key = record.account().as_str();
        if owners.contains_key(key) || ask.contains(key) {
            continue;
        }
        match work.by_key(record.account()) {
            Some(account) => {
                owners.insert(key, Some(owner_in(work, account).to_string()));
            }
            None => {
                ask.insert(key);
            }
        }
    }
    let ask: Vec<&str> = ask.into_iter().collect();
    let rows = tx
        .query(
            "SELECT key, id, owner FROM accounts WHERE key = ANY($1) ORDER BY id FOR KEY SHARE",
            &[&ask],
        )
        .db("reading the accounts of usage")?;
    let mut found: HashMap<String, (String, String)> = HashMap::with_capacity(rows.len());
    for row in &rows {
        let key: String = row.try_get(0).db("reading the accounts of usage")?;
        let id: String = row.try_get(1).db("reading the accounts of usage")?;
        let owner: String = row.try_get(2).db("reading the accounts of usage")?;
        found.insert(key, (id, owner));
    }
    for key in ask {
        // An account the book holds but no longer under this key was dismissed or replaced
        // earlier in the batch.
        let owner = found.get(key).and_then(|(id, owner)| {
            let in_book = plock_core::AccountId::new(id)
                .ok()
                .is_some_and(|id| original.get(&id).is_some());
            (!in_book).then(|| owner.clone())
        });
        owners.insert(key, owner);
    }
    Ok(owners)
}

/// Writes `records` (change `index`) with one binary `COPY`, after checking that an account
/// holds every record's key. `written` learns the owner each key's usage went to.
pub(crate) fn add_usage(
    tx: &mut Transaction<'_>,
    original: &AccountBook,
    work: &AccountBook,
    written: &mut HashMap<String, String>,
    index: usize,
    records: &[UsageRecord],
) -> Result<(), Failure> {
    if records.is_empty() {
        return Ok(());
    }
    let owners = owners(tx, original, work, records)?;
    for record in records {
        if owners
            .get(record.account().as_str())
            .is_none_or(Option::is_none)
        {
            return Err(Failure::Refused(StoreError::NotFound {
                index,
                what: "account key",
                id: record.account().to_string(),
            }));
        }
    }
    let sink = tx
        .copy_in(&format!(
            "COPY usage ({USAGE_COLUMNS}) FROM STDIN (FORMAT binary)"
        ))
        .db("writing usage")?;
    let mut rows = CopyRows::new(sink);
    for record in records {
        let key = record.account().as_str();
        let owner = owners
            .get(key)
            .and_then(Option::as_deref)
            .unwrap_or_default();
        let timestamp = record.timestamp();
        let (at, nanos) = split_time(timestamp);
        rows.row(7)?;
        rows.text(owner)?;
        rows.text(key)?;
        rows.text(record.metric().as_str())?;
        rows.value(&at, &Type::TIMESTAMPTZ)?;
        rows.int2(nanos);
        rows.value(&record.quantity(), &Type::NUMERIC)?;
        rows.optional_text(record.record_id().map(RecordId::as_str))?;
    }
    rows.finish()?;
    for (key, owner) in owners {
        if let Some(owner) = owner {
            written.insert(key.to_owned(), owner);
        }
    }
    Ok(())
}

/// Every usage row written a batch at a time, read with one binary `COPY … TO STDOUT`, as a
/// usage block's text (canonical CSV lines, no header), in the transaction `client` is in.
/// The rows are decoded from the stream as they come (the client's row iterator builds an
/// object a row), keys and metrics validated once each.
///
/// # Errors
/// [`StoreError::Backend`] when the database fails or holds a record that is not valid.
pub(crate) fn rows_text(client: &mut impl GenericClient) -> Result<String, StoreError> {
    let source = client
        .copy_out(
            "COPY (SELECT account_key, metric, at, nanos, quantity, record_id FROM usage) \
             TO STDOUT (FORMAT binary)",
        )
        .context("reading usage")?;
    let mut rows = CopyOutRows::new(std::io::BufReader::with_capacity(1 << 20, source))?;
    let mut keys: HashMap<Vec<u8>, AccountKey> = HashMap::new();
    let mut metrics: HashMap<Vec<u8>, MetricId> = HashMap::new();
    let (mut records, mut text) = (Vec::new(), String::new());
    while rows.next_row(6)? {
        let key = rows
            .field()?
            .ok_or_else(|| backend("stored usage without an account key"))?;
        let account = match keys.get(key) {
            Some(account) => account,
            None => {
                let text = std::str::from_utf8(key).context("stored usage account key")?;
                let account = AccountKey::new(text).context("stored usage account key")?;
                keys.entry(key.to_vec()).or_insert(account)
            }
        }
        .clone();
        let metric = rows
            .field()?
            .ok_or_else(|| backend("stored usage without a metric"))?;
        let metric = match metrics.get(metric) {
            Some(found) => found,
            None => {
                let text = std::str::from_utf8(metric).context("stored usage metric")?;
                let id = MetricId::new(text).context("stored usage metric")?;
                metrics.entry(metric.to_vec()).or_insert(id)
            }
        }
        .clone();
        let at: DateTime<Utc> = rows.decode(&Type::TIMESTAMPTZ, "usage time")?;
        let nanos: i16 = rows.decode(&Type::INT2, "usage nanoseconds")?;
        let quantity: Decimal = rows.decode(&Type::NUMERIC, "usage quantity")?;
        let record_id = match rows.field()? {
            None => None,
            Some(bytes) => {
                let text = std::str::from_utf8(bytes).context("stored usage record id")?;
                Some(RecordId::new(text).context("stored usage record id")?)
            }
        };
        let record = UsageRecord::new(account, metric, join_time(at, nanos)?, quantity, record_id)
            .map_err(|e| backend(format!("stored usage is invalid: {e}")))?;
        records.push(record);
        if records.len() == RECORDS_AT_A_TIME {
            text.push_str(UsageBlock::from_records(&records).text());
            records.clear();
        }
    }
    text.push_str(UsageBlock::from_records(&records).text());
    Ok(text)
}

/// Records written out as text at a time: memory holds the text, not every record.
const RECORDS_AT_A_TIME: usize = 1 << 16;
