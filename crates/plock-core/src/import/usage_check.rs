//! Usage rows checked a chunk at a time, chunks in parallel, into [`UsageBlock`]s: the rules,
//! the records and the problems of [`parse_usage`] of the chunk behind the file's header,
//! at the file's lines, at a rate that keeps up with a store's writes.
//!
//! A row in the common form (plock's columns in order, `,`-separated, a known account key
//! as written, a time and a quantity as [`canonical`](super::canonical) reads them, ids
//! without surrounding spaces) is checked in one pass and copied into the block's text, its
//! time and quantity rewritten only when they are not canonical already. Any other row is
//! read by the import's own row rules ([`usage_row`]); a chunk with a problem is read again
//! whole by [`parse_usage`], so its problems are exactly the ones `parse_usage` reports.
//! A row without a record id gets `parse_usage`'s, from the chunk's text and its line in the
//! chunk: the same file in the same chunks gives the same ids. When every record of a chunk
//! gets one, on lines rising by one, they are left out of the block's text and noted on the
//! block ([`MadeUpIds`]): a third of the text of a file without ids. They are written back
//! into the text so far as soon as a record breaks the run.

use std::io::Write;

use chrono::SecondsFormat;

use super::canonical::{Stamp, quantity};
use super::clean_cell;
use super::table::{Delimiter, ImportErrors};
use super::usage::{RowRules, UsageCells, parse_usage, usage_row};
use super::usage_block::{BlockKeys, MadeUpIds, UsageBlock, push_number};
use crate::book::AccountBook;
use crate::hash::{InlineIndex, inline};
use crate::id::{MetricId, RecordId};
use crate::par::prelude::*;
use crate::usage::UsageRecord;

/// A row to check: its line in the file and its bytes, without the line end.
pub type UsageRow<'a> = (u64, &'a [u8]);

/// The header of plock's own usage columns, in order, without and with record ids.
const COMMON_HEADERS: [&str; 2] = [
    "account_key,metric,timestamp,quantity",
    "account_key,metric,timestamp,quantity,record_id",
];

/// Checks the rows of one usage file, a chunk at a time, against an account book.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::account::{AccountName, Contact};
/// use plock_core::import::UsageChecker;
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};
///
/// let mut book = AccountBook::new();
/// let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
/// book.add(Account::new(AccountId::new("894")?, AccountKey::new("894")?, AccountName::new("Dentist")?, Contact::default(), Currency::EUR, day))?;
/// let checker = UsageChecker::new("account_key,metric,timestamp,quantity,record_id", &book);
/// let rows: [(u64, &[u8]); 2] = [
///     (2, b"894,calls,2025-03-13T11:16:10.000Z,007.50,r1"),
///     (3, b"895,calls,2025-03-13T11:16:10Z,1,r2"),
/// ];
/// let problems = checker.check(&rows[1..]).unwrap_err();
/// assert_eq!(problems.errors()[0].line, 3);
/// let block = checker.check(&rows[..1])?;
/// assert_eq!(block.text(), "894,calls,2025-03-13T11:16:10Z,7.50,r1\n");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct UsageChecker<'b> {
    book: &'b AccountBook,
    keys: InlineIndex<'b>,
    /// Identifies the order of `keys`' places, for [`BlockKeys::order`].
    key_order: u64,
    header: String,
    /// Columns of a common header: 4, or 5 with record ids; `None` for any other header.
    common: Option<usize>,
}

