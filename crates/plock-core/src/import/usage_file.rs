//! A usage file of any length as blocks of checked records, read a chunk of rows at a time:
//! what `plock import usage` writes, one block to a chunk.
//!
//! Plain lines are read a batch of chunks at a time, on a thread of its own one batch ahead,
//! and the chunks checked in parallel by [`UsageChecker`], which gives each chunk's records
//! as one [`UsageBlock`] of canonical CSV text, or the problems core's own usage rules
//! ([`parse_usage`]) find in the chunk behind the file's header, at the file's lines. A file
//! with quoted cells (which may hold line ends) or a carriage return inside a line is read
//! by the CSV reader from the chunk where the first such line is, with the same rules. After
//! the first problem no more blocks are given; the rest of the file is still read for its
//! problems. Memory holds a batch of chunks and the blocks not yet taken, whatever the
//! file's length.
//!
//! A file is cut into the same chunks however it is read: a chunk is 10,000 rows, counted
//! from the file's first row, and a row without a record id gets one made from its chunk,
//! so importing the same file twice gives the same records.
//!
//! ```
//! use plock_core::book::AccountBook;
//! use plock_core::import::plan_account_import;
//! use plock_core::import::usage_file::UsageFile;
//! use plock_core::store::apply_to_book;
//!
//! let today = chrono::NaiveDate::from_ymd_opt(2025, 3, 1).ok_or("no such date")?;
//! let mut book = AccountBook::new();
//! let accounts = "key,name,currency\nglobex,Globex,EUR\n";
//! let plan = plan_account_import(accounts.as_bytes(), &book, today)?;
//! for (index, change) in plan.changes.iter().enumerate() {
//!     apply_to_book(&mut book, index, change)?;
//! }
//!
//! let usage = "account_key,metric,timestamp,quantity\n\
//!              globex,api_calls,2025-03-02T10:00:00Z,120\n\
//!              globex,api_calls,2025-03-03T10:00:00Z,80\n";
//! let mut file = UsageFile::open(Box::new(std::io::Cursor::new(usage)), &book)?;
//! let mut records = 0;
//! while let Some(block) = file.next_block() {
//!     records += block.len();
//! }
//! let (problems, rows) = file.finish();
//! assert!(problems.is_empty());
//! assert_eq!((records, rows), (2, 2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod ahead;
mod csv_chunks;
mod lines;
#[cfg(any(test, feature = "fuzz-support"))]
mod oracle;
#[cfg(test)]
mod tests;

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Cursor, Read};

use crate::book::AccountBook;
use crate::import::{Delimiter, ImportErrors, UsageBlock, UsageChecker, UsageRow};

#[cfg(doc)]
use crate::import::parse_usage;

use ahead::Ahead;
use csv_chunks::CsvChunks;
use lines::{Batch, CHUNK_ROWS, Lines};

/// Where the rows come from.
enum State {
    /// Plain lines, checked a batch of chunks at a time while the next is read.
    Lines(Ahead<BufReader<Box<dyn Read + Send>>>),
    /// The CSV reader's records.
    Csv(CsvChunks<Box<dyn Read + Send>>),
    Done,
}

/// A usage file as blocks of checked records (see the [module](self)).
pub struct UsageFile<'b> {
    book: &'b AccountBook,
    checker: UsageChecker<'b>,
    header: Vec<u8>,
    delimiter: u8,
    chunk_rows: usize,
    state: State,
    /// Blocks checked and not yet handed out.
    ready: VecDeque<UsageBlock>,
    errors: ImportErrors,
    rows: u64,
}

