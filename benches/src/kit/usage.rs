//! The kit's usage.csv read into a [`UsageTable`] by plock's streaming reader, in the kit's
//! own layout: no conversion, the file read a chunk at a time.

use std::fs::File;
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use plock_core::import::{TimeFormat, UsageLayout, read_usage};
use plock_core::{AccountBook, UsageTable};

/// The kit's usage layout: `account_id,metric_id,ts_ms,quantity`, times in epoch
/// milliseconds; account keys are the kit's account ids, metrics its metric ids.
pub fn layout() -> UsageLayout {
    UsageLayout::default()
        .account("account_id")
        .metric("metric_id")
        .timestamp("ts_ms", TimeFormat::EpochMillis)
        .quantity("quantity")
}

/// Reads usage.csv into a usage table; accounts are the book's, known by their id.
///
/// # Errors
/// An unreadable file, or every problem the reader found in it.
pub fn load_usage(path: &Path, book: &AccountBook) -> Result<UsageTable> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    read_usage(file, book, &layout()).map_err(|e| anyhow!("{}: {e}", path.display()))
}
