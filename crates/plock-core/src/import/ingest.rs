//! Bulk usage ingestion: a usage CSV of any layout ([`UsageLayout`]) straight into a
//! [`UsageTable`], read a chunk at a time, each chunk in parallel.
//!
//! The input is read in chunks of a few MiB cut at their last line end (the rest carried to
//! the next chunk), the next chunk read while the threads read this one. A chunk is cut into
//! pieces at line ends that threads read at once (`chunk`, `piece`): a row in the common
//! form (plain ASCII ids, a time in the layout's form, a plain decimal) is read in one pass
//! over its bytes (`row`, `time`) and packed where it is read; any other row goes through the
//! import's own row rules ([`usage_row`](super::usage)), so both accept the same rows, with
//! the same values and the same problems. From a chunk the pieces do not read (quoted cells,
//! a carriage return inside a line) to the end, the CSV reader reads the file record by
//! record (`general`). Records are kept in 8-byte words where their spans allow (`block`,
//! `records`) and sorted into the table once the input ends (`sink`): memory is the records
//! so kept and two chunks, then the words and the sort's filed keys (6 or 8 bytes a record),
//! then the keys and the table's columns. An input whole in memory ([`ingest_usage`]) is
//! read as one chunk, its records straight into a vector the sort reads. Account keys are found through a table of their bytes (`accounts`).

use std::borrow::Cow;
use std::io::{self, Read};

use super::layout::{Columns, UsageLayout};
use super::table::ImportErrors;
use crate::book::AccountBook;
use crate::id::AccountKey;
use crate::usage::UsageTable;

mod account_numbers;
mod accounts;
mod block;
mod chunk;
mod from_records;
mod general;
mod piece;
#[cfg(test)]
mod piece_tests;
mod records;
mod row;
mod sink;
mod time;
mod word;

use chunk::{Context, Outcome, read_chunk};
use general::{Start, Tracked, not_utf8, read_general};
use piece::Reading;
use row::Form;
use sink::Sink;

/// Bytes read at a time (whole lines are read: a chunk ends at its last line end).
pub(crate) const CHUNK_BYTES: usize = 8 << 20;

/// Bytes of the first chunk, at most: the threads start on it while the next is read, where
/// a whole chunk's read (and its buffer's fresh pages) would keep them waiting.
const FIRST_CHUNK_BYTES: usize = 1 << 20;

/// Reads a usage CSV in plock's own format into a [`UsageTable`], with the rules of
/// [`parse_usage`](crate::import::parse_usage): every account key known to `book`, timestamps in UTC,
/// quantities not negative, re-sent records counted once. Unlike `parse_usage`, files of any
/// size are read, quoted and `;`-separated ones too (the table holds 6 to 12 bytes a
/// record). The same as [`read_usage`] with [`UsageLayout::default()`], reading `bytes` where
/// they are.
///
/// # Errors
/// Every problem of the file at once (at most [`MAX_REPORTED_ERRORS`](crate::import::MAX_REPORTED_ERRORS)
/// listed), as `parse_usage` reports them.
pub fn ingest_usage(bytes: &[u8], book: &AccountBook) -> Result<UsageTable, ImportErrors> {
    // Whole in memory: read as one chunk where it is, its records straight into the sort's
    // vector (a slot a line).
    let input = Input {
        reader: io::empty(),
        chunk: CHUNK_BYTES,
    };
    let first = Cow::Borrowed(bytes);
    read_from(first, true, input, book, &UsageLayout::default(), true)
}

