//! An invoice's JSON as the `invoices` table keeps it: a zlib stream, the format SQLite's
//! archives (sqlar) store a file in, beside its length in `json_bytes`, so the sqlite3 shell
//! reads it with `CAST(sqlar_uncompress(invoice, json_bytes) AS TEXT)`. A JSON that
//! compression does not shorten is kept as text, as in an archive.
//!
//! A billing run writes all its invoices in one transaction, every page twice (to the
//! write-ahead log, then into the database): at M, 147 MB of JSON, about 3.1 times less
//! compressed (47 MB), since an invoice repeats its field names, ids and period on every
//! line. The JSON is [`plock_core::invoice::WithoutProducts`]: the per-product totals, which
//! reading makes from the lines, are not stored (a quarter of the JSON at M); an invoice
//! stored with them, as older plocks did, reads the same.
//!
//! The streams are made by [`crate::deflate`], which needs no clearing between invoices
//! (zlib's fastest level clears 128 KB for each), and read by flate2's zlib decoder.

use flate2::{Decompress, FlushDecompress, Status};
use plock_core::store::StoreError;
use rusqlite::types::{Value, ValueRef};

use plock_store_sql::error::backend;

use crate::deflate::Deflater;

/// The longest invoice JSON read back, in bytes: a damaged length is refused before anything
/// is allocated for it. An invoice of 100,000 lines is about 30 MB.
pub(crate) const MAX_JSON_BYTES: usize = 256 << 20;

/// An invoice's JSON as stored: its length and the `invoice` column's value.
pub(crate) struct StoredJson {
    /// The JSON's length in bytes.
    pub(crate) json_bytes: i64,
    /// The zlib stream (a blob), or the JSON itself (text).
    pub(crate) value: Value,
}

/// A compressor kept for many invoices: its table and buffers for the JSON and its stream are
/// made once, not once an invoice (a JSON written into a fresh `String` grows through several
/// copies). A stored stream is copied out at its length: a buffer of the JSON's length for
/// each would hold three times the room the stream takes, and invoices encoded ahead of
/// their inserts would touch that much fresh memory.
pub(crate) struct Compressor {
    deflater: Deflater,
    json: Vec<u8>,
    stream: Vec<u8>,
}

impl Compressor {
    pub(crate) fn new() -> Compressor {
        Compressor {
            deflater: Deflater::new(),
            json: Vec::with_capacity(16 << 10),
            stream: Vec::with_capacity(16 << 10),
        }
    }

    /// `value`'s JSON as stored.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the JSON cannot be made or its length does not fit a
    /// column.
    pub(crate) fn store(
        &mut self,
        value: &impl serde::Serialize,
    ) -> Result<StoredJson, StoreError> {
        self.json.clear();
        serde_json::to_writer(&mut self.json, value)
            .map_err(|e| backend(format!("encoding an invoice: {e}")))?;
        let json = &self.json;
        let json_bytes = i64::try_from(json.len())
            .map_err(|_| backend(format!("an invoice of {} bytes of JSON", json.len())))?;
        self.stream.clear();
        self.deflater.compress(json, &mut self.stream);
        let value = if self.stream.len() < json.len() {
            Value::Blob(self.stream.clone())
        } else {
            let text = String::from_utf8(json.clone())
                .map_err(|_| backend("an invoice's JSON is not UTF-8"))?;
            Value::Text(text)
        };
        Ok(StoredJson { json_bytes, value })
    }
}

/// The JSON of the stored invoice `number` from its `json_bytes` and `invoice` columns.
///
/// # Errors
/// [`StoreError::Backend`] naming the invoice when the stream is damaged, its length is not
/// `json_bytes`, or the JSON is not UTF-8.
pub(crate) fn read(
    number: i64,
    json_bytes: i64,
    invoice: ValueRef<'_>,
) -> Result<String, StoreError> {
    let damaged = |what: &str| backend(format!("stored invoice {number} is invalid: {what}"));
    let length = usize::try_from(json_bytes)
        .ok()
        .filter(|n| *n <= MAX_JSON_BYTES)
        .ok_or_else(|| damaged(&format!("json_bytes {json_bytes}")))?;
    let bytes = match invoice {
        ValueRef::Text(text) => text.to_vec(),
        ValueRef::Blob(stream) => inflate(stream, length).map_err(|e| damaged(&e))?,
        other => {
            return Err(damaged(&format!(
                "a {:?} where its JSON belongs",
                other.data_type()
            )));
        }
    };
    if bytes.len() != length {
        return Err(damaged(&format!(
            "{} bytes of JSON, json_bytes {json_bytes}",
            bytes.len()
        )));
    }
    String::from_utf8(bytes).map_err(|_| damaged("its JSON is not UTF-8"))
}

/// A zlib stream's `length` bytes, and nothing after them.
fn inflate(stream: &[u8], length: usize) -> Result<Vec<u8>, String> {
    let mut zlib = Decompress::new(true);
    // One byte more than expected, so a longer stream is told from an exact one.
    let mut out = Vec::with_capacity(length.saturating_add(1));
    let status = zlib
        .decompress_vec(stream, &mut out, FlushDecompress::Finish)
        .map_err(|e| format!("its zlib stream: {e}"))?;
    if status == Status::StreamEnd {
        Ok(out)
    } else {
        Err(format!(
            "its zlib stream does not end within json_bytes {length}"
        ))
    }
}
