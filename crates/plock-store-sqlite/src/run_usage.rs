//! Every stored usage record read into the engine's table for a billing run: the rows
//! written a batch at a time, then every block, as one CSV stream through plock-core's
//! parallel usage reader, made-up record ids no two records share left out
//! ([`crate::record_ids`]).

use std::io::Read;

use plock_core::import::UsageLayout;
use plock_core::store::StoreError;
use plock_core::{AccountBook, UsageTable};
use rusqlite::{Connection, Statement};

use crate::blocks::HEADER;
use crate::codec::{Context, USAGE_SELECT, backend, usage_record};
use crate::record_ids::{Finder, OnePass, Unshared};

const BLOCKS: &str = "SELECT csv FROM usage_blocks ORDER BY id";

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
        let block = row.get_ref(0).context("reading usage")?;
        finder.note(text, block.as_bytes().context("reading usage")?);
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
            match self.rows.next().map_err(std::io::Error::other)? {
                Some(row) => {
                    let block = row.get_ref(0).map_err(std::io::Error::other)?;
                    let block = block.as_bytes().map_err(std::io::Error::other)?;
                    self.current.clear();
                    self.at = 0;
                    self.text = self.text.saturating_add(1);
                    self.strip.strip_into(self.text, block, &mut self.current);
                }
                None => return Ok(0),
            }
        }
    }
}
