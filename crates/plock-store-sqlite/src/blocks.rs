//! Imported usage in blocks: each chunk of an import is one row of `usage_blocks`, its records
//! as plock's own usage CSV, and the blocks of each account key in `usage_key_blocks`
//! (the `key_blocks` module).
//!
//! Usage is most of a company's data, and a billing run reads all of it. Stored a record a
//! row, an import writes and indexes every record, and a run reads them back one by one. A
//! block is written with one insert, and a run reads the blocks as one CSV stream through
//! plock-core's parallel usage reader ([`plock_core::import::read_usage`]), whose rules are the
//! import's own. The text is the canonical form of records that were checked on the way in:
//! `account_key,metric,timestamp,quantity,record_id`, times in RFC 3339 UTC, quantities as
//! their exact decimal text; an operator reads it with `sqlite3` as any CSV.
//!
//! A block whose every record has an id the import made up, its lines rising by one
//! ([`MadeUpIds`], a file without ids), keeps its text with the id cells empty and the
//! fingerprint and first line in `made_up_fingerprint` and `made_up_first`: those ids are a
//! third of the text. Every read here gives the records with their ids; a billing run reads
//! the text as it is when no other record can share the ids ([`crate::run_usage`]).

use chrono::{DateTime, SecondsFormat, Utc};
use plock_core::id::RecordId;
use plock_core::import::{MadeUpIds, UsageBlock};
use plock_core::store::StoreError;
use plock_core::{AccountKey, MetricId, UsageRecord};
use rusqlite::{Connection, Row, params};
use std::collections::BTreeSet;

use crate::codec::{Context, backend, decimal};
use crate::key_blocks::KeyBlocks;
use crate::key_places::KeyPlaces;

/// The header of every block's text, and of the stream a run reads.
pub(crate) const HEADER: &str = "account_key,metric,timestamp,quantity,record_id\n";

/// `records` as a block's text: CSV lines without the header.
pub(crate) fn text_of(records: &[UsageRecord]) -> Result<String, StoreError> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::with_capacity(records.len().saturating_mul(48)));
    for r in records {
        writer
            .write_record([
                r.account().as_str(),
                r.metric().as_str(),
                &r.timestamp().to_rfc3339_opts(SecondsFormat::AutoSi, true),
                &r.quantity().to_string(),
                r.record_id().map_or("", RecordId::as_str),
            ])
            .context("encoding usage")?;
    }
    let bytes = writer.into_inner().context("encoding usage")?;
    String::from_utf8(bytes).context("encoding usage")
}

/// Writes `records` as one block, its keys noted in `keys`.
pub(crate) fn write(
    tx: &Connection,
    records: &[UsageRecord],
    keys: &mut KeyBlocks,
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    let count = i64::try_from(records.len()).unwrap_or(i64::MAX);
    let text = text_of(records)?;
    let id = insert(tx, count, &text, None)?;
    let held: BTreeSet<&str> = records.iter().map(|r| r.account().as_str()).collect();
    keys.note(tx, id, held)
}

/// Writes a block of checked records as it is (its text is a block's text already), its
/// keys noted in `places` when its checker numbered them, else in `keys`.
pub(crate) fn write_block(
    tx: &Connection,
    block: &UsageBlock,
    keys: &mut KeyBlocks,
    places: &mut KeyPlaces,
) -> Result<(), StoreError> {
    if block.is_empty() {
        return Ok(());
    }
    let count = i64::try_from(block.len()).unwrap_or(i64::MAX);
    let id = insert(tx, count, block.text(), block.made_up_ids())?;
    if let Some(numbered) = block.keys()
        && places.note(tx, id, block.text(), numbered)?
    {
        return Ok(());
    }
    keys.note_text(tx, id, block.text())
}

