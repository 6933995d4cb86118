//! What the subscriptions a batch puts are billed through, read with one statement the first
//! time one of them is asked for, rather than with one statement a subscription: a
//! subscription import puts a hundred thousand in one batch.

use std::collections::HashMap;

use plock_core::store::{Batch, Change, StoreError};
use plock_core::subscription::BilledThrough;
use plock_store_sql::codec::billed_through;
use rusqlite::Connection;

use crate::codec::{Context, json_list};

/// The batch's subscriptions' watermarks: see the module documentation.
#[derive(Debug, Default)]
pub(crate) struct Watermarks {
    /// The ids of the subscriptions the batch puts, until they are read.
    wanted: Vec<String>,
    /// What each wanted subscription is billed through (`None`: not stored), until asked for
    /// once: after that the batch may have put it or a run moved it, and the table answers.
    read: HashMap<String, Option<BilledThrough>>,
}

impl Watermarks {
    /// The subscriptions `batch` puts.
    pub(crate) fn of(batch: &Batch) -> Watermarks {
        let mut wanted: Vec<String> = batch
            .changes
            .iter()
            .filter_map(|change| match change {
                Change::PutSubscription { subscription } => Some(subscription.id().to_string()),
                _ => None,
            })
            .collect();
        wanted.sort_unstable();
        wanted.dedup();
        // One subscription is read as any other would be: by itself.
        if wanted.len() < 2 {
            wanted.clear();
        }
        Watermarks {
            wanted,
            read: HashMap::new(),
        }
    }

    /// What subscription `id` is billed through, when the batch's list answers for it: read
    /// with the whole list the first time; asked for again, `None`.
    pub(crate) fn answer(
        &mut self,
        tx: &Connection,
        id: &str,
    ) -> Result<Option<Option<BilledThrough>>, StoreError> {
        if !self.wanted.is_empty() {
            let wanted = std::mem::take(&mut self.wanted);
            let list = json_list(wanted.iter().map(String::as_str))?;
            self.read = wanted.into_iter().map(|id| (id, None)).collect();
            let mut stmt = tx
                .prepare_cached(
                    "SELECT subscriptions.id, w.in_advance, w.in_arrears FROM subscriptions \
                     LEFT JOIN subscription_watermarks w ON w.subscription = subscriptions.id \
                     WHERE subscriptions.id IN (SELECT value FROM json_each(?1))",
                )
                .context("reading subscriptions")?;
            let mut rows = stmt.query([list]).context("reading subscriptions")?;
            while let Some(row) = rows.next().context("reading subscriptions")? {
                let id: String = row.get(0).context("reading subscriptions")?;
                let in_advance = row.get(1).context("reading subscriptions")?;
                let in_arrears = row.get(2).context("reading subscriptions")?;
                self.read
                    .insert(id, Some(billed_through(in_advance, in_arrears)?));
            }
        }
        Ok(self.read.remove(id))
    }
}
