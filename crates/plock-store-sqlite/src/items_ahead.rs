//! The items' JSON of a batch's subscriptions, made on a thread of its own ahead of the
//! writes.
//!
//! A subscriptions import puts every subscription of its file in one batch, one statement
//! each on the transaction's thread; encoding each one's items (products, prices, tiers) as
//! JSON was a sixth of that thread's work. The items are encoded in the batch's order, at
//! most [`AHEAD`] ahead, and each put takes the next one. The JSON is what the writer itself
//! would make: the store keeps a subscription's items as the batch gives them (only what it
//! is billed through is the stored one's).

use std::sync::mpsc::{Receiver, sync_channel};

use plock_core::Subscription;
use plock_core::store::{Batch, Change, StoreError};

use crate::codec::Context;

/// Subscriptions encoded ahead of the writes, at most: a few hundred KB of JSON.
const AHEAD: usize = 512;

/// Batches putting fewer subscriptions encode each where it is written: no thread.
const FEW: usize = 256;

/// A subscription's id and its items' JSON, or why they could not be encoded.
type Encoded<'b> = (&'b str, Result<String, String>);

/// The items encoded ahead, taken one put at a time.
pub(crate) struct ItemsAhead<'b> {
    encoded: Option<Receiver<Encoded<'b>>>,
}

impl ItemsAhead<'_> {
    /// None: every put encodes its own.
    pub(crate) fn none() -> ItemsAhead<'static> {
        ItemsAhead { encoded: None }
    }

    /// The items' JSON of `subscription`, the batch's next put, when encoded ahead. A put
    /// the encoder did not expect (never in a batch applied in order) ends the reading
    /// ahead: every later put encodes its own.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the items could not be encoded.
    pub(crate) fn take(
        &mut self,
        subscription: &Subscription,
    ) -> Option<Result<String, StoreError>> {
        let (id, json) = self.encoded.as_ref()?.recv().ok()?;
        if id != subscription.id().as_str() {
            self.encoded = None;
            return None;
        }
        Some(json.context("encoding items"))
    }
}

/// Runs `body` with the items of `batch`'s subscriptions encoded ahead on a thread of its
/// own, when it puts many.
pub(crate) fn with_items_ahead<R>(batch: &Batch, body: impl FnOnce(ItemsAhead<'_>) -> R) -> R {
    let puts = || {
        batch.changes.iter().filter_map(|change| match change {
            Change::PutSubscription { subscription } => Some(subscription),
            _ => None,
        })
    };
    if puts().nth(FEW).is_none() {
        return body(ItemsAhead::none());
    }
    std::thread::scope(|scope| {
        let (send, encoded) = sync_channel(AHEAD);
        scope.spawn(move || {
            for subscription in puts() {
                let json =
                    serde_json::to_string(&subscription.spec().items).map_err(|e| e.to_string());
                // The writer stopped (a refusal, or the batch is written): nothing more.
                if send.send((subscription.id().as_str(), json)).is_err() {
                    break;
                }
            }
        });
        // The receiver is dropped with `body`'s end, which ends the encoder's sending.
        body(ItemsAhead {
            encoded: Some(encoded),
        })
    })
}
