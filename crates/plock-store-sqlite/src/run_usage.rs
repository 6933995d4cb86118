//! Every stored usage record read into the engine's table for a billing run: the rows
//! written a batch at a time, then every block, as one CSV stream through plock-core's
//! parallel usage reader, made-up record ids no two records share left out
//! ([`crate::record_ids`]).

use std::io::Read;

use plock_core::import::UsageLayout;
use plock_core::store::StoreError;
use plock_core::{AccountBook, UsageTable};
use rusqlite::Connection;

use crate::blocks::HEADER;
use crate::codec::{Context, USAGE_SELECT, backend, usage_record};
use crate::record_ids::{Finder, Unshared};

const BLOCKS: &str = "SELECT csv FROM usage_blocks ORDER BY id";

/// Every usage record, the rows' and the blocks', read into the engine's table by
/// plock-core's usage reader, in the caller's read transaction `tx`.
///
/// The blocks are read twice: once for their made-up ids, then for the run. Both reads
/// borrow SQLite's own copy of each block; memory holds one block's text at a time.
///
/// # Errors
/// [`StoreError::Backend`] for a failed read or a stored record the reader refuses.
pub(crate) fn usage_table(tx: &Connection, book: &AccountBook) -> Result<UsageTable, StoreError> {
    let rows = rows_text(tx)?;
    let mut finder = Finder::default();
    finder.note(0, rows.as_bytes());
    let mut stmt = tx.prepare(BLOCKS).context("reading usage")?;
    let mut found = stmt.query([]).context("reading usage")?;
    let mut text = 0usize;
    while let Some(row) = found.next().context("reading usage")? {
        text = text.saturating_add(1);
        let block = row.get_ref(0).context("reading usage")?;
        finder.note(text, block.as_bytes().context("reading usage")?);
    }
    drop(found);
    let unshared = finder.unshared();
    let mut head = HEADER.as_bytes().to_vec();
    unshared.strip_into(rows.as_bytes(), &mut head);
    drop(rows);
    let stream = Blocks {
        rows: stmt.query([]).context("reading usage")?,
        unshared: &unshared,
        current: head,
        at: 0,
    };
    plock_core::import::read_usage(stream, book, &UsageLayout::default())
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

/// The head, then every block's text, one after another, as one reader.
struct Blocks<'s> {
    rows: rusqlite::Rows<'s>,
    unshared: &'s Unshared,
    /// The text being read, and how much of it is read.
    current: Vec<u8>,
    at: usize,
}

impl Read for Blocks<'_> {
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
                    self.unshared.strip_into(block, &mut self.current);
                }
                None => return Ok(0),
            }
        }
    }
}
