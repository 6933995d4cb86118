//! A block of checked usage records, kept as their canonical CSV text: what a usage import
//! hands a store, chunk after chunk ([`UsageChecker`](super::UsageChecker)).
//!
//! The text is `account_key,metric,timestamp,quantity,record_id` lines without a header,
//! written as a CSV writer writes them: times in RFC 3339 UTC as chrono's `AutoSi` writes them,
//! quantities as `Decimal` writes them (their scale kept), every record with its record id,
//! except that ids the import made up may be left out of it ([`MadeUpIds`]).
//! A store may keep the text as it is (readable as any CSV) or read the records from it.

use std::borrow::Cow;
use std::collections::BTreeSet;

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;

use super::canonical::Stamp;
use crate::id::RecordId;
use crate::usage::UsageRecord;

/// Checked usage records as canonical CSV text; built only from checked records.
///
/// Two blocks are equal when their text with every id written ([`UsageBlock::text_with_ids`])
/// is: the keys a checker notes ([`UsageBlock::keys`]) index the text, they are not part of it.
#[derive(Debug, Clone, Default)]
pub struct UsageBlock {
    text: String,
    records: usize,
    keys: Option<BlockKeys>,
    made_up: Option<MadeUpIds>,
}

impl PartialEq for UsageBlock {
    fn eq(&self, other: &Self) -> bool {
        self.records == other.records
            && if self.made_up == other.made_up {
                self.text == other.text
            } else {
                self.text_with_ids() == other.text_with_ids()
            }
    }
}

/// The record ids a block's text leaves out: every record's id is one the import made up,
/// `file-<fingerprint>-<line>`, the records' lines `first`, `first + 1`, ... in the block's
/// order. Such ids are a third of the text of a file without ids; a store keeps the two
/// numbers instead, and a reader that needs the ids writes them back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct MadeUpIds {
    fingerprint: u64,
    first: u64,
}

impl MadeUpIds {
    /// The ids of a chunk of `fingerprint` whose first record is on line `first`.
    pub fn new(fingerprint: u64, first: u64) -> MadeUpIds {
        MadeUpIds { fingerprint, first }
    }

    /// The fingerprint of the chunk the ids were made from.
    pub fn fingerprint(&self) -> u64 {
        self.fingerprint
    }

    /// The line in its chunk of the block's first record.
    pub fn first(&self) -> u64 {
        self.first
    }

    /// `file-<fingerprint>-`, the text every id starts with.
    pub fn prefix(&self) -> String {
        format!("file-{:016x}-", self.fingerprint)
    }

    /// The id of record `n` (from 0) of the block.
    pub fn id(&self, n: u64) -> String {
        format!("{}{}", self.prefix(), self.first.saturating_add(n))
    }

    /// Appends `text` (lines each ended by a line end, the last cell of each empty) to `out`
    /// with the ids written into the last cells.
    pub fn write_into(&self, text: &[u8], out: &mut Vec<u8>) {
        let prefix = self.prefix();
        out.reserve(text.len().saturating_add(text.len() / 2));
        let mut start = 0usize;
        let mut line = self.first;
        for end in memchr::memchr_iter(b'\n', text) {
            out.extend_from_slice(text.get(start..end).unwrap_or_default());
            out.extend_from_slice(prefix.as_bytes());
            push_number(out, line);
            out.push(b'\n');
            line = line.saturating_add(1);
            start = end.saturating_add(1);
        }
        out.extend_from_slice(text.get(start..).unwrap_or_default());
    }
}

/// Appends `n` in decimal digits.
pub(super) fn push_number(out: &mut Vec<u8>, n: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at = at.saturating_sub(1);
        if let Some(d) = digits.get_mut(at) {
            *d = b'0'.wrapping_add((rest % 10) as u8);
        }
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(at..).unwrap_or_default());
}

impl Eq for UsageBlock {}

/// The distinct account keys of a block's records, as the checker that made the block numbers
/// them: each key's place in the key order of the checker's account book, and where in the
/// text a line holding it starts. A store gathering which blocks hold each key (thousands of
/// keys a block) indexes a list by place instead of hashing every record's key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockKeys {
    /// Identifies the numbering: the same for blocks checked against the same keys.
    order: u64,
    /// `place << 32 | offset`, ascending, one per place.
    keys: Vec<u64>,
}

