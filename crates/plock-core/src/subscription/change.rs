//! Changing a flat fee's price or quantity from a date.

use chrono::NaiveDate;

use crate::id::ProductId;
use crate::subscription::price_change::{MAX_PRICE_CHANGES, PriceChange};
use crate::subscription::terms::{SubscriptionError, SubscriptionState};
use crate::subscription::{Item, Subscription};

impl Subscription {
    /// Changes the flat fee of item `product` to `new`'s fee, quantity and rebate from
    /// `from` on. Days before `from` keep their price. When days from `from` on were already
    /// billed (a period billed in advance), the next billing run charges or credits the
    /// difference for them, once; it bills no day again.
    ///
    /// Only a flat fee changes this way: a usage price changes with a new item. `new` names
    /// the same product, has no metric and keeps the item's own billing practice; any
    /// changes it carries are ignored.
    ///
    /// # Errors
    /// [`SubscriptionError::Transition`] for an Ended subscription;
    /// [`SubscriptionError::Invalid`] for an unknown product, an item that is not a flat
    /// fee, another product or practice in `new`, `from` before the start or on or after the
    /// end, or more than [`MAX_PRICE_CHANGES`] changes; [`SubscriptionError::Price`] for an
    /// invalid price.
    pub fn change_item(
        &mut self,
        product: &ProductId,
        new: Item,
        from: NaiveDate,
    ) -> Result<(), SubscriptionError> {
        if self.state == SubscriptionState::Ended {
            return Err(SubscriptionError::Transition {
                subscription: self.spec.id.clone(),
                state: self.state,
                action: "change an item of",
            });
        }
        let id = self.spec.id.clone();
        let invalid = |field, value: String, reason: String| SubscriptionError::Invalid {
            subscription: id.clone(),
            field,
            value,
            reason,
        };
        let practice = self.spec.practice;
        let billed = self.billed;
        let start = self.schedule.start();
        let end = self.schedule.end();
        let Some(old) = self.spec.items.iter_mut().find(|i| &i.product == product) else {
            return Err(invalid(
                "product",
                product.to_string(),
                "the subscription has no such item".into(),
            ));
        };
        if !old.is_flat_fee() || !new.is_flat_fee() {
            return Err(invalid(
                "product",
                product.to_string(),
                "only a flat fee's price or quantity changes from a date".into(),
            ));
        }
        if &new.product != product || new.practice != old.practice {
            return Err(invalid(
                "item",
                new.product.to_string(),
                format!("the change must keep item {product:?} and its billing practice"),
            ));
        }
        if from < start || end.is_some_and(|e| from >= e) {
            return Err(invalid(
                "from",
                from.to_string(),
                "must lie within the subscription's days".into(),
            ));
        }
        if old.changes.len() >= MAX_PRICE_CHANGES {
            return Err(invalid(
                "price changes",
                old.changes.len().to_string(),
                format!("item {product:?} has had the most changes, 32"),
            ));
        }
        let mut next = Item {
            changes: old.changes.clone(),
            ..new
        };
        next.changes.push(PriceChange {
            from,
            before: old.price.clone(),
            rebate_before: old.rebate,
            billed: billed
                .get(old.fixed_timing(practice))
                .filter(|through| *through > from),
        });
        next.validate(&id)?;
        *old = next;
        Ok(())
    }
}

impl Subscription {
    /// Keeps `stored`'s price history on this subscription, written again over it (a
    /// re-import): an unchanged flat fee keeps its earlier prices, and a flat fee whose fee,
    /// quantity or rebate differs changes from the first day its timing is not billed yet.
    /// Billed days keep the price they were billed at; nothing is settled. Other items are
    /// taken as given.
    ///
    /// # Errors
    /// [`SubscriptionError::Invalid`] when an item would have more than
    /// [`MAX_PRICE_CHANGES`] changes.
    pub fn keep_price_history(&mut self, stored: &Subscription) -> Result<(), SubscriptionError> {
        let id = self.spec.id.clone();
        let practice = self.spec.practice;
        let start = self.schedule.start();
        for item in &mut self.spec.items {
            let Some(old) = stored.items().iter().find(|o| o.product == item.product) else {
                continue;
            };
            if !item.is_flat_fee() || !old.is_flat_fee() || item.practice != old.practice {
                continue;
            }
            item.changes.clone_from(&old.changes);
            if item.price != old.price || item.rebate != old.rebate {
                let from = stored
                    .billed
                    .get(old.fixed_timing(practice))
                    .unwrap_or(start)
                    .max(start);
                item.changes.push(PriceChange {
                    from,
                    before: old.price.clone(),
                    rebate_before: old.rebate,
                    billed: None,
                });
            }
            item.validate(&id)?;
        }
        Ok(())
    }
}
