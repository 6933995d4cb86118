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

use std::collections::{BTreeMap, BTreeSet};

use plock_core::store::StoreError;
use rusqlite::{Connection, params};

use crate::codec::{Context, backend};

/// Key and block pairs an import holds in memory before it writes them: 8 bytes each (128 MiB),
/// and a key's text once per key. A key gets a row each time.
const FLUSH_ENTRIES: usize = 16_000_000;

/// The account keys of an import's blocks, not yet written.
#[derive(Debug, Default)]
pub(crate) struct KeyBlocks {
    pending: BTreeMap<String, Vec<i64>>,
    entries: usize,
}

impl KeyBlocks {
    /// Notes that block `id` holds `keys`, and writes what is pending once there is enough.
    pub(crate) fn note<'k>(
        &mut self,
        tx: &Connection,
        id: i64,
        keys: impl IntoIterator<Item = &'k str>,
    ) -> Result<(), StoreError> {
        for key in keys {
            match self.pending.get_mut(key) {
                Some(ids) => ids.push(id),
                None => {
                    self.pending.insert(key.to_owned(), vec![id]);
                }
            }
            self.entries = self.entries.saturating_add(1);
        }
        if self.entries >= FLUSH_ENTRIES {
            self.flush(tx)?;
        }
        Ok(())
    }

    /// Writes a row for each key with pending block ids, in key order.
    pub(crate) fn flush(&mut self, tx: &Connection) -> Result<(), StoreError> {
        let mut stmt = tx
            .prepare_cached(
                "INSERT INTO usage_key_blocks (account_key, first_block, blocks) \
                 VALUES (?1, ?2, ?3)",
            )
            .context("writing usage keys")?;
        for (key, ids) in std::mem::take(&mut self.pending) {
            let Some(first) = ids.first() else { continue };
            stmt.execute(params![key, first, json_ids(&ids)])
                .context("writing usage keys")?;
        }
        self.entries = 0;
        Ok(())
    }
}

/// `ids` as a JSON array: `[3,17,25]`.
fn json_ids(ids: &[i64]) -> String {
    let mut out = String::with_capacity(ids.len().saturating_mul(6).saturating_add(2));
    out.push('[');
    for (n, id) in ids.iter().enumerate() {
        if n > 0 {
            out.push(',');
        }
        out.push_str(&id.to_string());
    }
    out.push(']');
    out
}

/// The distinct account keys of a block's text (CSV lines whose first field is the key).
///
/// # Errors
/// [`StoreError::Backend`] for text that is not CSV.
pub(crate) fn keys_of(text: &str) -> Result<BTreeSet<String>, StoreError> {
    let mut keys = BTreeSet::new();
    if !text.contains('"') {
        // Unquoted: a key is what comes before a line's first comma.
        for line in text.lines() {
            let key = line.split_once(',').map_or(line, |(key, _)| key);
            if !key.is_empty() && !keys.contains(key) {
                keys.insert(key.to_owned());
            }
        }
        return Ok(keys);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    for row in reader.records() {
        let row = row.map_err(|e| backend(format!("reading a usage block's keys: {e}")))?;
        if let Some(key) = row.get(0).filter(|k| !k.is_empty()) {
            if !keys.contains(key) {
                keys.insert(key.to_owned());
            }
        }
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_the_first_fields_quoted_or_not() {
        let plain = "a,m,t,1,r\nb,m,t,2,\na,m,t,3,x\n";
        assert_eq!(
            keys_of(plain).unwrap().into_iter().collect::<Vec<_>>(),
            ["a", "b"]
        );
        let quoted = "\"a,1\",m,t,1,r\nb,m,t,2,\n";
        assert_eq!(
            keys_of(quoted).unwrap().into_iter().collect::<Vec<_>>(),
            ["a,1", "b"]
        );
        assert_eq!(json_ids(&[3, 17, 25]), "[3,17,25]");
        assert_eq!(json_ids(&[]), "[]");
    }
}
