//! An import's records gathered by account key into the rows of `usage_blocks`: each row one
//! key's records, as the lines of the blocks the import was given.
//!
//! The server's work for a row is most of an import's: one row of many records costs it
//! about what one record's row did. An import's records come in the file's order, which is
//! any order over the company's accounts, so the blocks are held until [`HOLD_BYTES`] of
//! lines are, each line noted with its key's slot; then each key's lines are written as one
//! row, found by a counting sort of the notes. A line is copied once, into the row being
//! written; a key costs one lookup a line, and its invoice owner one lookup an import.

use std::collections::HashMap;

use plock_core::import::UsageBlock;
use plock_core::store::StoreError;

use crate::codec::backend;
use crate::owners::{Owners, Short};

/// Lines held, over every key, before they are written: also the most a row holds.
pub(crate) const HOLD_BYTES: usize = 64 << 20;

/// A row to write: the owner, the account key, its records and their lines.
pub(crate) struct Row<'a> {
    pub(crate) owner: &'a str,
    pub(crate) key: &'a str,
    pub(crate) records: u32,
    pub(crate) lines: &'a [u8],
}

/// A key met in the import, and its owner.
struct Slot {
    key: String,
    owner: String,
}

/// Where a held line is: its key's slot, its block, and its bytes in the block's text.
#[derive(Clone, Copy, Default)]
struct Line {
    slot: u32,
    block: u32,
    start: u32,
    len: u32,
}

/// The blocks held, their lines noted by key.
#[derive(Default)]
pub(crate) struct KeyBlocks {
    short: HashMap<Short, u32>,
    long: HashMap<String, u32>,
    slots: Vec<Slot>,
    blocks: Vec<UsageBlock>,
    lines: Vec<Line>,
    held: usize,
}

impl KeyBlocks {
    /// Adds `block`'s lines; writes rows with `write` when enough are held.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an account key `owners` does not hold; `write`'s error;
    /// [`StoreError::Backend`] for text that is not a block's.
    pub(crate) fn add(
        &mut self,
        owners: &Owners,
        block: UsageBlock,
        write: &mut impl FnMut(Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let index = u32::try_from(self.blocks.len()).map_err(|_| too_many())?;
        // The rows keep text alone: every id is written into it.
        let block = block.with_ids_written();
        let text = block.text();
        if text.contains('"') {
            self.add_quoted(owners, index, text)?;
        } else {
            let mut start = 0usize;
            for line in text.split_inclusive('\n') {
                let key = line.split(',').next().unwrap_or_default();
                self.note(owners, key, index, start, line.len())?;
                start = start.saturating_add(line.len());
            }
        }
        self.held = self.held.saturating_add(text.len());
        self.blocks.push(block);
        if self.held >= HOLD_BYTES {
            self.flush(write)?;
        }
        Ok(())
    }

    /// Notes the lines of a text with quoted cells, each line cut where the CSV reader says
    /// its record ends.
    fn add_quoted(&mut self, owners: &Owners, index: u32, text: &str) -> Result<(), StoreError> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        let mut record = csv::StringRecord::new();
        let mut start = 0usize;
        while reader
            .read_record(&mut record)
            .map_err(|e| backend(format!("a usage block's text: {e}")))?
        {
            let end = usize::try_from(reader.position().byte()).unwrap_or(usize::MAX);
            if end > text.len() || end < start {
                return Err(backend("a usage block's text ends inside a record"));
            }
            let key = record.get(0).unwrap_or_default();
            self.note(owners, key, index, start, end.saturating_sub(start))?;
            start = end;
        }
        Ok(())
    }

    /// Notes a line of `key` at `start` in block `block`.
    fn note(
        &mut self,
        owners: &Owners,
        key: &str,
        block: u32,
        start: usize,
        len: usize,
    ) -> Result<(), StoreError> {
        let short = Short::new(key);
        let found = match &short {
            Some(short) => self.short.get(short),
            None => self.long.get(key),
        };
        let slot = match found {
            Some(slot) => *slot,
            None => {
                let owner = owners.get(key).ok_or_else(|| StoreError::NotFound {
                    index: 0,
                    what: "account key",
                    id: key.to_owned(),
                })?;
                let slot = u32::try_from(self.slots.len()).map_err(|_| too_many())?;
                self.slots.push(Slot {
                    key: key.to_owned(),
                    owner: owner.to_owned(),
                });
                match short {
                    Some(short) => self.short.insert(short, slot),
                    None => self.long.insert(key.to_owned(), slot),
                };
                slot
            }
        };
        let (Ok(start), Ok(len)) = (u32::try_from(start), u32::try_from(len)) else {
            return Err(too_many());
        };
        self.lines.push(Line {
            slot,
            block,
            start,
            len,
        });
        Ok(())
    }

    /// Writes every key's lines held, a row a key, and lets the blocks go.
    ///
    /// # Errors
    /// `write`'s error.
    pub(crate) fn flush(
        &mut self,
        write: &mut impl FnMut(Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        // A counting sort of the lines by slot, each slot's lines in the order they came.
        let mut first = vec![0usize; self.slots.len().saturating_add(1)];
        for line in &self.lines {
            if let Some(n) = first.get_mut(line.slot as usize + 1) {
                *n = n.saturating_add(1);
            }
        }
        for i in 1..first.len() {
            let before = first.get(i - 1).copied().unwrap_or(0);
            if let Some(n) = first.get_mut(i) {
                *n = n.saturating_add(before);
            }
        }
        let mut next = first.clone();
        let mut sorted = vec![Line::default(); self.lines.len()];
        for line in &self.lines {
            if let Some(at) = next.get_mut(line.slot as usize) {
                if let Some(place) = sorted.get_mut(*at) {
                    *place = *line;
                }
                *at = at.saturating_add(1);
            }
        }
        let mut text = Vec::new();
        for (slot, bounds) in self.slots.iter().zip(first.windows(2)) {
            let [from, to] = bounds else { continue };
            let lines = sorted.get(*from..*to).unwrap_or_default();
            if lines.is_empty() {
                continue;
            }
            text.clear();
            for line in lines {
                let block = self.blocks.get(line.block as usize).map(UsageBlock::text);
                let start = line.start as usize;
                let bytes = block
                    .and_then(|t| {
                        t.as_bytes()
                            .get(start..start.saturating_add(line.len as usize))
                    })
                    .unwrap_or_default();
                text.extend_from_slice(bytes);
                if !bytes.ends_with(b"\n") {
                    text.push(b'\n');
                }
            }
            write(Row {
                owner: &slot.owner,
                key: &slot.key,
                records: u32::try_from(lines.len()).map_err(|_| too_many())?,
                lines: &text,
            })?;
        }
        self.lines.clear();
        self.blocks.clear();
        self.held = 0;
        Ok(())
    }
}

fn too_many() -> StoreError {
    backend("a usage import holds more lines than it can count")
}

#[cfg(test)]
#[path = "key_blocks_tests.rs"]
mod tests;
