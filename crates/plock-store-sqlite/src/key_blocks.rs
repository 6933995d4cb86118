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

use std::collections::HashMap;

use plock_core::store::StoreError;
use rusqlite::{Connection, params};

use crate::codec::{Context, backend};

/// Key and block pairs an import holds in memory before it writes them: 8 bytes each (128 MiB),
/// and a key's text once per key. A key gets a row each time.
const FLUSH_ENTRIES: usize = 16_000_000;

/// The account keys of an import's blocks, not yet written: each key's block ids, ascending.
#[derive(Debug, Default)]
pub(crate) struct KeyBlocks {
    pending: HashMap<Box<str>, Vec<i64>>,
    entries: usize,
}

impl KeyBlocks {
    /// Notes that block `id`, the last written, holds `key`.
    fn add(&mut self, id: i64, key: &str) {
        if key.is_empty() {
            return;
        }
        match self.pending.get_mut(key) {
            Some(ids) if ids.last() == Some(&id) => return,
            Some(ids) => ids.push(id),
            None => {
                self.pending.insert(key.into(), vec![id]);
            }
        }
        self.entries = self.entries.saturating_add(1);
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
        let mut pending: Vec<(Box<str>, Vec<i64>)> =
            std::mem::take(&mut self.pending).into_iter().collect();
        pending.sort_unstable_by(|a, b| a.0.cmp(&b.0));
        for (key, ids) in pending {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(text: &str) -> Vec<(String, Vec<i64>)> {
        let conn = Connection::open_in_memory().unwrap();
        let mut keys = KeyBlocks::default();
        keys.note_text(&conn, 7, text).unwrap();
        keys.note_text(&conn, 9, "b,m,t,1,\n").unwrap();
        let mut found: Vec<(String, Vec<i64>)> = keys
            .pending
            .into_iter()
            .map(|(k, ids)| (k.into(), ids))
            .collect();
        found.sort();
        found
    }

    #[test]
    fn keys_are_the_first_fields_quoted_or_not_once_a_block() {
        let plain = "a,m,t,1,r\nb,m,t,2,\na,m,t,3,x\n";
        let expected = [("a".to_owned(), vec![7]), ("b".to_owned(), vec![7, 9])];
        assert_eq!(keys(plain), expected);
        let quoted = "\"a,1\",m,t,1,r\nb,m,t,2,\n";
        let expected = [("a,1".to_owned(), vec![7]), ("b".to_owned(), vec![7, 9])];
        assert_eq!(keys(quoted), expected);
        assert_eq!(json_ids(&[3, 17, 25]), "[3,17,25]");
        assert_eq!(json_ids(&[]), "[]");
    }
}