impl<'b> UsageFile<'b> {
    /// The usage file `input`, its header first, checked against `book`'s accounts.
    ///
    /// # Errors
    /// The input's failure on its first line.
    pub fn open(
        input: Box<dyn Read + Send>,
        book: &'b AccountBook,
    ) -> std::io::Result<UsageFile<'b>> {
        UsageFile::open_in_chunks(input, book, CHUNK_ROWS)
    }

    /// [`UsageFile::open`] with chunks of `chunk_rows` rows: tests reach the edges between
    /// chunks with short files. Made-up record ids depend on the chunks.
    fn open_in_chunks(
        input: Box<dyn Read + Send>,
        book: &'b AccountBook,
        chunk_rows: usize,
    ) -> std::io::Result<UsageFile<'b>> {
        let mut input = BufReader::with_capacity(1 << 20, input);
        let mut first = Vec::new();
        input.read_until(b'\n', &mut first)?;
        let line = first.strip_suffix(b"\n").unwrap_or(&first);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        let header = std::str::from_utf8(line)
            .ok()
            .filter(|h| !h.starts_with('\u{feff}') && !h.contains(['"', '\r']));
        let delimiter = Delimiter::detect(&String::from_utf8_lossy(line)).byte();
        let (state, header) = match header {
            Some(header) => (
                State::Lines(Ahead::new(Lines::new(input, 2, chunk_rows))),
                header.to_owned(),
            ),
            None => {
                let whole: Box<dyn Read + Send> = Box::new(Cursor::new(first).chain(input));
                (
                    State::Csv(CsvChunks::whole(whole, chunk_rows)?),
                    String::new(),
                )
            }
        };
        Ok(UsageFile {
            book,
            checker: UsageChecker::new(&header, book),
            header: header.into_bytes(),
            delimiter,
            chunk_rows,
            state,
            ready: VecDeque::new(),
            errors: ImportErrors::default(),
            rows: 0,
        })
    }

    /// The next block (empty once a problem was found), or `None` at the end.
    pub fn next_block(&mut self) -> Option<UsageBlock> {
        loop {
            if let Some(block) = self.ready.pop_front() {
                return Some(block);
            }
            match std::mem::replace(&mut self.state, State::Done) {
                State::Done => return None,
                State::Csv(mut chunks) => {
                    let block = chunks.next_chunk(self.book, &mut self.errors, &mut self.rows);
                    if block.is_some() {
                        self.state = State::Csv(chunks);
                    }
                    return block;
                }
                State::Lines(lines) => self.next_lines(lines),
            }
        }
    }

    /// Every problem of the file (none when it is clean) and the rows read, once
    /// [`UsageFile::next_block`] gave `None`.
    pub fn finish(self) -> (ImportErrors, u64) {
        (self.errors, self.rows)
    }

    /// Reads the next batch of plain lines.
    fn next_lines(&mut self, mut lines: Ahead<BufReader<Box<dyn Read + Send>>>) {
        match lines.next_batch() {
            Ok(Some(Batch::Rows { bytes, chunks })) => {
                self.state = State::Lines(lines);
                self.check(&bytes, &chunks);
            }
            Ok(Some(Batch::Csv { bytes, line })) => match lines.into_input() {
                Ok(input) => {
                    let rest: Box<dyn Read + Send> = Box::new(Cursor::new(bytes).chain(input));
                    let at = (line, self.chunk_rows);
                    let chunks = CsvChunks::resume(rest, &self.header, self.delimiter, at);
                    self.state = State::Csv(chunks);
                }
                Err(e) => self.unreadable(&e),
            },
            Ok(None) => {
                if self.rows == 0 {
                    // No row: the header is still checked.
                    self.take(self.checker.check(&[]));
                }
            }
            Err(e) => self.unreadable(&e),
        }
    }

    fn unreadable(&mut self, e: &std::io::Error) {
        let reason = format!("could not read the input: {e}");
        self.errors.push(0, "", "", reason);
    }

    /// Checks a batch's chunks, rows `chunks` of `bytes`.
    fn check(&mut self, bytes: &[u8], chunks: &[Vec<(u64, std::ops::Range<usize>)>]) {
        let chunks: Vec<Vec<UsageRow<'_>>> = chunks
            .iter()
            .map(|c| {
                c.iter()
                    .map(|(line, at)| (*line, bytes.get(at.clone()).unwrap_or_default()))
                    .collect()
            })
            .collect();
        let checked = self.checker.check_all(&chunks);
        for (rows, result) in chunks.iter().zip(checked) {
            self.rows = self
                .rows
                .saturating_add(u64::try_from(rows.len()).unwrap_or(u64::MAX));
            if self.take(result) {
                // A problem of the header: the rest is not read.
                self.state = State::Done;
                return;
            }
        }
    }

    /// Keeps a chunk's block, or adds its problems; whether one was of the header.
    fn take(&mut self, checked: Result<UsageBlock, ImportErrors>) -> bool {
        match checked {
            Ok(block) if self.errors.is_empty() => {
                self.ready.push_back(block);
                false
            }
            Ok(_) => false,
            Err(found) => {
                for e in found.errors() {
                    self.errors
                        .push(e.line, &e.column, &e.value, e.reason.clone());
                }
                // Past the listed ones, only the count grows.
                for _ in found.errors().len()..found.total() {
                    self.errors.push(0, "", "", "");
                }
                // Blocks checked before the problem are not given.
                self.ready.clear();
                found.errors().iter().any(|e| e.line <= 1)
            }
        }
    }
}

#[cfg(any(test, feature = "fuzz-support"))]
pub(crate) use oracle::agrees;