impl BlockKeys {
    /// Keys numbered by `order` from `place << 32 | offset` pairs in any order, repeats
    /// allowed: each place kept once, with its first line.
    pub(super) fn new(order: u64, mut keys: Vec<u64>) -> BlockKeys {
        keys.sort_unstable();
        keys.dedup_by_key(|k| *k >> 32);
        BlockKeys { order, keys }
    }

    /// Identifies the numbering of places: blocks whose `order` differs number keys apart.
    pub fn order(&self) -> u64 {
        self.order
    }

    /// Each distinct key's place and the offset in the block's text of a line holding it,
    /// by place.
    pub fn places(&self) -> impl Iterator<Item = (u32, usize)> + '_ {
        self.keys.iter().map(|k| {
            let place = u32::try_from(k >> 32).unwrap_or(u32::MAX);
            let offset = usize::try_from(k & 0xffff_ffff).unwrap_or(usize::MAX);
            (place, offset)
        })
    }
}

/// One record of a [`UsageBlock`], its text borrowed from the block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockRecord<'a> {
    /// The account key.
    pub account: &'a str,
    /// The metric.
    pub metric: &'a str,
    /// When it was used.
    pub timestamp: DateTime<Utc>,
    /// How much, not negative.
    pub quantity: Decimal,
    /// The record id.
    pub record_id: Option<&'a str>,
}

/// Why a block's text could not be read back: only for text that was not a block's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("usage block line {line}: {reason}")]
pub struct BlockError {
    /// The line of the block's text, from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl UsageBlock {
    /// The block of `records`.
    pub fn from_records(records: &[UsageRecord]) -> UsageBlock {
        let mut writer = csv::WriterBuilder::new()
            .has_headers(false)
            .from_writer(Vec::with_capacity(records.len().saturating_mul(64)));
        for r in records {
            // Writing to memory does not fail.
            let _ = writer.write_record([
                r.account().as_str(),
                r.metric().as_str(),
                &r.timestamp().to_rfc3339_opts(SecondsFormat::AutoSi, true),
                &r.quantity().to_string(),
                r.record_id().map_or("", RecordId::as_str),
            ]);
        }
        let bytes = writer.into_inner().unwrap_or_default();
        UsageBlock {
            text: String::from_utf8(bytes).unwrap_or_default(),
            records: records.len(),
            keys: None,
            made_up: None,
        }
    }

    /// A block of `records` records written canonically in `text` by the checker, with the
    /// keys it noted and the made-up ids it left out of the text.
    pub(super) fn from_checked(
        text: String,
        records: usize,
        keys: Option<BlockKeys>,
        made_up: Option<MadeUpIds>,
    ) -> UsageBlock {
        UsageBlock {
            text,
            records,
            keys,
            made_up,
        }
    }

    /// A block a store kept: `text` as [`UsageBlock::text`] gave it, holding `records`
    /// records, the ids `made_up` says left out of it. Reading it back
    /// ([`UsageBlock::for_each_record`]) refuses a line that is not a record.
    pub fn from_stored(text: String, records: usize, made_up: Option<MadeUpIds>) -> UsageBlock {
        UsageBlock {
            text,
            records,
            keys: None,
            made_up,
        }
    }

    /// The same records with every id in the text, for a store that keeps the text alone;
    /// the keys' offsets would no longer hold, so they are dropped.
    pub fn with_ids_written(self) -> UsageBlock {
        match self.made_up {
            None => self,
            Some(_) => UsageBlock {
                text: self.text_with_ids().into_owned(),
                records: self.records,
                keys: None,
                made_up: None,
            },
        }
    }

    /// The ids the text leaves out, if it leaves any out; then it leaves out every record's.
    pub fn made_up_ids(&self) -> Option<MadeUpIds> {
        self.made_up
    }

