//! Which blocks hold each account key, for blocks whose keys their checker numbered
//! ([`BlockKeys`]): a key's place indexes a list, where [`crate::key_blocks::KeyBlocks`]
//! hashes every record's key.
//!
//! At the kit's M scale (ten million records of a hundred thousand keys in random order),
//! hashing each record's key into a table of a hundred thousand cost two cache misses a
//! record on the writing thread. Here the checker's threads list each block's distinct keys
//! by place, and the writing thread reads one slot of a list of 4 bytes a key (which stays in
//! cache) per key and block. A key's text is read from the block's line the first time its
//! place is seen, and kept for the import. Blocks numbered otherwise (another book's order,
//! or none) are left to `KeyBlocks`; both write the same rows.

use plock_core::import::BlockKeys;
use plock_core::store::StoreError;
use rayon::slice::ParallelSliceMut;
use rusqlite::Connection;

use crate::key_blocks::{FLUSH_ENTRIES, write_rows};

/// The most places an import numbers: a list slot of 20 bytes each (a key's text aside).
const MAX_PLACES: usize = 1 << 26;

/// The account keys of an import's numbered blocks, not yet written.
#[derive(Debug, Default)]
pub(crate) struct KeyPlaces {
    /// The numbering of the blocks noted so far.
    order: Option<u64>,
    /// Each place's key, once seen.
    names: Vec<Option<Box<str>>>,
    /// The place (in `blocks`) of the last block noted for each key place.
    last: Vec<u32>,
    /// The ids of the blocks noted since the last write, by their place.
    blocks: Vec<i64>,
    /// Key and block pairs as `key place << 32 | block place`, each once.
    pairs: Vec<u64>,
}

/// The account key of the block line at `offset` of `text`: its text up to the first comma,
/// when the line is not quoted.
fn key_at(text: &str, offset: usize) -> Option<&str> {
    let line = text.get(offset..)?;
    let end = line.find([',', '\n'])?;
    let key = line.get(..end)?;
    (!key.is_empty() && !key.starts_with('"')).then_some(key)
}

impl KeyPlaces {
    /// Notes that block `id`, whose text is `text`, holds `keys`, and writes what is pending
    /// once there is enough. `false`, noting nothing, when `keys` are numbered otherwise than
    /// the blocks noted before or do not match `text`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a failed write.
    pub(crate) fn note(
        &mut self,
        tx: &Connection,
        id: i64,
        text: &str,
        keys: &BlockKeys,
    ) -> Result<bool, StoreError> {
        if *self.order.get_or_insert(keys.order()) != keys.order() {
            return Ok(false);
        }
        // Every key is checked before any is noted: a refused block leaves nothing behind.
        let mut new_names = Vec::new();
        for (place, offset) in keys.places() {
            let Some(i) = usize::try_from(place).ok().filter(|i| *i < MAX_PLACES) else {
                return Ok(false);
            };
            if self.names.get(i).is_some_and(Option::is_some) {
                continue;
            }
            match key_at(text, offset) {
                Some(key) => new_names.push((i, key)),
                None => return Ok(false),
            }
        }
        for (i, key) in new_names {
            if i >= self.names.len() {
                self.names.resize(i.saturating_add(1), None);
            }
            if let Some(name) = self.names.get_mut(i) {
                *name = Some(key.into());
            }
        }
        if self.last.len() < self.names.len() {
            self.last.resize(self.names.len(), u32::MAX);
        }
        let block = u32::try_from(self.blocks.len()).unwrap_or(u32::MAX);
        self.blocks.push(id);
        for (place, _) in keys.places() {
            let Some(last) = usize::try_from(place)
                .ok()
                .and_then(|i| self.last.get_mut(i))
            else {
                continue;
            };
            if *last != block {
                *last = block;
                self.pairs.push((u64::from(place) << 32) | u64::from(block));
            }
        }
        if self.pairs.len() >= FLUSH_ENTRIES {
            self.flush(tx)?;
        }
        Ok(true)
    }

    /// Writes a row for each key with pending block ids, in place order (the keys' order).
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a failed write.
    pub(crate) fn flush(&mut self, tx: &Connection) -> Result<(), StoreError> {
        let mut pairs = std::mem::take(&mut self.pairs);
        let blocks = std::mem::take(&mut self.blocks);
        self.last.fill(u32::MAX);
        // At the end of an import the pool's threads are idle: the sort (ten million pairs
        // at the kit's M) is shared between them.
        pairs.par_sort_unstable();
        let rows = pairs
            .chunk_by(|a, b| a >> 32 == b >> 32)
            .filter_map(|group| {
                let place = usize::try_from(group.first()? >> 32).ok()?;
                let name = self.names.get(place)?.as_deref()?;
                let ids = group
                    .iter()
                    .filter_map(|p| blocks.get(usize::try_from(p & 0xffff_ffff).ok()?).copied())
                    .collect();
                Some((name, ids))
            });
        write_rows(tx, rows)
    }
}

#[cfg(test)]
mod tests {
    use super::key_at;

    #[test]
    fn a_key_is_its_line_up_to_the_first_comma_unless_quoted() {
        let text = "a,m,t,1,r\nbb,m,t,2,\n\"c,1\",m,t,3,\n";
        assert_eq!(key_at(text, 0), Some("a"));
        assert_eq!(key_at(text, 10), Some("bb"));
        assert_eq!(key_at(text, 20), None);
        assert_eq!(key_at(text, 1), None);
        assert_eq!(key_at(text, 400), None);
    }
}
