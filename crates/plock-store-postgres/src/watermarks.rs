//! The PostgreSQL statement that reads and locks what the subscriptions a batch puts are billed
//! through, all at once (`plock_store_sql::watermarks` decides which and when).

use plock_store_sql::watermarks::StoredWatermarks;
use postgres::Transaction;

use crate::failure::{Db, Failure};

/// The stored watermarks of the subscriptions `wanted` names (those stored), their rows
/// locked in id order.
pub(crate) fn read_all(
    tx: &mut Transaction<'_>,
    wanted: &[String],
) -> Result<Vec<StoredWatermarks>, Failure> {
    let rows = tx
        .query(
            "SELECT id, billed_through_in_advance, billed_through_in_arrears \
             FROM subscriptions WHERE id = ANY($1) ORDER BY id FOR UPDATE",
            &[&wanted],
        )
        .db("reading subscriptions")?;
    let mut read = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row.try_get(0).db("reading subscriptions")?;
        let in_advance = row.try_get(1).db("reading subscriptions")?;
        let in_arrears = row.try_get(2).db("reading subscriptions")?;
        read.push((id, in_advance, in_arrears));
    }
    Ok(read)
}
