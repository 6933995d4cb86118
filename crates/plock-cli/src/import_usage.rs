//! `plock import usage`: a usage CSV of any length, read, checked and written a chunk of
//! rows at a time, in one transaction.
//!
//! plock-core's [`UsageFile`] reads the file and checks it a chunk at a time, with the usage
//! rules of [`parse_usage`], giving each clean chunk as one block. The blocks are written as
//! they come; after the first problem nothing more is written, the rest of the file is still
//! read for its problems, and the transaction is rolled back. Memory holds the account book,
//! a batch of chunks and the blocks checked ahead of the writes, whatever the file's length.
//!
//! [`parse_usage`]: plock_core::import::parse_usage

use std::io::Read;
use std::path::Path;

use plock_core::AccountBook;
use plock_core::import::usage_file::UsageFile;
use plock_core::import::{ImportErrors, UsageBlock};

use crate::app::Opened;
use crate::exit::{Class, CliError, fail};
use crate::progress::Progress;

type Result<T> = std::result::Result<T, CliError>;

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

/// Hands out every block of `file`, then the end, until the file is read or `out` is closed.
fn run(mut file: UsageFile<'_>, out: &std::sync::mpsc::SyncSender<Piece>) {
    while let Some(block) = file.next_block() {
        if out.send(Piece::Block(block)).is_err() {
            // The writes stopped: nobody reads on.
            return;
        }
    }
    let (errors, rows) = file.finish();
    let _ = out.send(Piece::End { errors, rows });
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
    let source = UsageFile::open(Box::new(input), book)
        .map_err(|e| fail(Class::Io, format!("cannot read {name}: {e}")))?;
    std::thread::scope(|scope| {
        let (sender, blocks) = std::sync::mpsc::sync_channel(BLOCKS_AHEAD);
        let reader = scope.spawn(move || run(source, &sender));
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
        self.progress.inc(n);
        Ok(n)
    }
}
