//! An import's records gathered by account key into the rows of `usage_blocks`: each row one
//! key's records, as the lines of the blocks the import was given.
//!
//! The server's work for a row is most of an import's: one row of many records costs it
//! about what one record's row did. An import's records come in the file's order, which is
//! any order over the company's accounts, so each key's lines are held until
//! [`HOLD_BYTES`] of lines are held, then written, a row a key; a key whose lines reach
//! [`BLOCK_BYTES`] is written at once. Each key's invoice owner is looked up once.

use std::collections::HashMap;

use plock_core::import::UsageBlock;
use plock_core::store::StoreError;

use crate::codec::backend;
use crate::owners::Owners;

/// Lines held, over every key, before they are written.
pub(crate) const HOLD_BYTES: usize = 64 << 20;

/// A key's lines written as one row as soon as they reach this.
pub(crate) const BLOCK_BYTES: usize = 1 << 20;

/// A row to write: the owner, the account key, its records and their lines.
pub(crate) struct Row<'a> {
    pub(crate) owner: &'a str,
    pub(crate) key: &'a str,
    pub(crate) records: u32,
    pub(crate) lines: &'a [u8],
}

/// One key's lines held.
#[derive(Default)]
struct Slot {
    owner: String,
    lines: Vec<u8>,
    records: u32,
}

impl Slot {
    fn push(&mut self, line: &str) {
        self.lines.extend_from_slice(line.as_bytes());
        if !line.ends_with('\n') {
            self.lines.push(b'\n');
        }
        self.records = self.records.saturating_add(1);
    }

    /// Writes the lines held, if any, and empties the slot.
    fn emit(
        &mut self,
        key: &str,
        write: &mut impl FnMut(Row<'_>) -> Result<(), StoreError>,
    ) -> Result<usize, StoreError> {
        if self.records == 0 {
            return Ok(0);
        }
        write(Row {
            owner: &self.owner,
            key,
            records: self.records,
            lines: &self.lines,
        })?;
        let freed = self.lines.len();
        self.lines = Vec::new();
        self.records = 0;
        Ok(freed)
    }
}

/// Each account key's lines held, and its owner.
#[derive(Default)]
pub(crate) struct KeyBlocks {
    slots: HashMap<String, Slot>,
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
        block: &UsageBlock,
        write: &mut impl FnMut(Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let text = block.text();
        if text.contains('"') {
            self.add_quoted(owners, text, write)?;
        } else {
            for line in text.split_inclusive('\n') {
                let key = line.split(',').next().unwrap_or_default();
                self.push(owners, key, line, write)?;
            }
        }
        if self.held >= HOLD_BYTES {
            self.flush(write)?;
        }
        Ok(())
    }

    /// Adds the lines of a text with quoted cells, each line cut where the CSV reader says
    /// its record ends.
    fn add_quoted(
        &mut self,
        owners: &Owners,
        text: &str,
        write: &mut impl FnMut(Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
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
            let line = text
                .get(start..end)
                .ok_or_else(|| backend("a usage block's text ends inside a record"))?;
            start = end;
            self.push(owners, record.get(0).unwrap_or_default(), line, write)?;
        }
        Ok(())
    }

    fn push(
        &mut self,
        owners: &Owners,
        key: &str,
        line: &str,
        write: &mut impl FnMut(Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let slot = if let Some(slot) = self.slots.get_mut(key) {
            slot
        } else {
            let owner = owners.get(key).ok_or_else(|| StoreError::NotFound {
                index: 0,
                what: "account key",
                id: key.to_owned(),
            })?;
            self.slots.entry(key.to_owned()).or_insert(Slot {
                owner: owner.to_owned(),
                ..Slot::default()
            })
        };
        slot.push(line);
        self.held = self.held.saturating_add(line.len());
        if slot.lines.len() >= BLOCK_BYTES {
            let freed = slot.emit(key, write)?;
            self.held = self.held.saturating_sub(freed);
        }
        Ok(())
    }

    /// Writes every key's lines held.
    ///
    /// # Errors
    /// `write`'s error.
    pub(crate) fn flush(
        &mut self,
        write: &mut impl FnMut(Row<'_>) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        for (key, slot) in &mut self.slots {
            slot.emit(key, write)?;
        }
        self.held = 0;
        Ok(())
    }
}

#[cfg(test)]
#[path = "key_blocks_tests.rs"]
mod tests;
