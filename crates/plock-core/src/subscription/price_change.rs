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

use crate::pricing::{PriceModel, Rebate};

/// The most price changes one item keeps.
pub const MAX_PRICE_CHANGES: usize = 32;

/// An item's price changes, in the order they were made: a slice of [`PriceChange`]s.
///
/// Held behind one pointer and allocated only once there is a change: most items never
/// change, and an empty vector takes 24 bytes an item where this takes 8. Serialized as a
/// list.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::PriceModel;
/// use plock_core::subscription::{PriceChange, PriceChanges};
/// use rust_decimal::dec;
///
/// let mut changes = PriceChanges::default();
/// assert!(changes.is_empty());
/// changes.push(PriceChange {
///     from: NaiveDate::from_ymd_opt(2025, 4, 15).ok_or("no such date")?,
///     before: PriceModel::FlatFee { fee: dec!(100.00), quantity: dec!(1) },
///     rebate_before: None,
///     billed: None,
/// });
/// assert_eq!(changes.len(), 1);
/// assert_eq!(serde_json::to_string(&changes)?.chars().next(), Some('['));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[expect(
    clippy::box_collection,
    reason = "one thin pointer: a boxed slice or a vector takes two or three words an item"
)]
pub struct PriceChanges(Option<Box<Vec<PriceChange>>>);

impl PriceChanges {
    /// Appends `change`, the latest.
    pub fn push(&mut self, change: PriceChange) {
        self.0.get_or_insert_with(Box::default).push(change);
    }

    /// Whether the item never changed (also a path for serde's `skip_serializing_if`).
    pub fn is_empty(&self) -> bool {
        self.0.as_ref().is_none_or(|c| c.is_empty())
    }
}

impl std::ops::Deref for PriceChanges {
    type Target = [PriceChange];
    fn deref(&self) -> &[PriceChange] {
        self.0.as_deref().map_or(&[], Vec::as_slice)
    }
}

impl From<Vec<PriceChange>> for PriceChanges {
    fn from(changes: Vec<PriceChange>) -> PriceChanges {
        PriceChanges((!changes.is_empty()).then(|| Box::new(changes)))
    }
}

impl FromIterator<PriceChange> for PriceChanges {
    fn from_iter<I: IntoIterator<Item = PriceChange>>(iter: I) -> PriceChanges {
        PriceChanges::from(iter.into_iter().collect::<Vec<_>>())
    }
}

impl<'a> IntoIterator for &'a PriceChanges {
    type Item = &'a PriceChange;
    type IntoIter = std::slice::Iter<'a, PriceChange>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

impl Serialize for PriceChanges {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter())
    }
}

impl<'de> Deserialize<'de> for PriceChanges {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<PriceChanges, D::Error> {
        Vec::<PriceChange>::deserialize(deserializer).map(PriceChanges::from)
    }
}

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
