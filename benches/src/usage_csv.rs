//! A usage file checked as `plock import usage` checks it: plain lines, chunks of
//! [`CHUNK_ROWS`] rows, batches of chunks checked in parallel by core's `UsageChecker`, each
//! chunk a block of canonical lines with made-up record ids where the file gave none.

use std::io::Read;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plock_core::AccountBook;
use plock_core::import::{UsageBlock, UsageChecker, UsageRow};

/// Rows a chunk holds, as in the command.
const CHUNK_ROWS: usize = 10_000;
/// Chunks checked at a time, as in the command (16 MiB of lines).
const BATCH_BYTES: usize = 16 << 20;

/// Reads `path` as the command does (plain lines, chunks of [`CHUNK_ROWS`] rows, batches
/// checked in parallel) and hands each block to `each`; the rows read.
pub fn each_block(
    path: &Path,
    book: &AccountBook,
    mut each: impl FnMut(UsageBlock) -> Result<()>,
) -> Result<u64> {
    let text = std::fs::File::open(path).context("opening usage.csv")?;
    let mut input = std::io::BufReader::with_capacity(1 << 20, text);
    let mut header = String::new();
    std::io::BufRead::read_line(&mut input, &mut header)?;
    let checker = UsageChecker::new(header.trim_end(), book);
    let (mut buf, mut rows, mut line) = (Vec::new(), 0u64, 2u64);
    loop {
        let want = BATCH_BYTES.saturating_sub(buf.len()) as u64;
        let read = (&mut input).take(want).read_to_end(&mut buf)?;
        let end = read == 0 || buf.len() < BATCH_BYTES;
        let mut chunks: Vec<Vec<UsageRow<'_>>> = Vec::new();
        let mut chunk = Vec::with_capacity(CHUNK_ROWS);
        let mut used = 0;
        let mut start = 0;
        for (i, b) in buf.iter().enumerate() {
            if *b != b'\n' {
                continue;
            }
            chunk.push((line, buf.get(start..i).unwrap_or_default()));
            (start, line) = (i + 1, line + 1);
            if chunk.len() == CHUNK_ROWS {
                chunks.push(std::mem::replace(
                    &mut chunk,
                    Vec::with_capacity(CHUNK_ROWS),
                ));
                used = start;
            }
        }
        if end && !chunk.is_empty() {
            chunks.push(chunk);
            used = start;
        }
        for (rows_of, result) in chunks.iter().map(Vec::len).zip(checker.check_all(&chunks)) {
            let block = result.map_err(|e| anyhow!("usage.csv: {e}"))?;
            each(block)?;
            rows += rows_of as u64;
        }
        drop(chunks);
        buf.drain(..used);
        if end {
            return Ok(rows);
        }
    }
}
