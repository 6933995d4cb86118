//! What runs billed of usage, period by period: the state a later run rates late usage
//! against (see [`super::late`]).

use std::collections::HashMap;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::hash::FastState;
use crate::id::{ProductId, SubscriptionId};
use crate::period::Period;

/// What a run billed for one usage item of a subscription over one period in arrears: a
/// later run compares it with the usage it then reads, and bills the difference.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::billing::BilledUsage;
/// use plock_core::id::{ProductId, SubscriptionId};
/// use plock_core::period::Period;
/// use rust_decimal::dec;
///
/// let january = Period::new(
///     NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?,
///     NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?,
/// )?;
/// let billed = BilledUsage {
///     subscription: SubscriptionId::new("sub-globex")?,
///     product: ProductId::new("api")?,
///     period: january,
///     records: 2,
///     quantity: dec!(40000),
///     amount: dec!(80.00),
///     replaces: None,
///     skipped: false,
/// };
/// assert_eq!(billed.key(), ("sub-globex", "api", january.start()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BilledUsage {
    /// The subscription.
    pub subscription: SubscriptionId,
    /// The usage item, by its product.
    pub product: ProductId,
    /// The days billed (a period's covered days).
    pub period: Period,
    /// How many usage records the period held when billed.
    pub records: u64,
    /// Their aggregate, as rated.
    pub quantity: Decimal,
    /// What was billed for the period in all, rounded: its line, and any late lines since.
    pub amount: Decimal,
    /// The tally of the stored row this one replaces, as the run read it (a late usage
    /// charge's): a store refuses the row when the stored one of its key has another tally
    /// by then, so two runs that read the same billed usage never both bill its late usage.
    /// `None` checks nothing (a period billed for the first time is guarded by its
    /// subscription's watermark). Stores keep rows without it. Boxed: only late usage
    /// charges carry one, and a run returns a row per usage item billed (48 bytes inline,
    /// 8 boxed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<Box<BilledTally>>,
    /// Whether the row records days a restore skipped, billed for nothing, for an item's fixed
    /// part (a flat fee, or a commitment's committed part): compensation never credits them,
    /// and late usage never rates them.
    #[serde(default, skip_serializing_if = "is_false")]
    pub skipped: bool,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes a reference"
)]
fn is_false(value: &bool) -> bool {
    !*value
}

/// What a [`BilledUsage`] row says was billed: its records, their aggregate and the amount.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BilledTally {
    /// How many usage records.
    pub records: u64,
    /// Their aggregate.
    pub quantity: Decimal,
    /// The amount billed.
    pub amount: Decimal,
}

impl BilledUsage {
    /// Its records, aggregate and amount.
    pub fn tally(&self) -> BilledTally {
        BilledTally {
            records: self.records,
            quantity: self.quantity,
            amount: self.amount,
        }
    }

    /// The row as a store keeps it: without what it replaces.
    pub fn to_stored(&self) -> BilledUsage {
        BilledUsage {
            replaces: None,
            ..self.clone()
        }
    }

    /// Whether `stored` (the stored row of this row's key, if any) is what this row replaces:
    /// always when it names nothing.
    pub fn replaces_stored(&self, stored: Option<&BilledUsage>) -> bool {
        match self.replaces.as_deref() {
            None => true,
            Some(tally) => stored.is_some_and(|s| s.tally() == *tally),
        }
    }

    /// Its key as text, `subscription/product/period start`, as a store's refusal names it.
    pub fn key_text(&self) -> String {
        format!(
            "{}/{}/{}",
            self.subscription,
            self.product,
            self.period.start()
        )
    }

    /// What identifies it: a store keeps one per key, the latest.
    pub fn key(&self) -> (&str, &str, chrono::NaiveDate) {
        (
            self.subscription.as_str(),
            self.product.as_str(),
            self.period.start(),
        )
    }
}

/// The billed usage of one item, its periods in order.
struct ItemRows<'a> {
    rows: Vec<&'a BilledUsage>,
}

/// A run's billed usage by (subscription, product): built once a run, in one pass.
#[derive(Default)]
pub(crate) struct BilledUsageIndex<'a>(
    HashMap<(&'a SubscriptionId, &'a ProductId), ItemRows<'a>, FastState>,
);

impl<'a> BilledUsageIndex<'a> {
    /// The index of `rows`; of two rows with one key, the later in the slice counts.
    pub(crate) fn new(rows: &'a [BilledUsage]) -> BilledUsageIndex<'a> {
        let mut index: HashMap<_, ItemRows<'a>, FastState> = HashMap::default();
        for row in rows {
            index
                .entry((&row.subscription, &row.product))
                .or_insert_with(|| ItemRows { rows: Vec::new() })
                .rows
                .push(row);
        }
        for item in index.values_mut() {
            // Stable: of equal starts the later row stays last, and is the one kept.
            item.rows.sort_by_key(|r| r.period.start());
            let mut kept: Vec<&BilledUsage> = Vec::with_capacity(item.rows.len());
            for row in item.rows.drain(..) {
                match kept.last_mut() {
                    Some(last) if last.period.start() == row.period.start() => *last = row,
                    _ => kept.push(row),
                }
            }
            item.rows = kept;
        }
        BilledUsageIndex(index)
    }

    /// Whether it holds no rows: a run given no billed usage (its history only as the
    /// subscriptions' watermarks) has no late usage to look for, and looks up no item.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The billed rows of `sub`'s item `product`, in period order.
    pub(crate) fn rows<'s>(
        &'s self,
        sub: &'s SubscriptionId,
        product: &'s ProductId,
    ) -> &'s [&'s BilledUsage] {
        self.get(sub, product)
            .map_or(&[], |item| item.rows.as_slice())
    }

    fn get<'s>(
        &'s self,
        sub: &'s SubscriptionId,
        product: &'s ProductId,
    ) -> Option<&'s ItemRows<'s>> {
        // The map is covariant in its keys: looked up with keys of the shorter lifetime.
        let map: &'s HashMap<(&'s SubscriptionId, &'s ProductId), ItemRows<'s>, FastState> =
            &self.0;
        map.get(&(sub, product))
    }
}

#[cfg(test)]
mod tests {
    use super::{BilledTally, BilledUsage};

    #[test]
    fn a_row_holds_what_it_replaces_behind_a_pointer() {
        // A run returns a row per usage item billed; only late charges replace one.
        assert!(std::mem::size_of::<BilledUsage>() <= 112);
        assert!(std::mem::size_of::<BilledTally>() >= 40);
    }
}
