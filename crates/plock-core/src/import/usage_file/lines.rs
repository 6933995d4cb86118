//! A usage file's rows as plain lines, read a batch of chunks at a time: each chunk holds
//! [`CHUNK_ROWS`] rows (the last one fewer), counted from the file's first row, so a file is
//! cut into the same chunks however it is read. A blank line is no row; a row is one line,
//! its line end (`\n` or `\r\n`) left out.
//!
//! Lines are plain while they hold no quote and no carriage return but before their line
//! end; from the first batch that holds one, the file is the CSV reader's
//! ([`Batch::Csv`]), from that batch's first chunk on.

use std::io::Read;
use std::ops::Range;

/// Rows a chunk holds: a block of the store.
pub(crate) const CHUNK_ROWS: usize = 10_000;

/// Bytes read before the lines are cut into chunks.
const BATCH_BYTES: usize = 16 << 20;

/// What the next batch of the file is.
pub(crate) enum Batch {
    /// Chunks of plain rows: each row's line in the file and its place in `bytes`.
    Rows {
        bytes: Vec<u8>,
        chunks: Vec<Vec<(u64, Range<usize>)>>,
    },
    /// The rest of the file, from `bytes` (whole lines, a chunk's first) and on from the
    /// input, is for the CSV reader; `bytes` starts on line `line`.
    Csv { bytes: Vec<u8>, line: u64 },
}

/// The rows of a usage file after its header.
pub(crate) struct Lines<R> {
    input: R,
    /// Bytes read and not yet handed out, from the start of a chunk.
    buf: Vec<u8>,
    /// The line `buf` starts on.
    line: u64,
    ended: bool,
    /// Rows a chunk holds.
    chunk_rows: usize,
}

impl<R: Read> Lines<R> {
    /// The rows of `input`, whose first line is line `line` of the file.
    pub(crate) fn new(input: R, line: u64, chunk_rows: usize) -> Lines<R> {
        Lines {
            input,
            buf: Vec::new(),
            line,
            ended: false,
            chunk_rows: chunk_rows.max(1),
        }
    }

    /// The input, once [`Lines::next_batch`] gave a [`Batch::Csv`].
    pub(crate) fn into_input(self) -> R {
        self.input
    }

    /// The next batch, `None` at the end.
    ///
    /// # Errors
    /// The input's failure.
    pub(crate) fn next_batch(&mut self) -> std::io::Result<Option<Batch>> {
        let mut want = BATCH_BYTES;
        loop {
            if !self.ended {
                let more = u64::try_from(want.saturating_sub(self.buf.len())).unwrap_or(0);
                let read = (&mut self.input).take(more).read_to_end(&mut self.buf)?;
                self.ended = read == 0 || self.buf.len() < want;
            }
            if self.buf.is_empty() && self.ended {
                return Ok(None);
            }
            let (chunks, used, lines) = cut(&self.buf, self.ended, self.chunk_rows);
            if chunks.is_empty() && !self.ended {
                // Lines longer than a batch's bytes hold a chunk of: read on.
                want = want.saturating_mul(2);
                continue;
            }
            let first = self.line;
            let taken = self.buf.get(..used).unwrap_or_default();
            if !plain(taken) {
                let bytes = std::mem::take(&mut self.buf);
                return Ok(Some(Batch::Csv { bytes, line: first }));
            }
            let rest = self.buf.split_off(used);
            let bytes = std::mem::replace(&mut self.buf, rest);
            self.line = self.line.saturating_add(lines);
            let chunks = chunks
                .into_iter()
                .map(|c| {
                    c.into_iter()
                        .map(|(l, r)| (first.saturating_add(l), r))
                        .collect()
                })
                .collect();
            return Ok(Some(Batch::Rows { bytes, chunks }));
        }
    }
}

/// Whether `bytes` hold no quote and no carriage return but before a line end.
fn plain(bytes: &[u8]) -> bool {
    if memchr::memchr(b'"', bytes).is_some() {
        return false;
    }
    memchr::memchr_iter(b'\r', bytes).all(|i| bytes.get(i.saturating_add(1)) == Some(&b'\n'))
}

