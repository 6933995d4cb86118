//! The check every store makes on a run's billed usage before recording it.

use super::StoreError;
use crate::billing::BilledUsage;

/// Refuses `row` (of change `index`) unless `stored`, the stored row of its key, is still
/// the one it replaces: a run computed on billed usage another run has replaced since would
/// bill the same late usage a second time.
///
/// # Errors
/// [`StoreError::Conflict`] naming the row's key.
pub fn check_billed_usage(
    index: usize,
    row: &BilledUsage,
    stored: Option<&BilledUsage>,
) -> Result<(), StoreError> {
    if row.replaces_stored(stored) {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            index,
            what: "billed usage",
            id: row.key_text(),
            reason: "was billed by another run since this run read it",
        })
    }
}
