//! A usage file checked as `plock import usage` checks it, through plock-core's
//! [`UsageFile`]: chunks of 10,000 rows checked in parallel, each chunk a block of canonical
//! lines with made-up record ids where the file gave none.

use std::path::Path;

use anyhow::{Context, Result, bail};
use plock_core::AccountBook;
use plock_core::import::UsageBlock;
use plock_core::import::usage_file::UsageFile;

/// Reads `path` as the command does and hands each block to `each`; the rows read.
pub fn each_block(
    path: &Path,
    book: &AccountBook,
    mut each: impl FnMut(UsageBlock) -> Result<()>,
) -> Result<u64> {
    let input = std::fs::File::open(path).context("opening usage.csv")?;
    let mut file = UsageFile::open(Box::new(input), book).context("reading usage.csv")?;
    while let Some(block) = file.next_block() {
        if !block.is_empty() {
            each(block)?;
        }
    }
    let (errors, rows) = file.finish();
    if !errors.is_empty() {
        bail!("usage.csv: {errors}");
    }
    Ok(rows)
}
