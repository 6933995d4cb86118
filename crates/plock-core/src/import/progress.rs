//! How far the checking of an accounts or subscriptions file has come, told to a caller that
//! shows it (the command draws a bar on a terminal). Core only counts; it never draws.

/// Told the number of rows to check when a reader knows it, and the rows checked as they
/// are (the accounts and subscriptions imports read a chunk at a time, so they tell only
/// these). Both methods do nothing by default, and `()` is the progress nobody watches.
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
