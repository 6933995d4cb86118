//! `plock import usage`: a usage CSV of any length, read, checked and written a chunk of
//! rows at a time, in one transaction.
//!
//! Plain lines (`usage_lines`) are read a batch of chunks at a time and the chunks checked in
//! parallel by core's [`UsageChecker`], which gives each chunk's records as one block of
//! canonical CSV text, or the problems core's own usage rules ([`parse_usage`]) find in the
//! chunk behind the file's header, at the file's lines. A file with quoted cells is read by
//! the CSV reader from there (`usage_csv`), with the same rules. The blocks of clean chunks
//! are written as they come; after the first problem nothing more is written, the rest of
//! the file is still read for its problems, and the transaction is rolled back. Memory
//! holds the account book, a batch of chunks and the blocks checked ahead of the writes,
//! whatever the file's length.
//!
//! [`parse_usage`]: plock_core::import::parse_usage

use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::path::Path;

use plock_core::AccountBook;
use plock_core::import::{Delimiter, ImportErrors, UsageBlock, UsageChecker, UsageRow};

use crate::app::Opened;
use crate::exit::{Class, CliError, fail};
use crate::progress::Progress;
use crate::usage_ahead::Ahead;
use crate::usage_csv::CsvChunks;
use crate::usage_lines::{Batch, Lines};

type Result<T> = std::result::Result<T, CliError>;

/// Where the rows come from.
enum State {
    /// Plain lines, checked a batch of chunks at a time while the next is read.
    Lines(Ahead<BufReader<Box<dyn Read + Send>>>),
    /// The CSV reader's records.
    Csv(CsvChunks<Box<dyn Read + Send>>),
    Done,
}

/// The usage file as blocks of checked records.
struct Source<'b> {
    book: &'b AccountBook,
    checker: UsageChecker<'b>,
    header: Vec<u8>,
    delimiter: u8,
    state: State,
    /// Blocks checked and not yet handed out.
    ready: VecDeque<UsageBlock>,
    errors: ImportErrors,
    rows: u64,
}

impl<'b> Source<'b> {
    fn open(input: Box<dyn Read + Send>, book: &'b AccountBook) -> std::io::Result<Source<'b>> {
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
                State::Lines(Ahead::new(Lines::new(input, 2))),
                header.to_owned(),
            ),
            None => {
                let whole: Box<dyn Read + Send> = Box::new(Cursor::new(first).chain(input));
                (State::Csv(CsvChunks::whole(whole)?), String::new())
            }
        };
        Ok(Source {
            book,
            checker: UsageChecker::new(&header, book),
            header: header.into_bytes(),
            delimiter,
            state,
            ready: VecDeque::new(),
            errors: ImportErrors::default(),
            rows: 0,
        })
    }

    /// The next block (empty once a problem was found), or `None` at the end.
    fn next_block(&mut self) -> Option<UsageBlock> {
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
                State::Lines(mut lines) => match lines.next_batch() {
                    Ok(Some(Batch::Rows { bytes, chunks })) => {
                        self.state = State::Lines(lines);
                        self.check(&bytes, &chunks);
                    }
                    Ok(Some(Batch::Csv { bytes, line })) => match lines.into_input() {
                        Ok(input) => {
                            let rest: Box<dyn Read + Send> =
                                Box::new(Cursor::new(bytes).chain(input));
                            let chunks =
                                CsvChunks::resume(rest, &self.header, self.delimiter, line);
                            self.state = State::Csv(chunks);
                        }
                        Err(e) => {
                            let reason = format!("could not read the input: {e}");
                            self.errors.push(0, "", "", reason);
                        }
                    },
                    Ok(None) => {
                        if self.rows == 0 {
                            // No row: the header is still checked.
                            self.take(self.checker.check(&[]));
                        }
                    }
                    Err(e) => {
                        let reason = format!("could not read the input: {e}");
                        self.errors.push(0, "", "", reason);
                    }
                },
            }
        }
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
    fn take(&mut self, checked: std::result::Result<UsageBlock, ImportErrors>) -> bool {
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
                // Blocks checked before the problem are not written.
                self.ready.clear();
                found.errors().iter().any(|e| e.line <= 1)
            }
        }
    }
}

