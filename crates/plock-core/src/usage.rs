//! Usage (docs/domain.md, section 7): measurements and their aggregation over a period.
//!
//! A [`UsageRecord`] is one measurement: an account key, a [metric](Metric), a UTC time, a
//! quantity and, optionally, the source's record id, which makes a re-sent record count once. A
//! metric's [`Aggregation`] says how a period's records become one quantity: their sum, maximum,
//! minimum, average or count. The billing run reads records packed in a [`UsageTable`].
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use plock_core::id::{AccountKey, MetricId, RecordId};
//! use plock_core::period::Period;
//! use plock_core::usage::{Aggregation, UsageRecord, aggregate};
//! use rust_decimal::dec;
//!
//! let seats = MetricId::new("seats")?;
//! let record = |day, quantity, id: &str| -> Result<UsageRecord, Box<dyn std::error::Error>> {
//!     let at = Utc.with_ymd_and_hms(2025, 1, day, 12, 0, 0).single().ok_or("no such time")?;
//!     Ok(UsageRecord::new(AccountKey::new("globex")?, MetricId::new("seats")?, at, quantity, Some(RecordId::new(id)?))?)
//! };
//! // The record of 20 January is sent twice.
//! let records = [record(5, dec!(40), "r1")?, record(20, dec!(55), "r2")?, record(20, dec!(55), "r2")?];
//! let january = Period::new(
//!     NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?,
//!     NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?,
//! )?;
//! assert_eq!(aggregate(&records, &seats, Aggregation::Sum, &january)?, dec!(95));
//! assert_eq!(aggregate(&records, &seats, Aggregation::Max, &january)?, dec!(55));
//! assert_eq!(aggregate(&records, &seats, Aggregation::Count, &january)?, dec!(2));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{AccountKey, MetricId, RecordId};
use crate::period::Period;

mod late;
mod late_finder;
mod table;

pub use late::LateUsage;
pub use late_finder::{LateFinder, late_usage};
#[cfg(test)]
pub(crate) use table::pack;
pub(crate) use table::{
    Bounds, Packed, RecordSource, Resent, bucket_of, count_in, pack_record, part_len, quantity,
    split_lengths, unix_day_word,
};
pub use table::{UsageTable, UsageTableBuilder};

/// Why a usage record or aggregation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsageError {
    /// Quantities are never negative; corrections are credits.
    #[error("usage record for account {:?}, metric {:?} at {timestamp}: quantity {quantity} is negative", account.as_str(), metric.as_str())]
    NegativeQuantity {
        /// The account.
        account: AccountKey,
        /// The metric.
        metric: MetricId,
        /// When.
        timestamp: DateTime<Utc>,
        /// The quantity.
        quantity: Decimal,
    },
    /// A quantity above [`MAX_QUANTITY`](crate::bounds::MAX_QUANTITY): it could overflow a run.
    #[error("usage record for account {:?}, metric {:?} at {timestamp}: quantity {quantity} is above the largest quantity, 9223372036854775807", account.as_str(), metric.as_str())]
    QuantityTooLarge {
        /// The account.
        account: AccountKey,
        /// The metric.
        metric: MetricId,
        /// When.
        timestamp: DateTime<Utc>,
        /// The quantity.
        quantity: Decimal,
    },
    /// A record the usage table cannot pack (see [`UsageTable`]).
    #[error("usage record for account {:?}, metric {:?}: {field} {value} is outside the usage table's range (quantities with a mantissa of at most 63 bits, dates within 22,000 years of 1970)", account.as_str(), metric.as_str())]
    OutsideTable {
        /// The account.
        account: AccountKey,
        /// The metric.
        metric: MetricId,
        /// `quantity` or `timestamp`.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// The aggregate does not fit.
    #[error("aggregating metric {:?} over {period} overflows", metric.as_str())]
    Overflow {
        /// The metric.
        metric: MetricId,
        /// The period.
        period: Period,
    },
}

/// One measurement: account, metric, UTC timestamp, quantity >= 0, optional record id.
///
/// ```
/// use chrono::{TimeZone, Utc};
/// use plock_core::{AccountKey, MetricId, UsageRecord};
/// use plock_core::id::RecordId;
/// use rust_decimal::dec;
///
/// let at = Utc.with_ymd_and_hms(2025, 1, 15, 12, 0, 0).single().ok_or("no such time")?;
/// let record = UsageRecord::new(AccountKey::new("globex")?, MetricId::new("api_calls")?, at, dec!(12500), Some(RecordId::new("evt-1")?))?;
/// assert_eq!(record.quantity(), dec!(12500));
/// // Usage is never negative.
/// assert!(UsageRecord::new(AccountKey::new("globex")?, MetricId::new("api_calls")?, at, dec!(-1), None).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawRecord", into = "RawRecord")]
pub struct UsageRecord {
    account: AccountKey,
    metric: MetricId,
    timestamp: DateTime<Utc>,
    quantity: Decimal,
    record_id: Option<RecordId>,
}