    /// The text with every record's id written: [`UsageBlock::text`] when it leaves none out.
    pub fn text_with_ids(&self) -> Cow<'_, str> {
        let Some(made_up) = self.made_up else {
            return Cow::Borrowed(&self.text);
        };
        let mut out = Vec::new();
        made_up.write_into(self.text.as_bytes(), &mut out);
        // Ids are ASCII, written at line ends: the text stays UTF-8.
        Cow::Owned(String::from_utf8(out).unwrap_or_default())
    }

    /// Its records' distinct account keys as its checker numbered them; `None` for a block
    /// not made by a [`UsageChecker`](super::UsageChecker) from the common form alone.
    pub fn keys(&self) -> Option<&BlockKeys> {
        self.keys.as_ref()
    }

    /// The records as CSV lines, each ended by a line end, without a header; the last cell of
    /// each line is empty when [`UsageBlock::made_up_ids`] says the ids are left out.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// How many records it holds.
    pub fn len(&self) -> usize {
        self.records
    }

    /// Holds no record?
    pub fn is_empty(&self) -> bool {
        self.records == 0
    }

    /// Calls `each` with every record, in order, its id written when the text leaves it out.
    ///
    /// # Errors
    /// `each`'s error, or [`BlockError`] (into `E`) for a line that is not a record, which a
    /// block's own text never has.
    pub fn for_each_record<E: From<BlockError>>(
        &self,
        mut each: impl FnMut(BlockRecord<'_>) -> Result<(), E>,
    ) -> Result<(), E> {
        if let Some(made_up) = self.made_up {
            // Each id is the prefix and a line number, written over the last one's.
            let mut id = made_up.prefix().into_bytes();
            let prefix = id.len();
            let mut line = made_up.first;
            for (n, text) in self.text.lines().enumerate() {
                let cells: Vec<&str> = text.split(',').collect();
                let mut record = record_of(&cells, n)?;
                id.truncate(prefix);
                push_number(&mut id, line);
                line = line.saturating_add(1);
                // The prefix and digits are ASCII.
                record.record_id = std::str::from_utf8(&id).ok();
                each(record)?;
            }
            return Ok(());
        }
        if !self.text.contains('"') {
            for (n, line) in self.text.lines().enumerate() {
                let cells: Vec<&str> = line.split(',').collect();
                each(record_of(&cells, n)?)?;
            }
            return Ok(());
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(self.text.as_bytes());
        let mut row = csv::StringRecord::new();
        for n in 0.. {
            let more = reader.read_record(&mut row).map_err(|e| BlockError {
                line: n,
                reason: e.to_string(),
            })?;
            if !more {
                break;
            }
            let cells: Vec<&str> = row.iter().collect();
            each(record_of(&cells, n)?)?;
        }
        Ok(())
    }

    /// The distinct account keys of its records, in order.
    ///
    /// # Errors
    /// [`BlockError`] as [`UsageBlock::for_each_record`] says.
    pub fn account_keys(&self) -> Result<Vec<String>, BlockError> {
        let mut keys = BTreeSet::new();
        self.for_each_record(|r| {
            if !keys.contains(r.account) {
                keys.insert(r.account.to_owned());
            }
            Ok::<(), BlockError>(())
        })?;
        Ok(keys.into_iter().collect())
    }
}

/// The record of line `n` (from 0) whose cells are `cells`.
fn record_of<'a>(cells: &[&'a str], n: usize) -> Result<BlockRecord<'a>, BlockError> {
    let fail = |reason: &str| BlockError {
        line: n.saturating_add(1),
        reason: reason.to_owned(),
    };
    let [account, metric, timestamp, quantity, record_id] = cells else {
        return Err(fail("not five fields"));
    };
    // The common form is read fast for the years 1000 to 9999; a block holds any time the
    // import accepts, earlier years included, which the general reader reads.
    let timestamp = Stamp::read(timestamp.as_bytes())
        .and_then(|s| s.time())
        .or_else(|| {
            DateTime::parse_from_rfc3339(timestamp)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
        .ok_or_else(|| fail("not a canonical time"))?;
    let quantity = Decimal::from_str_exact(quantity).map_err(|_| fail("not a quantity"))?;
    Ok(BlockRecord {
        account,
        metric,
        timestamp,
        quantity,
        record_id: Some(*record_id).filter(|id| !id.is_empty()),
    })
}

impl From<BlockError> for crate::store::StoreError {
    fn from(e: BlockError) -> Self {
        crate::store::StoreError::Backend {
            message: e.to_string(),
        }
    }
}