/// Inserts a block's row, the ids `made_up` left out of its text; its id.
fn insert(
    tx: &Connection,
    records: i64,
    text: &str,
    made_up: Option<MadeUpIds>,
) -> Result<i64, StoreError> {
    let fingerprint = made_up.map(|m| format!("{:016x}", m.fingerprint()));
    let first = made_up.map(|m| i64::try_from(m.first()).unwrap_or(i64::MAX));
    tx.prepare_cached(
        "INSERT INTO usage_blocks (records, csv, made_up_fingerprint, made_up_first) \
         VALUES (?1, ?2, ?3, ?4)",
    )
    .and_then(|mut stmt| stmt.execute(params![records, text, fingerprint, first]))
    .context("writing usage")?;
    Ok(tx.last_insert_rowid())
}

/// The made-up ids a block's row leaves out of its text, from its columns `at` and `at + 1`
/// (`made_up_fingerprint`, `made_up_first`).
pub(crate) fn made_up_of(row: &Row<'_>, at: usize) -> Result<Option<MadeUpIds>, StoreError> {
    let fingerprint: Option<String> = row.get(at).context("reading usage")?;
    let first: Option<i64> = row.get(at.saturating_add(1)).context("reading usage")?;
    match (fingerprint, first) {
        (None, None) => Ok(None),
        (Some(hex), Some(first)) => {
            let fingerprint = u64::from_str_radix(&hex, 16).map_err(|_| {
                backend(format!(
                    "usage block fingerprint {hex:?} is not hexadecimal"
                ))
            })?;
            let first = u64::try_from(first)
                .map_err(|_| backend(format!("usage block first line {first} is negative")))?;
            Ok(Some(MadeUpIds::new(fingerprint, first)))
        }
        (hex, first) => Err(backend(format!(
            "usage block made-up ids half noted: fingerprint {hex:?}, first line {first:?}"
        ))),
    }
}

/// The records of one block's text, the ids `made_up` left out of it written back.
fn records_of(text: &str, made_up: Option<MadeUpIds>) -> Result<Vec<UsageRecord>, StoreError> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(text.as_bytes());
    let mut out = Vec::new();
    for (n, row) in (0u64..).zip(reader.records()) {
        let row = row.context("reading a usage block")?;
        let cell = |i: usize| row.get(i).unwrap_or_default();
        let account = AccountKey::new(cell(0)).context("stored usage account key")?;
        let metric = MetricId::new(cell(1)).context("stored usage metric")?;
        let timestamp: DateTime<Utc> = DateTime::parse_from_rfc3339(cell(2))
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| backend(format!("stored usage timestamp {:?}: {e}", cell(2))))?;
        let quantity = decimal("usage quantity", cell(3))?;
        let record_id = match made_up {
            Some(made_up) => Some(RecordId::new(made_up.id(n))),
            None => Some(cell(4)).filter(|id| !id.is_empty()).map(RecordId::new),
        }
        .transpose()
        .context("stored usage record id")?;
        out.push(
            UsageRecord::new(account, metric, timestamp, quantity, record_id)
                .map_err(|e| backend(format!("stored usage of {}: {e}", cell(0))))?,
        );
    }
    Ok(out)
}

/// The records of every block holding one of `keys` (every block when `keys` is `None`).
pub(crate) fn records(tx: &Connection, keys: Option<&str>) -> Result<Vec<UsageRecord>, StoreError> {
    let sql = match keys {
        None => "SELECT csv, made_up_fingerprint, made_up_first FROM usage_blocks ORDER BY id",
        Some(_) => {
            "SELECT csv, made_up_fingerprint, made_up_first FROM usage_blocks WHERE id IN (SELECT b.value FROM usage_key_blocks k, \
             json_each(k.blocks) b WHERE k.account_key IN (SELECT value FROM json_each(?1))) \
             ORDER BY id"
        }
    };
    let mut stmt = tx.prepare_cached(sql).context("reading usage")?;
    let mut rows = match keys {
        None => stmt.query([]),
        Some(list) => stmt.query([list]),
    }
    .context("reading usage")?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().context("reading usage")? {
        let text: String = row.get(0).context("reading usage")?;
        out.extend(records_of(&text, made_up_of(row, 1)?)?);
    }
    Ok(out)
}