#[derive(Serialize, Deserialize)]
struct RawRecord {
    account: AccountKey,
    metric: MetricId,
    timestamp: DateTime<Utc>,
    quantity: Decimal,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    record_id: Option<RecordId>,
}

impl TryFrom<RawRecord> for UsageRecord {
    type Error = UsageError;
    fn try_from(r: RawRecord) -> Result<UsageRecord, UsageError> {
        UsageRecord::new(r.account, r.metric, r.timestamp, r.quantity, r.record_id)
    }
}
impl From<UsageRecord> for RawRecord {
    fn from(r: UsageRecord) -> RawRecord {
        RawRecord {
            account: r.account,
            metric: r.metric,
            timestamp: r.timestamp,
            quantity: r.quantity,
            record_id: r.record_id,
        }
    }
}

impl UsageRecord {
    /// A validated record.
    ///
    /// # Errors
    /// [`UsageError::NegativeQuantity`], [`UsageError::QuantityTooLarge`].
    pub fn new(
        account: AccountKey,
        metric: MetricId,
        timestamp: DateTime<Utc>,
        quantity: Decimal,
        record_id: Option<RecordId>,
    ) -> Result<UsageRecord, UsageError> {
        if quantity.is_sign_negative() && !quantity.is_zero() {
            return Err(UsageError::NegativeQuantity {
                account,
                metric,
                timestamp,
                quantity,
            });
        }
        if crate::bounds::quantity_too_large(quantity).is_some() {
            return Err(UsageError::QuantityTooLarge {
                account,
                metric,
                timestamp,
                quantity,
            });
        }
        Ok(UsageRecord {
            account,
            metric,
            timestamp,
            // -0 is 0: a sign on zero would survive aggregation and change nothing else.
            quantity: if quantity.is_zero() {
                quantity.abs()
            } else {
                quantity
            },
            record_id,
        })
    }

    /// The account's primary key.
    pub fn account(&self) -> &AccountKey {
        &self.account
    }
    /// The metric.
    pub fn metric(&self) -> &MetricId {
        &self.metric
    }
    /// When it was measured (UTC).
    pub fn timestamp(&self) -> DateTime<Utc> {
        self.timestamp
    }
    /// How much (>= 0).
    pub fn quantity(&self) -> Decimal {
        self.quantity
    }
    /// The source's record id.
    pub fn record_id(&self) -> Option<&RecordId> {
        self.record_id.as_ref()
    }
}

/// How a metric's records in a period become one quantity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Aggregation {
    /// The sum of quantities (api calls, GB transferred).
    #[default]
    Sum,
    /// The largest quantity (peak seats).
    Max,
    /// The smallest quantity.
    Min,
    /// The mean quantity.
    Average,
    /// The number of records.
    Count,
}

impl Aggregation {
    /// Every aggregation, in declaration order.
    pub const ALL: [Aggregation; 5] = [
        Aggregation::Sum,
        Aggregation::Max,
        Aggregation::Min,
        Aggregation::Average,
        Aggregation::Count,
    ];
}

/// A metric of the company's catalogue: what usage is counted in, and how it aggregates.
///
/// ```
/// use plock_core::{Metric, MetricId};
/// use plock_core::usage::Aggregation;
///
/// // Seats are billed at the month's peak, API calls by their sum.
/// let catalogue = [
///     Metric { id: MetricId::new("seats")?, aggregation: Aggregation::Max },
///     Metric { id: MetricId::new("api_calls")?, aggregation: Aggregation::Sum },
/// ];
/// assert_eq!(Aggregation::default(), Aggregation::Sum);
/// assert!(catalogue.iter().any(|m| m.aggregation == Aggregation::Max));
/// # Ok::<(), plock_core::id::IdError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metric {
    /// Its id.
    pub id: MetricId,
    /// How a period's records aggregate.
    #[serde(default)]
    pub aggregation: Aggregation,
}

