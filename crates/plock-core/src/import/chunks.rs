//! An accounts or subscriptions file read a chunk at a time: each chunk is whole records
//! (cut at a line end outside quotes), parsed with the header as its own small [`Table`], its
//! lines numbered as in the file. Memory holds one chunk of text, whatever the file's length.

use std::io::{self, Read};

use super::table::{Delimiter, ImportErrors, MAX_STREAMED_ROWS, RowLimit, Table};

/// Text read at a time, about: a chunk ends at the last record end in it.
pub(crate) const CHUNK_BYTES: usize = 4 << 20;
/// The longest record (a line, or several inside quotes) an accounts or subscriptions file
/// may hold: its cells are checked one by one, each to limits far below this.
pub const MAX_RECORD_BYTES: usize = 16 << 20;

/// Where the CSV reader is in a record, as far as finding a record's end needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a field's first byte: a quote here opens a quoted field.
    FieldStart,
    /// In a field not quoted: a quote is text.
    Unquoted,
    /// In a quoted field: a line end is text.
    Quoted,
    /// Just after a quote in a quoted field: another quote is an escaped one.
    QuoteInQuoted,
}

/// The byte after the last record end (a line end outside quotes) of `bytes`, which starts
/// at a record's start, in a file separated by `delimiter`: a quote opens a quoted field
/// only at a field's start, as the CSV reader reads it.
fn last_record_end(bytes: &[u8], delimiter: u8) -> Option<usize> {
    // Without a quote every line end is a record end: the last one is found from the back.
    if memchr::memchr(b'"', bytes).is_none() {
        return memchr::memrchr(b'\n', bytes).map(|at| at.saturating_add(1));
    }
    let mut state = State::FieldStart;
    let mut end = None;
    for (at, byte) in bytes.iter().enumerate() {
        let is_delimiter = *byte == delimiter;
        state = match (state, *byte) {
            (State::Quoted, b'"') => State::QuoteInQuoted,
            (State::Quoted, _) => State::Quoted,
            (State::QuoteInQuoted, b'"') | (State::FieldStart, b'"') => State::Quoted,
            (_, b'\n') => {
                end = Some(at.saturating_add(1));
                State::FieldStart
            }
            _ if is_delimiter => State::FieldStart,
            _ => State::Unquoted,
        };
    }
    end
}

/// A file's chunks, each a [`Table`] of whole records with the file's header and line
/// numbers.
pub(crate) struct Chunks<'c, R> {
    input: R,
    known: &'c [&'c str],
    required: &'c [&'c str],
    /// The header line, with its line end; `None` before the first chunk.
    header: Option<Vec<u8>>,
    /// Bytes read and not yet in a chunk.
    pending: Vec<u8>,
    /// The file's line of `pending`'s first byte.
    line: u64,
    /// The separator the header uses, once known.
    delimiter: Option<u8>,
    /// Data rows so far, for the file's row limit.
    rows: usize,
    ended: bool,
    /// The sizes read at a time and of the longest record.
    sizes: Sizes,
    /// A problem that ends the reading (a failing input, a record too long).
    failed: bool,
}

/// How much text a chunk holds, about, and how long a record may be.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sizes {
    pub(crate) chunk: usize,
    pub(crate) record: usize,
}

/// The sizes the imports read with.
pub(crate) const SIZES: Sizes = Sizes {
    chunk: CHUNK_BYTES,
    record: MAX_RECORD_BYTES,
};