/// Reads a usage CSV laid out as `layout` says from `reader` into a [`UsageTable`], a chunk
/// of a few MiB at a time: the whole input is never held, only the records read (8 bytes
/// each while their days, quantities and groups span little, as usage does, 16 otherwise)
/// and two chunks; the records are then sorted into the table (6 to 12 bytes a record),
/// which holds them at 14 to 16 bytes a record at its peak (the words and the sort's keys). Chunks are read in parallel on the
/// current rayon pool, the next read while the threads read this one.
///
/// The rules are [`parse_usage`](crate::import::parse_usage)'s: every account key known to `book`,
/// quantities not negative (plain decimals; a `;` file may write decimal commas), times as
/// the layout's [`TimeFormat`](crate::import::TimeFormat) says, in UTC; records of one account and
/// metric sharing a record id count once (the greatest time, then quantity, is kept). Blank
/// lines are skipped; cells may be quoted.
///
/// ```
/// use plock_core::account::{AccountName, Contact};
/// use plock_core::import::{TimeFormat, UsageLayout, read_usage};
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};
///
/// # fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mut book = AccountBook::new();
/// let jan = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?;
/// book.add(Account::new(
///     AccountId::new("894")?,
///     AccountKey::new("894")?,
///     AccountName::new("Dentist Johnson")?,
///     Contact::default(),
///     Currency::EUR,
///     jan,
/// ))?;
/// let csv = "account_id,metric_id,ts_ms,quantity\n894,13,1741864570320,44.383738\n";
/// let layout = UsageLayout::default()
///     .account("account_id")
///     .metric("metric_id")
///     .timestamp("ts_ms", TimeFormat::EpochMillis)
///     .quantity("quantity");
/// let table = read_usage(csv.as_bytes(), &book, &layout)?;
/// assert_eq!(table.len(), 1);
/// # Ok(())
/// # }
/// ```
///
/// # Errors
/// Every problem of the input at once, each with its line (the header is line 1), column
/// and value (at most [`MAX_REPORTED_ERRORS`](crate::import::MAX_REPORTED_ERRORS) listed, all
/// counted): a bad header (reported alone), rows that are not records, unknown account keys,
/// records the table cannot hold. Bytes that are not UTF-8 are reported alone, at their
/// line. A failing `reader` adds its error to the problems found before it.
pub fn read_usage<R: Read>(
    reader: R,
    book: &AccountBook,
    layout: &UsageLayout,
) -> Result<UsageTable, ImportErrors> {
    read_in_chunks(reader, book, layout, CHUNK_BYTES)
}

/// [`read_usage`] in chunks of about `chunk_bytes`.
pub(crate) fn read_in_chunks<R: Read>(
    reader: R,
    book: &AccountBook,
    layout: &UsageLayout,
    chunk_bytes: usize,
) -> Result<UsageTable, ImportErrors> {
    let chunk = chunk_bytes.max(1);
    let mut input = Input {
        reader,
        chunk: chunk.min(FIRST_CHUNK_BYTES),
    };
    let mut first = Vec::new();
    let last = input.fill(&mut first, 0).map_err(|e| failed(e, 1))?;
    input.chunk = chunk;
    read_from(Cow::Owned(first), last, input, book, layout, false)
}

/// Reads an input whose first bytes are `first` (all of them if `last`), the rest `input`'s;
/// its records go straight into the sort's vector if `direct` (a slot a line: for an input
/// read as one chunk), else into 8-byte words.
fn read_from<R: Read>(
    first: Cow<'_, [u8]>,
    last: bool,
    mut input: Input<R>,
    book: &AccountBook,
    layout: &UsageLayout,
    direct: bool,
) -> Result<UsageTable, ImportErrors> {
    let start = if first.starts_with(b"\xEF\xBB\xBF") {
        3
    } else {
        0
    };
    let text = first.get(start..).unwrap_or_default();
    let header_end = memchr::memchr(b'\n', text).unwrap_or(text.len());
    let header = text.get(..header_end).unwrap_or_default();
    let header = header.strip_suffix(b"\r").unwrap_or(header);
    let header = std::str::from_utf8(header).map_err(|_| only(1, "file is not valid UTF-8"))?;
    let delimiter = layout.delimiter_of(header);
    let keys: Vec<AccountKey> = book.keys().cloned().collect();
    let mut sink = Sink::new(&keys, direct);
    if header.is_empty() || header.contains(['"', '\r']) {
        // Not one plain line (or blank lines first, which the CSV reader skips).
        let rest = text.chain(&mut input.reader);
        let start = Start::Header(layout);
        read_general(rest, 1, start, delimiter, (book, &keys), &mut sink)?;
        return sink.finish(keys);
    }
    let columns = match layout.columns(header.split(char::from(delimiter.byte())), delimiter) {
        Ok(columns) => columns,
        Err(errors) => {
            let rest = Tracked::new(text.chain(&mut input.reader), 1);
            return Err(not_utf8(rest).unwrap_or(errors));
        }
    };
    let body = start.saturating_add(header_end).saturating_add(1);
    let chunks = Chunks {
        current: first,
        start: body,
        last,
        line: 2,
    };
    read_rows(chunks, &mut input, &columns, (book, &keys), &mut sink)?;
    sink.finish(keys)
}