/// A chunk's rows: each row's line (counted from `bytes`' first, 0) and its place.
type Chunk = Vec<(u64, Range<usize>)>;

/// The whole chunks of `rows` rows of `bytes` (and, at the `end` of the input, the last rows
/// too): the chunks, the bytes they span, and the line ends in those bytes.
fn cut(bytes: &[u8], end: bool, rows: usize) -> (Vec<Chunk>, usize, u64) {
    let mut chunks = Vec::new();
    let mut chunk: Chunk = Vec::with_capacity(rows);
    let (mut start, mut line) = (0usize, 0u64);
    let (mut used, mut used_lines) = (0usize, 0u64);
    let ends = memchr::memchr_iter(b'\n', bytes).map(|i| (i, i.saturating_add(1)));
    let last =
        (end && bytes.last().is_some_and(|b| *b != b'\n')).then_some((bytes.len(), bytes.len()));
    for (stop, next) in ends.chain(last) {
        let row_end = match bytes.get(stop.saturating_sub(1)) {
            Some(b'\r') if stop > start => stop.saturating_sub(1),
            _ => stop,
        };
        if row_end > start {
            chunk.push((line, start..row_end));
        }
        start = next;
        line = line.saturating_add(1);
        if chunk.len() == rows {
            chunks.push(std::mem::replace(&mut chunk, Vec::with_capacity(rows)));
            (used, used_lines) = (start, line);
        }
    }
    if end && !chunk.is_empty() {
        chunks.push(chunk);
        (used, used_lines) = (bytes.len(), line);
    } else if end {
        (used, used_lines) = (bytes.len(), line);
    }
    (chunks, used, used_lines)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(text: &str) -> Vec<Vec<(u64, String)>> {
        let mut lines = Lines::new(text.as_bytes(), 2, CHUNK_ROWS);
        let mut out = Vec::new();
        while let Some(batch) = lines.next_batch().unwrap() {
            let Batch::Rows { bytes, chunks } = batch else {
                panic!("not plain");
            };
            for c in chunks {
                out.push(
                    c.into_iter()
                        .map(|(l, r)| (l, String::from_utf8(bytes[r].to_vec()).unwrap()))
                        .collect(),
                );
            }
        }
        out
    }

    #[test]
    fn rows_keep_their_lines_and_lose_their_line_ends() {
        let found = rows("a,1\r\n\nb,2\n\r\nc,3");
        let expected = vec![vec![
            (2, "a,1".to_owned()),
            (4, "b,2".to_owned()),
            (6, "c,3".to_owned()),
        ]];
        assert_eq!(found, expected);
        assert!(rows("").is_empty());
        assert!(rows("\n\n").is_empty());
    }

    #[test]
    fn chunks_hold_a_chunks_rows_counted_from_the_first() {
        let text: String = (0..CHUNK_ROWS * 2 + 5)
            .map(|i| format!("r{i}\n\n"))
            .collect();
        let found = rows(&text);
        let sizes: Vec<usize> = found.iter().map(Vec::len).collect();
        assert_eq!(sizes, [CHUNK_ROWS, CHUNK_ROWS, 5]);
        assert_eq!(
            found[1][0],
            (2 + 2 * CHUNK_ROWS as u64, format!("r{CHUNK_ROWS}"))
        );
    }

    #[test]
    fn a_quote_or_a_lone_carriage_return_makes_the_rest_the_csv_readers() {
        for text in ["a,1\n\"b\",2\n", "a,1\rb\n"] {
            let mut lines = Lines::new(text.as_bytes(), 2, CHUNK_ROWS);
            match lines.next_batch().unwrap() {
                Some(Batch::Csv { bytes, line }) => {
                    assert_eq!((bytes.as_slice(), line), (text.as_bytes(), 2));
                }
                _ => panic!("plain"),
            }
        }
    }
}
