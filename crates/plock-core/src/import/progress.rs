//! How far the checking of an accounts or subscriptions file has come, told to a caller that
//! shows it (the command draws a bar on a terminal). Core only counts; it never draws.

/// Told the number of rows to check once the file is split into rows, then each row checked.
/// Both methods do nothing by default, and `()` is the progress nobody watches.
pub trait RowProgress {
    /// The file holds `rows` data rows to check.
    fn rows(&self, rows: u64) {
        let _ = rows;
    }

    /// `rows` more rows are checked.
    fn checked(&self, rows: u64) {
        let _ = rows;
    }
}

impl RowProgress for () {}

/// Checks each of `rows` with `check`, telling `progress` as it goes; keeps what `check` keeps.
pub(crate) fn check_rows<R, T>(
    rows: &[R],
    progress: &dyn RowProgress,
    mut check: impl FnMut(&R) -> Option<T>,
) -> Vec<T> {
    // Told in blocks: a bar redrawn a few times a second needs no call per row.
    const BLOCK: usize = 256;
    progress.rows(u64::try_from(rows.len()).unwrap_or(u64::MAX));
    let mut kept = Vec::with_capacity(rows.len());
    for block in rows.chunks(BLOCK) {
        kept.extend(block.iter().filter_map(&mut check));
        progress.checked(u64::try_from(block.len()).unwrap_or(u64::MAX));
    }
    kept
}