/// Reads the rows from `chunks` on, the file's columns `columns`.
///
/// # Errors
/// The problems to report instead of the sink's, as [`read_usage`] says.
fn read_rows<R: Read>(
    chunks: Chunks<'_>,
    input: &mut Input<R>,
    columns: &Columns,
    (book, keys): (&AccountBook, &[AccountKey]),
    sink: &mut Sink,
) -> Result<(), ImportErrors> {
    let index = accounts::Accounts::new(keys);
    let form = Form {
        fields: &columns.fields,
        separator: columns.rules.delimiter.byte(),
        time: columns.rules.time,
    };
    let cx = Context {
        reading: Reading {
            form,
            accounts: &index,
        },
        columns,
        book,
        keys,
    };
    chunks.read(input, &cx, sink)
}

/// The input, read a chunk at a time.
struct Input<R> {
    reader: R,
    chunk: usize,
}

impl<R: Read> Input<R> {
    /// Reads a chunk more onto `buf` (up to a chunk in all when `buf` holds less than half a
    /// chunk), and on until the bytes from `scan_from` hold a line end or the input ends;
    /// whether it ended.
    fn fill(&mut self, buf: &mut Vec<u8>, mut scan_from: usize) -> io::Result<bool> {
        // A short carried line shares the chunk's room, so a reused buffer holds the next
        // chunk without growing (growing copies it to fresh pages).
        let mut want = match buf.len() < self.chunk / 2 {
            true => self.chunk,
            false => buf.len().saturating_add(self.chunk),
        };
        loop {
            buf.reserve_exact(want.saturating_sub(buf.len()));
            let limit = u64::try_from(want.saturating_sub(buf.len())).unwrap_or(u64::MAX);
            (&mut self.reader).take(limit).read_to_end(buf)?;
            if buf.len() < want {
                return Ok(true);
            }
            let read = buf.get(scan_from..).unwrap_or_default();
            if memchr::memrchr(b'\n', read).is_some() {
                return Ok(false);
            }
            // A line longer than a chunk: read on.
            scan_from = buf.len();
            want = want.saturating_add(self.chunk);
        }
    }
}

/// The chunk being read: `current[start..]`, the input's last bytes if `last`, its first
/// line `line`.
struct Chunks<'a> {
    current: Cow<'a, [u8]>,
    start: usize,
    last: bool,
    line: u64,
}

