//! The rows of an import file, read the way core reads them (byte-order mark, `,` or `;`
//! chosen by the header, blank rows skipped, lines counted from the file's bytes). Core plans a
//! batch of changes; an operator thinks in rows: this counts them and finds the row a refused
//! change came from. It only ever reads files core has already accepted.

use std::collections::HashMap;

/// An import file's data rows: how many, and the first line each key is on.
#[derive(Debug, Default)]
pub struct Rows {
    /// Data rows (the header and blank rows not counted).
    pub count: usize,
    lines: HashMap<String, u64>,
}

impl Rows {
    /// The first line of the file (1-based, the header is line 1) holding `key` in the key
    /// column.
    pub fn line_of(&self, key: &str) -> Option<u64> {
        self.lines.get(key).copied()
    }

    /// How many distinct keys the file holds.
    pub fn keys(&self) -> usize {
        self.lines.len()
    }
}

/// Reads `bytes` as CSV and indexes its rows by the trimmed cell of `key_column`.
pub fn scan(bytes: &[u8], key_column: &str) -> Rows {
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    let Ok(text) = std::str::from_utf8(bytes) else {
        return Rows::default();
    };
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(plock_core::import::Delimiter::detect(text).byte())
        .has_headers(true)
        .flexible(true)
        .from_reader(text.as_bytes());
    let key_index = reader.headers().ok().and_then(|header| {
        header
            .iter()
            .position(|name| name.trim().eq_ignore_ascii_case(key_column))
    });
    let lines = plock_core::import::LineNumbers::new(text);
    let line_at =
        |position: Option<&csv::Position>| position.map_or(0, |p| lines.of_record_at(p.byte()));
    let mut rows = Rows::default();
    for record in reader.records().flatten() {
        if record.iter().all(|c| c.trim().is_empty()) {
            continue;
        }
        rows.count = rows.count.saturating_add(1);
        if let Some(key) = key_index.and_then(|i| record.get(i)) {
            let key = key.trim();
            if !key.is_empty() && !rows.lines.contains_key(key) {
                rows.lines
                    .insert(key.to_owned(), line_at(record.position()));
            }
        }
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_counted_and_keys_found_as_core_numbers_lines() {
        let rows = scan(
            "\u{feff}key;name\n\na;A\n\nb;\"B\nsecond line\"\na;again\n;\n".as_bytes(),
            "key",
        );
        assert_eq!(rows.count, 3);
        assert_eq!(rows.keys(), 2);
        assert_eq!(rows.line_of("a"), Some(3));
        assert_eq!(rows.line_of("b"), Some(5));
        assert_eq!(rows.line_of("c"), None);
    }

    #[test]
    fn the_header_picks_the_separator() {
        assert_eq!(plock_core::import::Delimiter::detect("a,b;c").byte(), b',');
        assert_eq!(
            plock_core::import::Delimiter::detect("a;b;c,d").byte(),
            b';'
        );
        assert_eq!(
            plock_core::import::Delimiter::detect("\"a;b\",c").byte(),
            b','
        );
    }
}
