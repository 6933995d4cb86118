//! `plock import usage`: a usage CSV of any length, read and written a chunk of rows at a
//! time, in one transaction.
//!
//! Rows are read with the CSV reader, a chunk at a time, and each chunk is checked with
//! core's own usage rules ([`plock_core::import::parse_usage`], the chunk behind the file's header),
//! so a chunk's problems are the ones the whole file would show, at the file's lines. The
//! records of a clean chunk are written at once; after the first problem nothing more is
//! written, the rest of the file is still read for its problems, and the transaction is
//! rolled back. Memory holds the account book and one chunk, whatever the file's length.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use plock_core::import::{Delimiter, ImportErrors};
use plock_core::{AccountBook, UsageRecord};

use crate::app::Opened;
use crate::exit::{Class, CliError, fail};
use crate::progress::Progress;

type Result<T> = std::result::Result<T, CliError>;

/// Rows checked and written at a time.
const CHUNK_ROWS: usize = 10_000;

/// The usage file as chunks of checked records.
struct Chunks {
    reader: csv::Reader<Box<dyn Read>>,
    header: csv::ByteRecord,
    delimiter: u8,
    book: AccountBook,
    errors: ImportErrors,
    rows: u64,
    done: bool,
}

impl Chunks {
    fn open(input: Box<dyn Read>, book: AccountBook) -> std::io::Result<Chunks> {
        let mut input = BufReader::new(input);
        let mut first = Vec::new();
        input.read_until(b'\n', &mut first)?;
        let delimiter = Delimiter::detect(&String::from_utf8_lossy(&first)).byte();
        let chained: Box<dyn Read> = Box::new(std::io::Cursor::new(first).chain(input));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(chained);
        let header = reader.byte_headers().cloned().unwrap_or_default();
        Ok(Chunks {
            reader,
            header,
            delimiter,
            book,
            errors: ImportErrors::default(),
            rows: 0,
            done: false,
        })
    }

    /// The next chunk's records (none once a problem was found), or `None` at the end.
    fn next_chunk(&mut self) -> Option<Vec<UsageRecord>> {
        if self.done {
            return None;
        }
        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .from_writer(Vec::new());
        // Where each row starts in the chunk's text and in the file: a quoted cell may hold
        // line ends, so a row may span lines in both.
        let mut starts: Vec<(u64, u64)> = Vec::new();
        let mut chunk_line: u64 = 2;
        let mut record = csv::ByteRecord::new();
        let mut failed = writer.write_byte_record(&self.header).is_err();
        while starts.len() < CHUNK_ROWS && !failed {
            match self.reader.read_byte_record(&mut record) {
                Ok(true) => {
                    let file_line = record.position().map_or(0, csv::Position::line);
                    starts.push((chunk_line, file_line));
                    let breaks = record.iter().flatten().filter(|b| **b == b'\n').count();
                    chunk_line = chunk_line
                        .saturating_add(1)
                        .saturating_add(u64::try_from(breaks).unwrap_or(u64::MAX));
                    failed = writer.write_byte_record(&record).is_err();
                }
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    let line = e.position().map_or(0, csv::Position::line);
                    self.errors
                        .push(line, "", "", format!("not a CSV row: {e}"));
                    self.done = true;
                    break;
                }
            }
        }
        if failed {
            self.errors
                .push(0, "", "", "the rows could not be buffered");
            self.done = true;
        }
        if starts.is_empty() && self.rows > 0 {
            return None;
        }
        self.rows = self
            .rows
            .saturating_add(u64::try_from(starts.len()).unwrap_or(u64::MAX));
        let text = writer.into_inner().unwrap_or_default();
        match plock_core::import::parse_usage(&text, &self.book) {
            Ok(records) if self.errors.is_empty() => Some(records),
            Ok(_) => Some(Vec::new()),
            Err(found) => {
                self.take(&found, &starts);
                Some(Vec::new())
            }
        }
    }

    /// Adds a chunk's problems at the file's lines; a problem of the header ends the reading.
    fn take(&mut self, found: &ImportErrors, starts: &[(u64, u64)]) {
        for e in found.errors() {
            let line = if e.line <= 1 {
                self.done = true;
                e.line
            } else {
                let i = starts.partition_point(|(chunk, _)| *chunk <= e.line);
                match i.checked_sub(1).and_then(|i| starts.get(i)) {
                    Some((chunk, file)) => file.saturating_add(e.line.saturating_sub(*chunk)),
                    None => e.line,
                }
            };
            self.errors
                .push(line, &e.column, &e.value, e.reason.clone());
        }
        // Past the listed ones, only the count grows.
        for _ in found.errors().len()..found.total() {
            self.errors.push(0, "", "", "");
        }
    }
}

/// Reads `path` (`-`: standard input) and, unless `dry_run`, writes its records in one
/// transaction, handing each chunk's records to `each_chunk` first. Returns the rows read.
///
/// # Errors
/// Every problem of the file (nothing written), or the store's failure.
pub fn import(
    s: &mut Opened,
    path: &Path,
    name: &str,
    dry_run: bool,
    rejected: impl Fn(&ImportErrors) -> CliError,
    mut each_chunk: impl FnMut(&[UsageRecord]),
) -> Result<u64> {
    let (input, len): (Box<dyn Read>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin().lock()), None)
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| fail(Class::Io, format!("cannot read {name}: {e}")))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    // Each chunk is read, checked and written before the next is read, so the bytes read
    // measure the whole import: the bar's rate and time left are the import's.
    let input = Counted {
        inner: input,
        progress: Progress::bytes(len, &format!("importing {name}")),
    };
    let book = s.store.account_book().map_err(crate::app::store_error)?;
    let mut chunks = Chunks::open(Box::new(input), book)
        .map_err(|e| fail(Class::Io, format!("cannot read {name}: {e}")))?;
    let refused = std::cell::Cell::new(false);
    let mut next = || match chunks.next_chunk() {
        Some(records) => {
            each_chunk(&records);
            Ok(Some(records))
        }
        None if chunks.errors.is_empty() => Ok(None),
        None => {
            refused.set(true);
            Err(rejected(&chunks.errors))
        }
    };
    if dry_run {
        while next()?.is_some() {}
    } else {
        s.store.add_usage_in_chunks(&mut next).map_err(|e| {
            // The file's problems say "nothing imported" themselves.
            if refused.get() {
                e
            } else {
                e.prefixed(format!("{name}: nothing imported; "))
            }
        })?;
    }
    Ok(chunks.rows)
}

/// A reader that counts the bytes it reads on a progress bar.
struct Counted<R> {
    inner: R,
    progress: Progress,
}

impl<R: Read> Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.inc(u64::try_from(n).unwrap_or(u64::MAX));
        Ok(n)
    }
}