impl Chunks<'_> {
    /// Reads every chunk into `sink`, each while the next is read from `input`.
    ///
    /// # Errors
    /// The problems to report instead of the sink's, as [`read_usage`] says.
    fn read<R: Read>(
        mut self,
        input: &mut Input<R>,
        cx: &Context<'_>,
        sink: &mut Sink,
    ) -> Result<(), ImportErrors> {
        let delimiter = cx.columns.rules.delimiter;
        let mut next = Vec::new();
        loop {
            let text = self.current.get(self.start..).unwrap_or_default();
            // Whole lines only, unless the input ends here; a line not ended yet is carried.
            let cut = match self.last {
                true => text.len(),
                false => memchr::memrchr(b'\n', text).map_or(0, |i| i.saturating_add(1)),
            };
            let (body, carry) = text.split_at(cut);
            next.clear();
            next.extend_from_slice(carry);
            let (mut outcome, mut read) = (Outcome::Csv, Ok(true));
            crate::par::in_place_scope(|s| {
                s.spawn(|_| outcome = read_chunk(body, self.line, cx, sink));
                if !self.last {
                    read = input.fill(&mut next, 0);
                }
            });
            match outcome {
                Outcome::Read(lines) => self.line = self.line.saturating_add(lines),
                Outcome::NotUtf8(line) => return Err(only(line, "file is not valid UTF-8")),
                Outcome::Csv => {
                    let rest = body.chain(next.as_slice()).chain(&mut input.reader);
                    let start = Start::Rows(cx.columns);
                    let line = self.line;
                    return read_general(rest, line, start, delimiter, (cx.book, cx.keys), sink);
                }
            }
            if self.last {
                return Ok(());
            }
            self.advance(read, &mut next, sink)?;
        }
    }

    /// Makes `next`, just read (`read` says whether the input ended, or how it failed), the
    /// chunk being read; the current one's room becomes `next`'s.
    ///
    /// # Errors
    /// The input's failure, added to the problems found before it.
    fn advance(
        &mut self,
        read: io::Result<bool>,
        next: &mut Vec<u8>,
        sink: &mut Sink,
    ) -> Result<(), ImportErrors> {
        match read {
            Ok(last) => self.last = last,
            Err(e) => {
                let mut errors = std::mem::take(&mut sink.errors);
                errors.push(self.line, "", "", format!("could not read the input: {e}"));
                return Err(errors);
            }
        }
        let read = std::mem::replace(&mut self.current, Cow::Owned(std::mem::take(next)));
        // The room is reused; a borrowed input is read as its last chunk.
        if let Cow::Owned(room) = read {
            *next = room;
        }
        self.start = 0;
        Ok(())
    }
}

/// The problems of an input that failed on `line` before anything was read.
fn failed(e: io::Error, line: u64) -> ImportErrors {
    only(line, &format!("could not read the input: {e}"))
}

/// One problem, reported alone.
fn only(line: u64, reason: &str) -> ImportErrors {
    let mut errors = ImportErrors::default();
    errors.push(line, "", "", reason);
    errors
}

/// For the fuzz target and the replay of its corpus: `data`'s first byte chooses a layout
/// ([`UsageLayout::fuzzed`]), the second a chunk size, the rest is a CSV, read in chunks of
/// that size and whole. The same table or the same problems (in plock's own layout, also
/// what [`ingest_usage`] gives), or what differed.
#[cfg(any(test, feature = "fuzz-support"))]
pub(crate) fn fuzz_read(data: &[u8], book: &AccountBook) -> Result<(), String> {
    let (Some(&choice), Some(&chunk)) = (data.first(), data.get(1)) else {
        return Ok(());
    };
    let csv = data.get(2..).unwrap_or_default();
    let layout = UsageLayout::fuzzed(choice);
    let chunked = read_in_chunks(csv, book, &layout, usize::from(chunk).max(1));
    let whole = read_usage(csv, book, &layout);
    let agree =
        |a: &Result<UsageTable, ImportErrors>, b: &Result<UsageTable, ImportErrors>| match (a, b) {
            (Ok(a), Ok(b)) => a == b,
            (Err(a), Err(b)) => a.to_string() == b.to_string(),
            _ => false,
        };
    let lens =
        |r: &Result<UsageTable, ImportErrors>| format!("{:?}", r.as_ref().map(UsageTable::len));
    if !agree(&chunked, &whole) {
        return Err(format!(
            "read in chunks of {chunk} and whole disagree: {} / {}",
            lens(&chunked),
            lens(&whole)
        ));
    }
    if layout == UsageLayout::default() && !agree(&whole, &ingest_usage(csv, book)) {
        return Err("read_usage and ingest_usage disagree".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests;
