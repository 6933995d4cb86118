//! Which blocks hold an account key's usage: rows of `usage_key_blocks`, each an account key
//! and the ids of some of its blocks as a JSON array in ascending order.
//!
//! An import writes a block for every 10,000 records, and a block holds thousands of keys.
//! A row per key and block made SQLite insert millions of index entries in key order while
//! blocks come in file order, most of an import's time. Instead, an import gathers the keys
//! of its blocks in memory and writes one row per key, in key order, for every
//! [`FLUSH_ENTRIES`] key and block pairs: a hundred thousand inserts at the kit's M scale
//! where there were eight million. Rows are only ever added, never rewritten. Reading one
//! account's usage reads the blocks its rows name.
//!
//! Noting a block's keys is a map lookup per record (ten million at M) on the writing
//! thread, so it touches one table slot: a key of up to 15 bytes is held inline in the table
//! (hashed by foldhash's fixed-seed hasher, not SipHash) beside its place and the last block
//! noted for it, and a key and block pair is appended to one list, sorted once when written.
//! The keys are account keys the import checked against the account book, never chosen to
//! collide.

use std::collections::HashMap;

use plock_core::store::StoreError;
use rusqlite::{Connection, params};

use crate::codec::{Context, backend};

/// Key and block pairs an import holds in memory before it writes them: 8 bytes each (128 MiB),
/// and a key's text once per key. A key gets a row each time.
pub(crate) const FLUSH_ENTRIES: usize = 16_000_000;

/// The low half of a pair: the block's place.
const BLOCK_BITS: u64 = 0xffff_ffff;

type FastMap<K> = HashMap<K, Slot, foldhash::fast::FixedState>;

/// The account keys of an import's blocks, not yet written.
#[derive(Debug, Default)]
pub(crate) struct KeyBlocks {
    /// Keys of at most 15 bytes, by an inline copy of their bytes and their length.
    short: FastMap<u128>,
    /// Longer keys.
    long: FastMap<Box<str>>,
    /// Each pending key's text, by its place.
    names: Vec<Box<str>>,
    /// The ids of the blocks noted, by their place.
    blocks: Vec<i64>,
    /// Key and block pairs as `key place << 32 | block place`, each once.
    pairs: Vec<u64>,
}

/// A key's place among the pending keys, and the place of the last block noted for it.
#[derive(Debug, Clone, Copy)]
struct Slot {
    key: u32,
    last: u32,
}

/// `key`'s bytes and length as one number, for a key of at most 15 bytes.
fn inline(key: &str) -> Option<u128> {
    let bytes = key.as_bytes();
    let len = u8::try_from(bytes.len()).ok().filter(|n| *n < 16)?;
    let mut word = [0u8; 16];
    word.get_mut(..bytes.len())?.copy_from_slice(bytes);
    if let Some(last) = word.last_mut() {
        *last = len;
    }
    Some(u128::from_le_bytes(word))
}

