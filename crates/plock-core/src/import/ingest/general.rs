//! The rest of a file read by the CSV reader, one record after another, for what the chunks
//! do not read: quoted cells (which may hold line ends), carriage returns inside a line, a
//! header that is not one plain line. Rows go through the row rules. The bytes are checked as
//! UTF-8 as they pass, and each record's line is the line of its first byte, as the import
//! counts lines.

use std::collections::VecDeque;
use std::io::{self, Read};

use super::piece::row_rules;
use super::sink::Sink;
use crate::book::AccountBook;
use crate::id::AccountKey;
use crate::import::layout::{Columns, UsageLayout};
use crate::import::table::{Delimiter, ImportErrors};

/// Where the CSV reader starts.
pub(super) enum Start<'s> {
    /// At the header, which `layout` reads.
    Header(&'s UsageLayout),
    /// At a row of a file of these columns.
    Rows(&'s Columns),
}

/// Reads `input`, whose first line is `first_line`, with the CSV reader into `sink`.
///
/// # Errors
/// The problems to report instead of any other: bytes that are not UTF-8, a bad header, or
/// the input failing (with the problems found before).
pub(super) fn read_general<R: Read>(
    input: R,
    first_line: u64,
    start: Start<'_>,
    delimiter: Delimiter,
    (book, keys): (&AccountBook, &[AccountKey]),
    sink: &mut Sink,
) -> Result<(), ImportErrors> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter.byte())
        .has_headers(false)
        .flexible(true)
        .from_reader(Tracked::new(input, first_line));
    let mut record = csv::ByteRecord::new();
    let header;
    let columns = match start {
        Start::Rows(columns) => columns,
        Start::Header(layout) => {
            let read = reader.read_byte_record(&mut record);
            read.map_err(|e| failure(reader.get_ref(), e, std::mem::take(&mut sink.errors)))?;
            header = match layout.columns(cells(&record).into_iter(), delimiter) {
                Ok(header) => header,
                Err(errors) => return Err(not_utf8(reader.into_inner()).unwrap_or(errors)),
            };
            &header
        }
    };
    loop {
        match reader.read_byte_record(&mut record) {
            Ok(false) => return Ok(()),
            Ok(true) => {
                let at = record.position().map_or(0, csv::Position::byte);
                let line = reader.get_mut().line_of(at);
                let cells = cells(&record);
                if let Some(r) = row_rules(&cells, line, columns, book, &mut sink.errors) {
                    sink.push_record(keys, line, &r);
                }
            }
            Err(e) => {
                return Err(failure(
                    reader.get_ref(),
                    e,
                    std::mem::take(&mut sink.errors),
                ));
            }
        }
    }
}

/// The problem of the first bytes of `input` that are not UTF-8, if any: the import
/// reports it before any other, a bad header included.
pub(super) fn not_utf8<R: Read>(mut input: Tracked<R>) -> Option<ImportErrors> {
    let _ = io::copy(&mut input, &mut io::sink());
    let line = input.not_utf8?;
    let mut only = ImportErrors::default();
    only.push(line, "", "", "file is not valid UTF-8");
    Some(only)
}

/// A record's cells as text: the input was checked as UTF-8 before the reader split it, at
/// ASCII separators and quotes.
fn cells(record: &csv::ByteRecord) -> Vec<&str> {
    record
        .iter()
        .map(|c| std::str::from_utf8(c).unwrap_or_default())
        .collect()
}

/// The problems to report for the reader's error `e`: the first bytes that are not UTF-8
/// alone, else the failure added to those found before.
fn failure<R>(input: &Tracked<R>, e: csv::Error, mut errors: ImportErrors) -> ImportErrors {
    if let Some(line) = input.not_utf8 {
        let mut only = ImportErrors::default();
        only.push(line, "", "", "file is not valid UTF-8");
        return only;
    }
    errors.push(
        input.line(),
        "",
        "",
        format!("could not read the input: {e}"),
    );
    errors
}

/// The input as it passes to the CSV reader, checked as UTF-8, with the place and line of
/// each line's first byte that is not a line end, kept until a record at or past it is read.
pub(super) struct Tracked<R> {
    inner: R,
    first_line: u64,
    /// Bytes passed on, and line ends among them.
    offset: u64,
    newlines: u64,
    /// Whether the last byte passed on ended a line (true at the start).
    after_end: bool,
    /// (place, line ends before it) of line starts not yet claimed by a record.
    starts: VecDeque<(u64, u64)>,
    /// The start of a UTF-8 sequence that the bytes passed on end in the middle of.
    partial: Vec<u8>,
    /// The line of the first byte that is not UTF-8.
    pub(super) not_utf8: Option<u64>,
}

impl<R> Tracked<R> {
    pub(super) fn new(inner: R, first_line: u64) -> Tracked<R> {
        Tracked {
            inner,
            first_line,
            offset: 0,
            newlines: 0,
            after_end: true,
            starts: VecDeque::new(),
            partial: Vec::new(),
            not_utf8: None,
        }
    }

    /// The line the input has reached.
    fn line(&self) -> u64 {
        self.first_line.saturating_add(self.newlines)
    }

    /// The line of a record at `at`: of its first byte that is not a line end (a record's
    /// place may be that of the empty lines before it).
    pub(super) fn line_of(&mut self, at: u64) -> u64 {
        while self.starts.front().is_some_and(|(place, _)| *place < at) {
            self.starts.pop_front();
        }
        let before = self.starts.front().map_or(self.newlines, |(_, n)| *n);
        self.first_line.saturating_add(before)
    }

    /// Checks `bytes`, which follow those passed on, as UTF-8; an error names the line of
    /// the first that is not.
    fn check(&mut self, bytes: &[u8]) -> io::Result<()> {
        let joined;
        let text = if self.partial.is_empty() {
            bytes
        } else {
            joined = [self.partial.as_slice(), bytes].concat();
            joined.as_slice()
        };
        let bad = match std::str::from_utf8(text) {
            Ok(_) => {
                self.partial.clear();
                return Ok(());
            }
            Err(e) => match e.error_len() {
                None if !bytes.is_empty() => {
                    self.partial = text.get(e.valid_up_to()..).unwrap_or_default().to_vec();
                    return Ok(());
                }
                _ => e.valid_up_to(),
            },
        };
        let before = text.get(..bad).unwrap_or_default();
        let lines = memchr::memchr_iter(b'\n', before).count();
        let lines = self
            .newlines
            .saturating_add(u64::try_from(lines).unwrap_or(u64::MAX));
        self.not_utf8 = Some(self.first_line.saturating_add(lines));
        Err(io::Error::new(io::ErrorKind::InvalidData, "not UTF-8"))
    }

    /// Notes the line starts and ends of `bytes`, passed on.
    fn track(&mut self, bytes: &[u8]) {
        for (b, at) in bytes.iter().zip(self.offset..) {
            let end = matches!(b, b'\n' | b'\r');
            if self.after_end && !end {
                self.starts.push_back((at, self.newlines));
            }
            self.after_end = end;
            if *b == b'\n' {
                self.newlines = self.newlines.saturating_add(1);
            }
        }
        let n = u64::try_from(bytes.len()).unwrap_or(u64::MAX);
        self.offset = self.offset.saturating_add(n);
    }
}

impl<R: Read> Read for Tracked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        let bytes = buf.get(..n).unwrap_or_default();
        // At the end (no bytes), a sequence left open is an error.
        self.check(bytes)?;
        self.track(bytes);
        Ok(n)
    }
}
