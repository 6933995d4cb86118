//! A flat fee's price or quantity changed from a date (domain reference, 8.1): the item keeps
//! the prices it had before, so every day is priced as agreed on that day, and which days
//! were already billed at the earlier prices, so the next run settles the difference once.
//!
//! An item's changes are kept in the order they were made. On a day `d`, counting its first
//! `k` changes, the item's price is the new price of the last of them starting on or before
//! `d`, or the price it had before the first change when none does: a later change starting
//! earlier overrides an earlier one for every day from its start.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::period::Period;
use crate::pricing::{PriceModel, Rebate};
use crate::subscription::item::Item;

/// The most price changes one item keeps.
pub const MAX_PRICE_CHANGES: usize = 32;

/// One change of an item's flat fee or quantity, as made: its first day, the price it
/// replaced, and what the item was billed through when it was made.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{BillingInterval, BillingPractice, Currency, Item, ProductId, Subscription, SubscriptionSpec};
/// use plock_core::id::{AccountId, SubscriptionId};
/// use plock_core::period::PeriodMode;
/// use plock_core::subscription::BilledThrough;
/// use rust_decimal::dec;
///
/// let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
/// let licence = ProductId::new("licence")?;
/// let mut sub = Subscription::new(
///     SubscriptionSpec {
///         id: SubscriptionId::new("sub-1")?,
///         account: AccountId::new("globex")?,
///         start: d(1, 1)?,
///         end: None,
///         interval: BillingInterval::MONTHLY,
///         mode: PeriodMode::Calendar,
///         anchor: None,
///         practice: BillingPractice::InAdvance,
///         currency: Currency::EUR,
///         items: vec![Item::flat_fee(licence.clone(), dec!(100.00), dec!(1))],
///         minimum_invoice_amount: None,
///     },
///     Currency::EUR,
/// )?;
/// sub.activate()?;
/// // April was billed in advance; the fee rises to 130.00 from 15 April.
/// sub.record_billed(BilledThrough::default().advanced(BillingPractice::InAdvance, d(5, 1)?));
/// sub.change_item(&licence, Item::flat_fee(licence.clone(), dec!(130.00), dec!(1)), d(4, 15)?)?;
/// let item = &sub.items()[0];
/// assert_eq!(item.price.fixed_amount()?, dec!(130.00));
/// let change = &item.changes[0];
/// // The days 15 to 30 April were billed at 100.00: the next run charges the difference.
/// assert_eq!((change.from, change.billed), (d(4, 15)?, Some(d(5, 1)?)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PriceChange {
    /// The first day the new price applies.
    pub from: NaiveDate,
    /// The price the item had when the change was made.
    pub before: PriceModel,
    /// The rebate the item had when the change was made.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebate_before: Option<Rebate>,
    /// What the item's fixed fee was billed through when the change was made, when that is
    /// after `from`: the days between were billed at the earlier prices, and the next run
    /// charges or credits the difference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub billed: Option<NaiveDate>,
}

/// One price of an item: its price model and rebate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Version<'a> {
    /// The price.
    pub price: &'a PriceModel,
    /// The rebate.
    pub rebate: Option<Rebate>,
}

impl Item {
    /// The new price of change `index`: what the next change replaced, or the item's price
    /// for the last one.
    fn price_after(&self, index: usize) -> Version<'_> {
        match self.changes.get(index.saturating_add(1)) {
            Some(next) => Version {
                price: &next.before,
                rebate: next.rebate_before,
            },
            None => Version {
                price: &self.price,
                rebate: self.rebate,
            },
        }
    }

    /// The item's price on `day`, counting only its first `count` changes.
    pub fn version_on(&self, count: usize, day: NaiveDate) -> Version<'_> {
        let counted = self.changes.get(..count).unwrap_or(&self.changes);
        match counted.iter().rposition(|c| c.from <= day) {
            Some(index) => self.price_after(index),
            None => match self.changes.first() {
                Some(first) => Version {
                    price: &first.before,
                    rebate: first.rebate_before,
                },
                None => Version {
                    price: &self.price,
                    rebate: self.rebate,
                },
            },
        }
    }

    /// `span` cut where the price changes, counting the first `count` changes: each piece
    /// with the one price it has throughout.
    pub fn pieces(&self, count: usize, span: Period) -> Vec<(Period, Version<'_>)> {
        let counted = self.changes.get(..count).unwrap_or(&self.changes);
        let mut cuts: Vec<NaiveDate> = counted
            .iter()
            .map(|c| c.from)
            .filter(|d| *d > span.start() && *d < span.end())
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        cuts.push(span.end());
        let mut pieces: Vec<(Period, Version<'_>)> = Vec::with_capacity(cuts.len());
        let mut start = span.start();
        for cut in cuts {
            let version = self.version_on(count, start);
            match pieces.last_mut() {
                // A change overridden by a later one leaves no cut.
                Some((last, price)) if *price == version => {
                    if let Ok(longer) = Period::new(last.start(), cut) {
                        *last = longer;
                    }
                }
                _ => {
                    if let Ok(piece) = Period::new(start, cut) {
                        pieces.push((piece, version));
                    }
                }
            }
            start = cut;
        }
        pieces
    }
}
