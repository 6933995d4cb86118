//! The SQLite statement that reads what the subscriptions a batch puts are billed through, all
//! at once (`plock_store_sql::watermarks` decides which and when).

use plock_core::store::StoreError;
use plock_store_sql::watermarks::StoredWatermarks;
use rusqlite::Connection;

use crate::codec::{Context, json_list};

/// The stored watermarks of the subscriptions `wanted` names (those stored).
pub(crate) fn read_all(
    tx: &Connection,
    wanted: &[String],
) -> Result<Vec<StoredWatermarks>, StoreError> {
    let list = json_list(wanted.iter().map(String::as_str))?;
    let mut stmt = tx
        .prepare_cached(
            "SELECT subscriptions.id, w.in_advance, w.in_arrears FROM subscriptions \
             LEFT JOIN subscription_watermarks w ON w.subscription = subscriptions.id \
             WHERE subscriptions.id IN (SELECT value FROM json_each(?1))",
        )
        .context("reading subscriptions")?;
    let mut rows = stmt.query([list]).context("reading subscriptions")?;
    let mut read = Vec::with_capacity(wanted.len());
    while let Some(row) = rows.next().context("reading subscriptions")? {
        let id: String = row.get(0).context("reading subscriptions")?;
        let in_advance = row.get(1).context("reading subscriptions")?;
        let in_arrears = row.get(2).context("reading subscriptions")?;
        read.push((id, in_advance, in_arrears));
    }
    Ok(read)
}
