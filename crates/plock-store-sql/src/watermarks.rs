//! What the subscriptions a batch puts are billed through, read with one statement the first
//! time one of them is asked for, rather than with one statement a subscription: a
//! subscription import puts a hundred thousand in one batch. The statement is the store's;
//! which subscriptions it reads, and when, is decided here.

use std::collections::HashMap;

use plock_core::store::{Batch, Change, StoreError};
use plock_core::subscription::BilledThrough;

use crate::codec::billed_through;

/// A stored subscription's id and its two watermark dates as stored (`None`: not billed).
pub type StoredWatermarks = (String, Option<String>, Option<String>);

/// The batch's subscriptions' watermarks: see the module documentation.
#[derive(Debug, Default)]
pub struct Watermarks {
    /// The ids of the subscriptions the batch puts, until they are read.
    wanted: Vec<String>,
    /// What each wanted subscription is billed through (`None`: not stored), until asked for
    /// once: after that the batch may have put it or a run moved it, and the table answers.
    read: HashMap<String, Option<BilledThrough>>,
}

impl Watermarks {
    /// The subscriptions `batch` puts.
    pub fn of(batch: &Batch) -> Watermarks {
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
    /// with the whole list by `read_all` (the ids in ascending order, to the stored rows among
    /// them) the first time; asked for again, `None`.
    ///
    /// # Errors
    /// What `read_all` returns, and a stored date that is not one.
    pub fn answer<E: From<StoreError>>(
        &mut self,
        id: &str,
        read_all: impl FnOnce(&[String]) -> Result<Vec<StoredWatermarks>, E>,
    ) -> Result<Option<Option<BilledThrough>>, E> {
        if !self.wanted.is_empty() {
            let wanted = std::mem::take(&mut self.wanted);
            let rows = read_all(&wanted)?;
            self.read = wanted.into_iter().map(|id| (id, None)).collect();
            for (id, in_advance, in_arrears) in rows {
                self.read
                    .insert(id, Some(billed_through(in_advance, in_arrears)?));
            }
        }
        Ok(self.read.remove(id))
    }
}