/// `n` as a place: places stay far below `u32::MAX` (at most [`FLUSH_ENTRIES`] pairs).
fn place(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

impl KeyBlocks {
    /// Notes that block `id`, the last written, holds `key`.
    fn add(&mut self, id: i64, key: &str) {
        if key.is_empty() {
            return;
        }
        if self.blocks.last() != Some(&id) {
            self.blocks.push(id);
        }
        let block = place(self.blocks.len().saturating_sub(1));
        let fresh = Slot {
            key: place(self.names.len()),
            last: u32::MAX,
        };
        let slot = match inline(key) {
            Some(short) => self.short.entry(short).or_insert(fresh),
            None => {
                if !self.long.contains_key(key) {
                    self.long.insert(key.into(), fresh);
                }
                match self.long.get_mut(key) {
                    Some(slot) => slot,
                    None => return,
                }
            }
        };
        if slot.key == fresh.key {
            self.names.push(key.into());
        }
        if slot.last == block {
            return;
        }
        slot.last = block;
        self.pairs
            .push((u64::from(slot.key) << 32) | u64::from(block));
    }

    /// Notes that block `id` holds `keys`, and writes what is pending once there is enough.
    pub(crate) fn note<'k>(
        &mut self,
        tx: &Connection,
        id: i64,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<(), StoreError> {
        for key in keys {
            self.add(id, key);
        }
        self.flush_when_full(tx)
    }

    /// Notes the keys of block `id`, whose text is `text` (CSV lines whose first field is
    /// the account key), and writes what is pending once there is enough.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for text that is not CSV, or a failed write.
    pub(crate) fn note_text(
        &mut self,
        tx: &Connection,
        id: i64,
        text: &str,
    ) -> Result<(), StoreError> {
        if !text.contains('"') {
            // Unquoted: a key is what comes before a line's first comma.
            for line in text.lines() {
                self.add(id, line.split_once(',').map_or(line, |(key, _)| key));
            }
            return self.flush_when_full(tx);
        }
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(text.as_bytes());
        for row in reader.records() {
            let row = row.map_err(|e| backend(format!("reading a usage block's keys: {e}")))?;
            self.add(id, row.get(0).unwrap_or_default());
        }
        self.flush_when_full(tx)
    }

    fn flush_when_full(&mut self, tx: &Connection) -> Result<(), StoreError> {
        if self.pairs.len() >= FLUSH_ENTRIES {
            self.flush(tx)?;
        }
        Ok(())
    }

    /// Each pending key's block ids, ascending, the keys in order.
    fn take(&mut self) -> Vec<(Box<str>, Vec<i64>)> {
        let names = std::mem::take(&mut self.names);
        let blocks = std::mem::take(&mut self.blocks);
        let mut pairs = std::mem::take(&mut self.pairs);
        self.short.clear();
        self.long.clear();
        // Pairs by key order, then block: each key's rank replaces its place.
        let mut order: Vec<usize> = (0..names.len()).collect();
        order.sort_unstable_by(|a, b| names.get(*a).cmp(&names.get(*b)));
        let mut rank = vec![0u32; names.len()];
        for (r, key) in order.iter().enumerate() {
            if let Some(slot) = rank.get_mut(*key) {
                *slot = place(r);
            }
        }
        for pair in &mut pairs {
            let key = usize::try_from(*pair >> 32).unwrap_or(usize::MAX);
            let r = rank.get(key).copied().unwrap_or(u32::MAX);
            *pair = (u64::from(r) << 32) | (*pair & BLOCK_BITS);
        }
        pairs.sort_unstable();
        let mut names: Vec<Option<Box<str>>> = names.into_iter().map(Some).collect();
        let mut out = Vec::with_capacity(order.len());
        for group in pairs.chunk_by(|a, b| a >> 32 == b >> 32) {
            let r = group
                .first()
                .and_then(|p| usize::try_from(p >> 32).ok())
                .unwrap_or(usize::MAX);
            let Some(name) = order
                .get(r)
                .and_then(|key| names.get_mut(*key))
                .and_then(Option::take)
            else {
                continue;
            };
            let ids = group
                .iter()
                .filter_map(|p| blocks.get(usize::try_from(p & BLOCK_BITS).ok()?).copied())
                .collect();
            out.push((name, ids));
        }
        out
    }

    /// Writes a row for each key with pending block ids, in key order.
    pub(crate) fn flush(&mut self, tx: &Connection) -> Result<(), StoreError> {
        let rows = self.take();
        write_rows(tx, rows.into_iter())
    }
}

/// Writes a row of `usage_key_blocks` for each key and its block ids (ascending).
///
/// # Errors
/// [`StoreError::Backend`] for a failed write.
pub(crate) fn write_rows<K: AsRef<str>>(
    tx: &Connection,
    rows: impl Iterator<Item = (K, Vec<i64>)>,
) -> Result<(), StoreError> {
    let mut stmt = tx
        .prepare_cached(
            "INSERT INTO usage_key_blocks (account_key, first_block, blocks) \
             VALUES (?1, ?2, ?3)",
        )
        .context("writing usage keys")?;
    for (key, ids) in rows {
        let Some(first) = ids.first() else { continue };
        stmt.execute(params![key.as_ref(), first, json_ids(&ids)])
            .context("writing usage keys")?;
    }
    Ok(())
}

/// `ids` as a JSON array: `[3,17,25]`.
fn json_ids(ids: &[i64]) -> String {
    let mut out = String::with_capacity(ids.len().saturating_mul(6).saturating_add(2));
    out.push('[');
    let mut digits = [0u8; 20];
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        if *id < 0 {
            out.push('-');
        }
        // The digits from the last, without the formatting machinery: ten million ids at
        // the kit's M.
        let mut rest = id.unsigned_abs();
        let mut at = digits.len();
        loop {
            at = at.saturating_sub(1);
            if let (Some(d), Ok(digit)) = (digits.get_mut(at), u8::try_from(rest % 10)) {
                *d = b'0'.saturating_add(digit);
            }
            rest /= 10;
            if rest == 0 || at == 0 {
                break;
            }
        }
        out.extend(
            digits
                .get(at..)
                .unwrap_or_default()
                .iter()
                .map(|d| char::from(*d)),
        );
    }
    out.push(']');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<(String, Vec<i64>)> {
        let conn = Connection::open_in_memory().unwrap();
        let mut keys = KeyBlocks::default();
        keys.note_text(&conn, 7, text).unwrap();
        keys.note_text(&conn, 9, "b,m,t,1,\nlong-key-of-many-bytes,m,t,1,\n")
            .unwrap();
        keys.take()
            .into_iter()
            .map(|(k, ids)| (k.into(), ids))
            .collect()
    }

    #[test]
    fn keys_are_the_first_fields_quoted_or_not_once_a_block() {
        let plain = "a,m,t,1,r\nb,m,t,2,\na,m,t,3,x\n";
        let long = ("long-key-of-many-bytes".to_owned(), vec![9]);
        let expected = [
            ("a".to_owned(), vec![7]),
            ("b".to_owned(), vec![7, 9]),
            long.clone(),
        ];
        assert_eq!(keys(plain), expected);
        let quoted = "\"a,1\",m,t,1,r\nb,m,t,2,\n";
        let expected = [
            ("a,1".to_owned(), vec![7]),
            ("b".to_owned(), vec![7, 9]),
            long,
        ];
        assert_eq!(keys(quoted), expected);
        assert_eq!(json_ids(&[3, 17, 25]), "[3,17,25]");
        assert_eq!(json_ids(&[]), "[]");
        let wide = [0, 9, 10, 1_234_567_890_123, -5, i64::MIN, i64::MAX];
        let formatted: Vec<String> = wide.iter().map(i64::to_string).collect();
        assert_eq!(json_ids(&wide), format!("[{}]", formatted.join(",")));
    }
}