/// Drops re-sent records: of the records sharing a record id, the one with the greatest
/// (timestamp, quantity, quantity's scale) is kept, so the result does not depend on input
/// order, not even in the scale of an equal quantity. Records
/// without an id are all kept. The output is sorted.
pub fn deduplicate<'a>(records: impl IntoIterator<Item = &'a UsageRecord>) -> Vec<&'a UsageRecord> {
    let mut by_id: BTreeMap<&RecordId, &UsageRecord> = BTreeMap::new();
    let mut anonymous = Vec::new();
    for r in records {
        match &r.record_id {
            Some(id) => {
                let keep = by_id.get(id).is_none_or(|kept| {
                    (r.timestamp, r.quantity, r.quantity.scale())
                        > (kept.timestamp, kept.quantity, kept.quantity.scale())
                });
                if keep {
                    by_id.insert(id, r);
                }
            }
            None => anonymous.push(r),
        }
    }
    anonymous.extend(by_id.into_values());
    anonymous.sort();
    anonymous
}

/// Aggregates `records` (one account's records of `metric`) whose UTC date lies in `period`.
/// Duplicated record ids count once (see [`deduplicate`]); no record gives zero.
///
/// # Errors
/// [`UsageError::Overflow`].
pub fn aggregate<'a>(
    records: impl IntoIterator<Item = &'a UsageRecord>,
    metric: &MetricId,
    aggregation: Aggregation,
    period: &Period,
) -> Result<Decimal, UsageError> {
    let kept = deduplicate(records);
    let in_period = kept
        .into_iter()
        .filter(|r| period.contains(r.timestamp.date_naive()));
    aggregate_quantities(in_period.map(UsageRecord::quantity), aggregation).ok_or_else(|| {
        UsageError::Overflow {
            metric: metric.clone(),
            period: *period,
        }
    })
}

/// Aggregates already-selected quantities; `None` on overflow.
pub(crate) fn aggregate_quantities(
    mut quantities: impl Iterator<Item = Decimal>,
    aggregation: Aggregation,
) -> Option<Decimal> {
    // One pass that computes only what the aggregation needs: this is the billing run's
    // innermost loop.
    match aggregation {
        Aggregation::Sum => quantities.try_fold(Decimal::ZERO, exact_add),
        // Equal values may differ in scale (1.0, 1.00): the larger scale wins, whatever the order.
        Aggregation::Max => Some(
            quantities
                .max_by(|a, b| a.cmp(b).then(a.scale().cmp(&b.scale())))
                .unwrap_or(Decimal::ZERO),
        ),
        Aggregation::Min => Some(
            quantities
                .min_by(|a, b| a.cmp(b).then(b.scale().cmp(&a.scale())))
                .unwrap_or(Decimal::ZERO),
        ),
        Aggregation::Count => {
            quantities.try_fold(Decimal::ZERO, |acc, _| acc.checked_add(Decimal::ONE))
        }
        Aggregation::Average => {
            let (sum, count) = quantities
                .try_fold((Decimal::ZERO, Decimal::ZERO), |(sum, count), q| {
                    Some((exact_add(sum, q)?, count.checked_add(Decimal::ONE)?))
                })?;
            if count.is_zero() {
                Some(Decimal::ZERO)
            } else {
                sum.checked_div(count)
            }
        }
    }
}