impl<'c, R: Read> Chunks<'c, R> {
    pub(crate) fn new(
        input: R,
        known: &'c [&'c str],
        required: &'c [&'c str],
        sizes: Sizes,
    ) -> Self {
        Chunks {
            sizes,
            input,
            known,
            required,
            header: None,
            pending: Vec::new(),
            line: 1,
            rows: 0,
            delimiter: None,
            ended: false,
            failed: false,
        }
    }

    /// The next chunk as a table (its rows' problems in `problems`), `Ok(None)` at the end.
    ///
    /// # Errors
    /// A problem that ends the reading, at its line: the header refused, bytes that are not
    /// UTF-8, a failing input, a record longer than [`MAX_RECORD_BYTES`].
    pub(crate) fn next_table(&mut self) -> Result<Option<Table>, ImportErrors> {
        if self.failed || (self.ended && self.pending.is_empty() && self.header.is_some()) {
            return Ok(None);
        }
        let body = self.next_body().inspect_err(|_| self.failed = true)?;
        let first = self.header.is_none();
        if first {
            let body = body
                .strip_prefix(b"\xEF\xBB\xBF".as_slice())
                .unwrap_or(&body);
            let header = first_line(body).to_vec();
            let table = self.parse(body, 0)?;
            self.header = Some(header);
            return Ok(Some(table));
        }
        let header = self.header.clone().unwrap_or_default();
        let mut text = header;
        text.extend_from_slice(&body);
        // The header is line 1 of `text`; its body's first line is the file's `first`.
        let shift = self.line.saturating_sub(2);
        self.line = self.line.saturating_add(newlines(&body));
        let table = self.parse(&text, shift)?;
        Ok(Some(table))
    }

    /// Parses `text` (a header and whole records), its lines `shift` below the file's.
    fn parse(&mut self, text: &[u8], shift: u64) -> Result<Table, ImportErrors> {
        let limit = RowLimit {
            left: MAX_STREAMED_ROWS.saturating_sub(self.rows),
            of_file: MAX_STREAMED_ROWS,
        };
        let table = Table::parse_part(text, self.known, self.required, shift, limit)
            .inspect_err(|_| self.failed = true)?;
        if self.header.is_none() {
            self.line = self.line.saturating_add(newlines(text));
        }
        self.rows = self.rows.saturating_add(table.rows.len());
        // Past the row limit the rest of the file is not read.
        self.failed = table.truncated;
        Ok(table)
    }

    /// The next whole records: at least a chunk's size unless the input ends first.
    fn next_body(&mut self) -> Result<Vec<u8>, ImportErrors> {
        loop {
            if self.ended {
                return Ok(std::mem::take(&mut self.pending));
            }
            // The separator is known once the header line is whole.
            let header_read =
                self.delimiter.is_some() || memchr::memchr(b'\n', &self.pending).is_some();
            if self.pending.len() >= self.sizes.chunk && header_read {
                let delimiter = self.delimiter();
                if let Some(cut) = last_record_end(&self.pending, delimiter) {
                    let rest = self.pending.split_off(cut);
                    return Ok(std::mem::replace(&mut self.pending, rest));
                }
            }
            if self.pending.len() > self.sizes.chunk.saturating_add(self.sizes.record) {
                return Err(one(
                    self.line,
                    format!(
                        "a record runs past {} bytes (no line end outside quotes)",
                        self.sizes.record
                    ),
                ));
            }
            self.fill()?;
        }
    }

    /// The file's separator: the one its header line (the first of `pending` until known)
    /// uses most, as [`Table`] picks it.
    fn delimiter(&mut self) -> u8 {
        *self.delimiter.get_or_insert_with(|| {
            let header = String::from_utf8_lossy(first_line(&self.pending));
            Delimiter::detect(&header).byte()
        })
    }

    /// Reads more of the input into `pending`.
    fn fill(&mut self) -> Result<(), ImportErrors> {
        let mut buffer = vec![0; self.sizes.chunk.clamp(1, 1 << 20)];
        loop {
            match self.input.read(&mut buffer) {
                Ok(0) => {
                    self.ended = true;
                    return Ok(());
                }
                Ok(n) => {
                    self.pending
                        .extend_from_slice(buffer.get(..n).unwrap_or_default());
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let line = self.line.saturating_add(newlines(&self.pending));
                    return Err(one(line, format!("cannot read the file: {e}")));
                }
            }
        }
    }
}

/// The bytes up to and with the first line end.
fn first_line(bytes: &[u8]) -> &[u8] {
    match memchr::memchr(b'\n', bytes) {
        Some(at) => bytes.get(..=at).unwrap_or(bytes),
        None => bytes,
    }
}

fn newlines(bytes: &[u8]) -> u64 {
    u64::try_from(memchr::memchr_iter(b'\n', bytes).count()).unwrap_or(u64::MAX)
}

fn one(line: u64, reason: String) -> ImportErrors {
    let mut errors = ImportErrors::default();
    errors.push(line, "", "", reason);
    errors
}