/// Blocks checked ahead of the writes: about 750 KB each at the kit's M.
const BLOCKS_AHEAD: usize = 64;

/// What the reading thread hands the writing one.
enum Piece {
    Block(UsageBlock),
    /// The file is read: its problems (none when it is clean) and its rows.
    End {
        errors: ImportErrors,
        rows: u64,
    },
}

impl Source<'_> {
    /// Hands out every block, then the end, until the file is read or `out` is closed.
    fn run(mut self, out: &std::sync::mpsc::SyncSender<Piece>) {
        while let Some(block) = self.next_block() {
            if out.send(Piece::Block(block)).is_err() {
                // The writes stopped: nobody reads on.
                return;
            }
        }
        let _ = out.send(Piece::End {
            errors: self.errors,
            rows: self.rows,
        });
    }
}

/// Reads `path` (`-`: standard input), checking its rows against `book`, and, unless
/// `dry_run`, writes its records in one transaction, handing each block of records to
/// `each_block` first. Returns the rows read.
///
/// The file is read and checked on a thread of its own, up to [`BLOCKS_AHEAD`] blocks ahead
/// of the writes, so checking (on the rayon pool) and SQLite's writes overlap.
///
/// # Errors
/// Every problem of the file (nothing written), or the store's failure.
pub fn import(
    s: &mut Opened,
    book: &AccountBook,
    path: &Path,
    name: &str,
    dry_run: bool,
    rejected: impl Fn(&ImportErrors) -> CliError,
    mut each_block: impl FnMut(&UsageBlock),
) -> Result<u64> {
    let (input, len): (Box<dyn Read + Send>, Option<u64>) = if path.as_os_str() == "-" {
        (Box::new(std::io::stdin()), None)
    } else {
        let file = std::fs::File::open(path)
            .map_err(|e| fail(Class::Io, format!("cannot read {name}: {e}")))?;
        let len = file.metadata().ok().map(|m| m.len());
        (Box::new(file), len)
    };
    // The bytes read run at most a few blocks ahead of the writes, so they measure the
    // whole import: the bar's rate and time left are the import's.
    let input = Counted {
        inner: input,
        progress: Progress::bytes(len, &format!("importing {name}")),
    };
    let source = Source::open(Box::new(input), book)
        .map_err(|e| fail(Class::Io, format!("cannot read {name}: {e}")))?;
    std::thread::scope(|scope| {
        let (sender, blocks) = std::sync::mpsc::sync_channel(BLOCKS_AHEAD);
        let reader = scope.spawn(move || source.run(&sender));
        let refused = std::cell::Cell::new(false);
        let rows = std::cell::Cell::new(0u64);
        let mut next = || match blocks.recv() {
            Ok(Piece::Block(block)) => {
                each_block(&block);
                Ok(Some(block))
            }
            Ok(Piece::End { errors, rows: read }) => {
                rows.set(read);
                if errors.is_empty() {
                    Ok(None)
                } else {
                    refused.set(true);
                    Err(rejected(&errors))
                }
            }
            Err(_) => Err(fail(
                Class::Io,
                format!("cannot read {name}: the reader stopped"),
            )),
        };
        let done = if dry_run {
            loop {
                match next() {
                    Ok(Some(_)) => {}
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
        } else {
            s.store
                .add_usage_in_chunks(&mut next)
                .map(|_| ())
                .map_err(|e| {
                    // The file's problems say "nothing imported" themselves.
                    if refused.get() {
                        e
                    } else {
                        e.prefixed(format!("{name}: nothing imported; "))
                    }
                })
        };
        // The reader stops at its next block once nobody receives.
        drop(blocks);
        if reader.join().is_err() {
            return Err(fail(
                Class::Io,
                format!("cannot read {name}: the reader failed"),
            ));
        }
        done.map(|()| rows.get())
    })
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