/// `a + b` exactly, at the larger scale of the two, or `None`: where the exact sum does not
/// fit, `Decimal` would round it to a smaller scale, and usage is never rounded. Quantities
/// are not negative, so whether a sum fits does not depend on the order of the additions.
fn exact_add(a: Decimal, b: Decimal) -> Option<Decimal> {
    let scale = a.scale().max(b.scale());
    let mut sum = a.checked_add(b)?;
    // Decimal returns the other operand as it is when one is zero, at its own scale.
    if sum.scale() < scale && (a.is_zero() || b.is_zero()) {
        sum.rescale(scale);
    }
    Some(sum).filter(|sum| sum.scale() == scale)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDate, TimeZone};
    use proptest::prelude::*;
    use rust_decimal::dec;

    fn rec(day: u32, q: Decimal, id: Option<&str>) -> UsageRecord {
        UsageRecord::new(
            AccountKey::new("acme").unwrap(),
            MetricId::new("api_calls").unwrap(),
            Utc.with_ymd_and_hms(2025, 1, day, 12, 0, 0).unwrap(),
            q,
            id.map(|s| RecordId::new(s).unwrap()),
        )
        .unwrap()
    }

    fn jan() -> Period {
        Period::new(
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
            NaiveDate::from_ymd_opt(2025, 1, 11).unwrap(),
        )
        .unwrap()
    }

    fn agg(records: &[UsageRecord], a: Aggregation) -> Decimal {
        aggregate(records, &MetricId::new("api_calls").unwrap(), a, &jan()).unwrap()
    }

    #[test]
    fn aggregations() {
        let r = vec![
            rec(1, dec!(10), None),
            rec(2, dec!(4), None),
            rec(10, dec!(7), None),
            rec(11, dec!(100), None),
        ];
        assert_eq!(agg(&r, Aggregation::Sum), dec!(21));
        assert_eq!(agg(&r, Aggregation::Max), dec!(10));
        assert_eq!(agg(&r, Aggregation::Min), dec!(4));
        assert_eq!(agg(&r, Aggregation::Count), dec!(3));
        assert_eq!(agg(&r, Aggregation::Average), dec!(7));
        assert_eq!(agg(&[], Aggregation::Average), dec!(0));
        assert_eq!(agg(&[], Aggregation::Min), dec!(0));
    }

    #[test]
    fn equal_values_of_different_scales_aggregate_the_same_in_any_order() {
        let a = vec![rec(1, dec!(5.0), None), rec(2, dec!(5.00), None)];
        let b = vec![rec(2, dec!(5.00), None), rec(1, dec!(5.0), None)];
        for aggregation in [Aggregation::Max, Aggregation::Min] {
            assert_eq!(agg(&a, aggregation).to_string(), "5.00");
            assert_eq!(agg(&b, aggregation).to_string(), "5.00");
        }
    }

    #[test]
    fn zeros_of_any_scale_and_sign_add_in_any_order() {
        let orders = [
            vec![rec(1, dec!(0.0), None), rec(2, dec!(0), None)],
            vec![rec(2, dec!(0), None), rec(1, dec!(0.0), None)],
        ];
        for records in &orders {
            assert_eq!(agg(records, Aggregation::Sum).to_string(), "0.0");
        }
        let mixed = vec![
            rec(3, dec!(1.000), None),
            rec(2, dec!(5), None),
            rec(1, dec!(0.00), None),
        ];
        assert_eq!(agg(&mixed, Aggregation::Sum).to_string(), "6.000");
        let negative_zero = rec(1, -dec!(0.00), None);
        assert!(!negative_zero.quantity().is_sign_negative());
        assert_eq!(agg(&[negative_zero], Aggregation::Max).to_string(), "0.00");
    }

    #[test]
    fn record_ids_count_once() {
        let r = vec![
            rec(1, dec!(10), Some("r1")),
            rec(1, dec!(10), Some("r1")),
            rec(2, dec!(5), Some("r2")),
        ];
        assert_eq!(agg(&r, Aggregation::Sum), dec!(15));
        assert_eq!(agg(&r, Aggregation::Count), dec!(2));
    }

    #[test]
    fn negative_quantity_is_refused() {
        let err = UsageRecord::new(
            AccountKey::new("acme").unwrap(),
            MetricId::new("gb").unwrap(),
            Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap(),
            dec!(-1),
            None,
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "usage record for account \"acme\", metric \"gb\" at 2025-01-01 00:00:00 UTC: quantity -1 is negative"
        );
        let json =
            r#"{"account":"a","metric":"m","timestamp":"2025-01-01T00:00:00Z","quantity":"-2"}"#;
        assert!(serde_json::from_str::<UsageRecord>(json).is_err());
    }

    fn aggregation() -> impl Strategy<Value = Aggregation> {
        prop_oneof![
            Just(Aggregation::Sum),
            Just(Aggregation::Max),
            Just(Aggregation::Min),
            Just(Aggregation::Average),
            Just(Aggregation::Count)
        ]
    }

    proptest! {
        #[test]
        fn aggregation_ignores_order_and_duplicated_ids(
            raw in prop::collection::vec((1u32..=15, 0i64..100_000, prop::option::of(0u8..6)), 0..40),
            a in aggregation(),
            seed in any::<u64>(),
        ) {
            let records: Vec<UsageRecord> = raw.iter().map(|(d, q, id)| rec(*d, Decimal::new(*q, 2), id.map(|i| format!("r{i}")).as_deref())).collect();
            let expected = agg(&records, a);
            let mut shuffled = records.clone();
            // A deterministic shuffle from the seed.
            let n = shuffled.len();
            for i in (1..n).rev() {
                let j = (seed.wrapping_mul(6364136223846793005).wrapping_add(i as u64) % (i as u64 + 1)) as usize;
                shuffled.swap(i, j);
            }
            prop_assert_eq!(agg(&shuffled, a), expected);
            let mut resent = records.clone();
            resent.extend(records.iter().filter(|r| r.record_id().is_some()).cloned());
            prop_assert_eq!(agg(&resent, a), expected);
        }
    }
}