impl<'b> UsageChecker<'b> {
    /// A checker of the rows of a file whose header line is `header` (without its line end).
    pub fn new(header: &str, book: &'b AccountBook) -> UsageChecker<'b> {
        let common = COMMON_HEADERS
            .iter()
            .position(|h| *h == header)
            .map(|i| i.saturating_add(4));
        UsageChecker {
            book,
            keys: InlineIndex::new(book.keys().map(|k| k.as_str())),
            key_order: key_order(book),
            header: header.to_owned(),
            common,
        }
    }

    /// Checks each chunk of rows, in parallel on the current rayon pool; the results in the
    /// chunks' order, each as [`UsageChecker::check`] gives it.
    pub fn check_all(&self, chunks: &[Vec<UsageRow<'_>>]) -> Vec<Result<UsageBlock, ImportErrors>> {
        chunks.par_iter().map(|rows| self.check(rows)).collect()
    }

    /// The block of `rows` (the rows of a chunk, none blank), as [`parse_usage`] of the
    /// header and these rows reads them.
    ///
    /// # Errors
    /// Every problem `parse_usage` reports of the chunk, at the rows' own lines (a problem
    /// of the header stays on line 1).
    pub fn check(&self, rows: &[UsageRow<'_>]) -> Result<UsageBlock, ImportErrors> {
        let Some(width) = self.common else {
            return self.reference(rows);
        };
        let mut fingerprint = None;
        let mut prefix: Option<String> = None;
        let size: usize = rows.iter().map(|(_, r)| r.len().saturating_add(32)).sum();
        let mut out = Vec::with_capacity(size);
        let mut metrics = Metrics::default();
        let mut records = 0usize;
        let known = self.known_keys(rows);
        // Each record's key place and line offset; `None` once one cannot be noted.
        let mut places = Some(Vec::with_capacity(rows.len()));
        let mut left_out = LeftOut::NoRecord;
        for (i, (_, raw)) in rows.iter().enumerate() {
            let chunk_line = u64::try_from(i).unwrap_or(u64::MAX).saturating_add(2);
            let mut start = out.len();
            // A made-up id of this row is left out when it goes on the stretch of those before.
            let leave = match left_out {
                LeftOut::NoRecord => true,
                LeftOut::From(first) => {
                    first.saturating_add(u64::try_from(records).unwrap_or(u64::MAX)) == chunk_line
                }
                LeftOut::Written => false,
            };
            let mut made = false;
            let mut id = |out: &mut Vec<u8>| {
                made = true;
                if leave {
                    return;
                }
                let fp = *fingerprint.get_or_insert_with(|| self.fingerprint(rows));
                let prefix = prefix.get_or_insert_with(|| format!("file-{fp:016x}-"));
                out.extend_from_slice(prefix.as_bytes());
                push_number(out, chunk_line);
            };
            let place = known.get(i).copied().flatten();
            if let Some(place) = place
                && self.common_row(raw, width, &mut metrics, &mut out, &mut id)
            {
                let fp = || self.fingerprint(rows);
                let next = left_out.next(made && leave, chunk_line);
                start = left_out.settle(next, &mut out, start, fp, &mut fingerprint, &mut places);
                note(&mut places, place, start);
                records = records.saturating_add(1);
                continue;
            }
            out.truncate(start);
            let fp = *fingerprint.get_or_insert_with(|| self.fingerprint(rows));
            match self.row_rules(raw, width, chunk_line, fp) {
                Rule::Record(record, made) => {
                    let next = left_out.next(made && leave, chunk_line);
                    let fp = || fp;
                    start =
                        left_out.settle(next, &mut out, start, fp, &mut fingerprint, &mut places);
                    match self.keys.get_str(record.account().as_str()) {
                        Some(place) => note(&mut places, place, start),
                        None => places = None,
                    }
                    write_record(&mut out, &record, !(made && leave));
                    records = records.saturating_add(1);
                }
                Rule::Blank => {}
                Rule::Refused => return self.reference(rows),
            }
        }
        let made_up = match left_out {
            LeftOut::From(first) => {
                let fp = *fingerprint.get_or_insert_with(|| self.fingerprint(rows));
                Some(MadeUpIds::new(fp, first))
            }
            LeftOut::NoRecord | LeftOut::Written => None,
        };
        match String::from_utf8(out) {
            Ok(text) => {
                let keys = places.map(|p| BlockKeys::new(self.key_order, p));
                Ok(UsageBlock::from_checked(text, records, keys, made_up))
            }
            Err(_) => self.reference(rows),
        }
    }

    /// The place of each row's first cell among the book's keys, when it is one as written.
    /// The keys are looked up a batch at a time, the batch's table slots loaded together so
    /// that their cache misses overlap (the table of a hundred thousand keys is out of cache).
    fn known_keys(&self, rows: &[UsageRow<'_>]) -> Vec<Option<u32>> {
        let mut known = Vec::with_capacity(rows.len());
        for batch in rows.chunks(KEY_BATCH) {
            let mut keys = [(&[][..], None); KEY_BATCH];
            for (slot, (_, raw)) in keys.iter_mut().zip(batch) {
                let end = memchr::memchr(b',', raw).unwrap_or(raw.len());
                let key = raw.get(..end).unwrap_or_default();
                *slot = (key, text(key).map(inline));
            }
            self.keys
                .touch(keys.iter().filter_map(|(_, k)| k.flatten()));
            for (key, short) in keys.iter().take(batch.len()) {
                known.push(short.and_then(|short| self.keys.get(key, short)));
            }
        }
        known
    }

    /// Writes the row `raw` in the common form of `width` columns to `out` (its record id
    /// written by `id` when it has none), if it is in that form and its key is known; `false`
    /// leaves `out` partly written.
    fn common_row<'r>(
        &self,
        raw: &'r [u8],
        width: usize,
        metrics: &mut Metrics<'r>,
        out: &mut Vec<u8>,
        id: &mut impl FnMut(&mut Vec<u8>),
    ) -> bool {
        let mut cells = raw.split(|b| *b == b',');
        let (Some(key), Some(metric), Some(time), Some(amount)) =
            (cells.next(), cells.next(), cells.next(), cells.next())
        else {
            return false;
        };
        let record_id = match width {
            5 => cells.next(),
            _ => None,
        };
        if cells.next().is_some() || (width == 5 && record_id.is_none()) {
            return false;
        }
        if !metrics.check(metric) {
            return false;
        }
        let (Some(stamp), Some(amount)) = (Stamp::read(time), quantity(amount)) else {
            return false;
        };
        out.extend_from_slice(key);
        out.push(b',');
        out.extend_from_slice(metric);
        out.push(b',');
        match stamp.is_canonical() {
            true => out.extend_from_slice(time),
            false => stamp.write(out),
        }
        out.push(b',');
        out.extend_from_slice(amount);
        out.push(b',');
        match record_id {
            Some(given) if !given.is_empty() => {
                let valid = text(given)
                    .and_then(|t| RecordId::new(t).ok().filter(|r| r.as_str() == t))
                    .is_some();
                if !valid {
                    return false;
                }
                out.extend_from_slice(given);
            }
            _ => id(out),
        }
        out.push(b'\n');
        true
    }

    /// The row `raw` by the import's row rules, on line `chunk_line` of a chunk whose
    /// fingerprint is `fingerprint`.
    fn row_rules(&self, raw: &[u8], width: usize, chunk_line: u64, fingerprint: u64) -> Rule {
        let Ok(row) = std::str::from_utf8(raw) else {
            return Rule::Refused;
        };
        if row.contains(['"', '\r']) {
            return Rule::Refused;
        }
        let cells: Vec<&str> = row.split(',').collect();
        if cells.len() != width {
            return Rule::Refused;
        }
        if cells.iter().all(|c| c.trim().is_empty()) {
            return Rule::Blank;
        }
        let cell = |i: usize| cells.get(i).and_then(|c| clean_cell(c));
        let usage = UsageCells {
            account_key: cell(0),
            metric: cell(1),
            timestamp: cell(2),
            quantity: cell(3),
            record_id: cell(4),
        };
        let made = usage.record_id.is_none();
        let usage = UsageCells {
            record_id: usage
                .record_id
                .or_else(|| Some(format!("file-{fingerprint:016x}-{chunk_line}"))),
            ..usage
        };
        let mut errors = ImportErrors::default();
        let rules = RowRules::plock(Delimiter::Comma);
        match usage_row(usage, chunk_line, self.book, &rules, &mut errors) {
            Some(record) if errors.is_empty() => Rule::Record(record, made),
            _ => Rule::Refused,
        }
    }

    /// The chunk read whole by [`parse_usage`], its problems moved to the file's lines.
    fn reference(&self, rows: &[UsageRow<'_>]) -> Result<UsageBlock, ImportErrors> {
        match parse_usage(&self.text(rows), self.book) {
            Ok(records) => Ok(UsageBlock::from_records(&records)),
            Err(found) => {
                let mut errors = ImportErrors::default();
                for e in found.errors() {
                    // Line 2 of the chunk is its first row; a row is one line.
                    let line = match e.line.checked_sub(2) {
                        Some(i) => usize::try_from(i)
                            .ok()
                            .and_then(|i| rows.get(i))
                            .map_or(e.line, |(line, _)| *line),
                        None => e.line,
                    };
                    errors.push(line, &e.column, &e.value, e.reason.clone());
                }
                // Past the listed ones, only the count grows.
                for _ in found.errors().len()..found.total() {
                    errors.push(0, "", "", "");
                }
                Err(errors)
            }
        }
    }

    /// The chunk's text as [`parse_usage`] reads it: the header, then the rows.
    fn text(&self, rows: &[UsageRow<'_>]) -> Vec<u8> {
        let size: usize = rows.iter().map(|(_, r)| r.len().saturating_add(1)).sum();
        let mut text = Vec::with_capacity(size.saturating_add(self.header.len()).saturating_add(1));
        text.extend_from_slice(self.header.as_bytes());
        text.push(b'\n');
        for (_, row) in rows {
            text.extend_from_slice(row);
            text.push(b'\n');
        }
        text
    }

    /// [`parse_usage`]'s fingerprint of the chunk's text, without making the text.
    fn fingerprint(&self, rows: &[UsageRow<'_>]) -> u64 {
        let fold = |hash: u64, b: &u8| (hash ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3);
        let mut hash = self
            .header
            .as_bytes()
            .iter()
            .fold(0xcbf2_9ce4_8422_2325, fold);
        hash = fold(hash, &b'\n');
        for (_, row) in rows {
            hash = row.iter().fold(hash, fold);
            hash = fold(hash, &b'\n');
        }
        hash
    }
}

/// Which made-up ids the text of the records checked so far leaves out ([`MadeUpIds`]).
#[derive(Clone, Copy)]
enum LeftOut {
    /// No record yet.
    NoRecord,
    /// Every record's: each has a made-up id, the first on line `first`, the others on the
    /// lines after it in turn.
    From(u64),
    /// None: every id is written.
    Written,
}

impl LeftOut {
    /// What follows a record on `line` whose made-up id was left out (`left`) or not.
    fn next(self, left: bool, line: u64) -> LeftOut {
        match (self, left) {
            (LeftOut::NoRecord, true) => LeftOut::From(line),
            (kept @ LeftOut::From(_), true) => kept,
            _ => LeftOut::Written,
        }
    }

    /// Becomes `next`: the ids left out of `out[..start]` (the records before) are written
    /// back when `next` leaves none out, their places moved with their lines. The start of
    /// the record after them, moved too.
    fn settle(
        &mut self,
        next: LeftOut,
        out: &mut Vec<u8>,
        start: usize,
        fp: impl FnOnce() -> u64,
        fingerprint: &mut Option<u64>,
        places: &mut Option<Vec<u64>>,
    ) -> usize {
        let before = std::mem::replace(self, next);
        let (LeftOut::From(first), LeftOut::Written) = (before, next) else {
            return start;
        };
        let made_up = MadeUpIds::new(*fingerprint.get_or_insert_with(fp), first);
        let (head, tail) = out.split_at(start.min(out.len()));
        let mut text = Vec::with_capacity(out.capacity().saturating_add(start / 2));
        made_up.write_into(head, &mut text);
        let moved = text.len();
        if let Some(list) = places.as_mut() {
            let starts = std::iter::once(0)
                .chain(memchr::memchr_iter(b'\n', &text).map(|e| e.saturating_add(1)));
            for (entry, line_start) in list.iter_mut().zip(starts) {
                match u32::try_from(line_start) {
                    Ok(at) => *entry = (*entry & !0xffff_ffff) | u64::from(at),
                    Err(_) => {
                        *places = None;
                        break;
                    }
                }
            }
        }
        text.extend_from_slice(tail);
        *out = text;
        moved
    }
}

/// Notes that the line at `offset` of a block's text holds the key at `place`.
fn note(places: &mut Option<Vec<u64>>, place: u32, offset: usize) {
    let noted = places.as_mut().zip(u32::try_from(offset).ok());
    match noted {
        Some((list, offset)) => list.push((u64::from(place) << 32) | u64::from(offset)),
        None => *places = None,
    }
}

/// Identifies the order of `book`'s keys (FNV-1a over them, each ended by a zero byte):
/// places of two checkers mean the same keys when this is equal.
fn key_order(book: &AccountBook) -> u64 {
    let fold = |hash: u64, b: u8| (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3);
    book.keys().fold(0xcbf2_9ce4_8422_2325, |hash, key| {
        fold(key.as_str().bytes().fold(hash, fold), 0)
    })
}

/// What the row rules made of a row.
enum Rule {
    /// A record, and whether its id is made up.
    Record(UsageRecord, bool),
    /// Every cell blank: not a row.
    Blank,
    /// Refused, or not for one row alone: the chunk is read whole.
    Refused,
}

/// `bytes` as text an id may be as written: UTF-8, not empty, not starting with the
/// spreadsheet quote.
fn text(bytes: &[u8]) -> Option<&str> {
    match bytes.first() {
        None | Some(b'\'') => None,
        Some(_) => std::str::from_utf8(bytes).ok(),
    }
}

/// Account keys looked up together.
const KEY_BATCH: usize = 32;

/// The most metrics a chunk remembers as checked.
const KNOWN_METRICS: usize = 64;

/// The metrics a chunk found valid as written: short ones by their inline words, so that a
/// row's metric is found with a few integer compares.
#[derive(Default)]
struct Metrics<'r> {
    short: Vec<[u64; 2]>,
    long: Vec<&'r [u8]>,
}

impl<'r> Metrics<'r> {
    /// Whether `metric` is a metric id as written, remembered if so.
    fn check(&mut self, metric: &'r [u8]) -> bool {
        let Some(t) = text(metric) else {
            return false;
        };
        let short = inline(t);
        let known = match short {
            Some(k) => self.short.contains(&k),
            None => self.long.contains(&metric),
        };
        if known {
            return true;
        }
        if !MetricId::new(t).is_ok_and(|m| m.as_str() == t) {
            return false;
        }
        // A few metrics are remembered: usage has few, and a file of many is still read.
        match short {
            Some(k) if self.short.len() < KNOWN_METRICS => self.short.push(k),
            None if self.long.len() < KNOWN_METRICS => self.long.push(metric),
            _ => {}
        }
        true
    }
}

/// Writes `record` as a block's line, its id cell empty unless `with_id`; its cells hold no
/// separator, quote or line end.
fn write_record(out: &mut Vec<u8>, record: &UsageRecord, with_id: bool) {
    let time = record
        .timestamp()
        .to_rfc3339_opts(SecondsFormat::AutoSi, true);
    let id = match with_id {
        true => record.record_id().map_or("", RecordId::as_str),
        false => "",
    };
    let _ = writeln!(
        out,
        "{},{},{time},{},{id}",
        record.account(),
        record.metric(),
        record.quantity()
    );
}

/// What the checker must give for `rows` behind `header`: `parse_usage` of the header and
/// the rows as one text, its problems moved to the rows' lines. The oracle of the checker's
/// tests and fuzz target.
#[cfg(any(test, feature = "fuzz-support"))]
pub(crate) fn reference(
    header: &str,
    rows: &[UsageRow<'_>],
    book: &AccountBook,
) -> Result<UsageBlock, ImportErrors> {
    let mut text = format!("{header}\n").into_bytes();
    for (_, row) in rows {
        text.extend_from_slice(row);
        text.push(b'\n');
    }
    parse_usage(&text, book)
        .map(|r| UsageBlock::from_records(&r))
        .map_err(|found| {
            let mut errors = ImportErrors::default();
            for e in found.errors() {
                // Line 1 is the header; the rows follow it, one a line.
                let line = match e.line {
                    0 | 1 => e.line,
                    n => usize::try_from(n.saturating_sub(2))
                        .ok()
                        .and_then(|i| rows.get(i))
                        .map_or(e.line, |row| row.0),
                };
                errors.push(line, &e.column, &e.value, e.reason.clone());
            }
            for _ in found.errors().len()..found.total() {
                errors.push(0, "", "", "");
            }
            errors
        })
}
