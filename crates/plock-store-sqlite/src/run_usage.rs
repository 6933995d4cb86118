//! Every stored usage record read into the engine's table for a billing run: the rows
//! written a batch at a time, then every block, as one CSV stream through plock-core's
//! parallel usage reader, made-up record ids no two records share left out
//! ([`crate::record_ids`]). A block stored without its made-up ids ([`crate::blocks`]) goes
//! to the stream as it is when they are unshared, unread; otherwise its ids are written back.

use std::io::Read;

use plock_core::import::{MadeUpIds, UsageLayout};
use plock_core::store::StoreError;
use plock_core::{AccountBook, UsageTable};
use rusqlite::{Connection, Row, Statement};

use crate::blocks::{HEADER, made_up_of};
use crate::codec::{Context, USAGE_SELECT, backend, usage_record};
use crate::record_ids::{Finder, OnePass, Unshared};

const BLOCKS: &str =
    "SELECT csv, records, made_up_fingerprint, made_up_first FROM usage_blocks ORDER BY id";

/// The made-up ids a block's text leaves out, and the number of its records.
type LeftOut = Option<(MadeUpIds, u64)>;

/// A block's row of [`BLOCKS`]: its text, and the made-up ids left out of it.
fn block_of<'r>(row: &'r Row<'_>) -> Result<(&'r [u8], LeftOut), StoreError> {
    let text = row.get_ref(0).context("reading usage")?;
    let text = text.as_bytes().context("reading usage")?;
    let records: i64 = row.get(1).context("reading usage")?;
    let made_up = made_up_of(row, 2)?.map(|m| (m, u64::try_from(records).unwrap_or(0)));
    Ok((text, made_up))
}

/// Every usage record, the rows' and the blocks', read into the engine's table by
/// plock-core's usage reader, in the caller's read transaction `tx`.
///
/// The blocks are read once, their made-up ids left out as they come
/// ([`OnePass`]); only when a later block shares ids left out of an earlier one (a chunk
/// imported twice) are they read again, with the ids known to be unshared. Each read
/// borrows SQLite's own copy of each block; memory holds one block's text at a time.
///
/// # Errors
/// [`StoreError::Backend`] for a failed read or a stored record the reader refuses.
pub(crate) fn usage_table(tx: &Connection, book: &AccountBook) -> Result<UsageTable, StoreError> {
    let rows = rows_text(tx)?;
    let mut stmt = tx.prepare(BLOCKS).context("reading usage")?;
    let mut once = OnePass::default();
    let table = read(&mut stmt, rows.as_bytes(), book, Strip::AsRead(&mut once))?;
    if once.held() {
        return Ok(table);
    }
    drop(table);
    let unshared = unshared(&mut stmt, rows.as_bytes())?;
    read(&mut stmt, rows.as_bytes(), book, Strip::Known(&unshared))
}

/// The made-up ids no two records share, from the rows' text and every block's.
fn unshared(stmt: &mut Statement<'_>, rows: &[u8]) -> Result<Unshared, StoreError> {
    let mut finder = Finder::default();
    finder.note(0, rows);
    let mut found = stmt.query([]).context("reading usage")?;
    let mut text = 0usize;
    while let Some(row) = found.next().context("reading usage")? {
        text = text.saturating_add(1);
        match block_of(row)? {
            (_, Some((made_up, records))) => finder.note_stored(text, made_up, records),
            (block, None) => finder.note(text, block),
        }
    }
    Ok(finder.unshared())
}

/// The rows' text, then every block's, read into the engine's table, ids left out by
/// `strip`.
fn read(
    stmt: &mut Statement<'_>,
    rows: &[u8],
    book: &AccountBook,
    mut strip: Strip<'_>,
) -> Result<UsageTable, StoreError> {
    let mut head = HEADER.as_bytes().to_vec();
    strip.strip_into(0, rows, &mut head);
    let mut stream = Blocks {
        rows: stmt.query([]).context("reading usage")?,
        strip,
        text: 0,
        current: head,
        at: 0,
    };
    plock_core::import::read_usage(&mut stream, book, &UsageLayout::default())
        .map_err(|e| backend(format!("stored usage is refused by the usage reader: {e}")))
}

/// The records written a batch at a time (not imported), as a block's text: few.
fn rows_text(tx: &Connection) -> Result<String, StoreError> {
    let mut records = Vec::new();
    let mut stmt = tx
        .prepare_cached(&format!("SELECT {USAGE_SELECT} FROM usage"))
        .context("reading usage")?;
    let mut found = stmt.query([]).context("reading usage")?;
    while let Some(row) = found.next().context("reading usage")? {
        records.push(usage_record(row)?);
    }
    crate::blocks::text_of(&records)
}

/// Which made-up ids a read leaves out.
enum Strip<'a> {
    /// Those unshared so far, each text read once.
    AsRead(&'a mut OnePass),
    /// Those known to be unshared, from a read before.
    Known(&'a Unshared),
}

impl Strip<'_> {
    /// Appends text number `text` to `out`, ids left out.
    fn strip_into(&mut self, text: usize, bytes: &[u8], out: &mut Vec<u8>) {
        match self {
            Strip::AsRead(once) => once.strip_into(text, bytes, out),
            Strip::Known(unshared) => unshared.strip_into(bytes, out),
        }
    }

    /// Notes text number `text`, a block of `records` records stored without its ids
    /// `made_up`; whether it goes to the stream as it is (else with its ids written back).
    fn leaves_out(&mut self, text: usize, made_up: MadeUpIds, records: u64) -> bool {
        match self {
            Strip::AsRead(once) => once.leaves_out(text, made_up, records),
            Strip::Known(unshared) => unshared.leaves_out(made_up),
        }
    }
}

/// The head, then every block's text, one after another, as one reader.
struct Blocks<'s, 'a> {
    rows: rusqlite::Rows<'s>,
    strip: Strip<'a>,
    /// The number of the text being read (the head's is 0).
    text: usize,
    /// The text being read, and how much of it is read.
    current: Vec<u8>,
    at: usize,
}

impl Read for Blocks<'_, '_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        loop {
            let rest = self.current.get(self.at..).unwrap_or_default();
            if !rest.is_empty() || buf.is_empty() {
                let n = rest.len().min(buf.len());
                let (to, from) = (buf.get_mut(..n), rest.get(..n));
                if let (Some(to), Some(from)) = (to, from) {
                    to.copy_from_slice(from);
                }
                self.at = self.at.saturating_add(n);
                return Ok(n);
            }
            let Some(row) = self.rows.next().map_err(std::io::Error::other)? else {
                return Ok(0);
            };
            let (block, made_up) = block_of(row).map_err(std::io::Error::other)?;
            self.current.clear();
            self.at = 0;
            self.text = self.text.saturating_add(1);
            match made_up {
                Some((ids, records)) if self.strip.leaves_out(self.text, ids, records) => {
                    // As it is: straight into `buf` when it fits, else held.
                    match buf.get_mut(..block.len()) {
                        Some(to) if !block.is_empty() => {
                            to.copy_from_slice(block);
                            return Ok(block.len());
                        }
                        _ => self.current.extend_from_slice(block),
                    }
                }
                Some((ids, _)) => ids.write_into(block, &mut self.current),
                None => self.strip.strip_into(self.text, block, &mut self.current),
            }
        }
    }
}
