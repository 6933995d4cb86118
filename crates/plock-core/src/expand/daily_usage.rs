//! Daily usage: one account's quantity of one product per calendar day, the input of the
//! Expand module (adoption scores and usage signals, docs/domain.md, section 11).
//!
//! Built from plain `(date, quantity)` pairs so that Expand does not depend on how usage records
//! are stored; `expand` gathers a company's usage records into these pairs.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::expand::error::ExpandError;

/// The most distinct days one [`DailyUsage`] holds: ten years of days. Expand looks back at most
/// 60 days, so a caller never needs more; the limit keeps a runaway input from growing unbounded.
pub const MAX_DAILY_USAGE_DAYS: usize = 3660;

/// The usage quantity per day of one account and one product.
///
/// A day without a record and a day with quantity zero are the same thing, so zero days are not
/// stored: two `DailyUsage` built from equivalent pairs compare equal.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    try_from = "BTreeMap<NaiveDate, Decimal>",
    into = "BTreeMap<NaiveDate, Decimal>"
)]
pub struct DailyUsage {
    days: BTreeMap<NaiveDate, Decimal>,
}

impl DailyUsage {
    /// Builds daily usage from `(date, quantity)` pairs, summing the pairs of the same day.
    ///
    /// The result does not depend on the order of the pairs: each day's quantities are sorted
    /// before they are added, so even sums that round at 28 significant digits are reproducible.
    ///
    /// # Errors
    /// [`ExpandError::NegativeQuantity`] for a quantity below zero (the earliest day, its most
    /// negative quantity), [`ExpandError::DayOverflow`] when a day's sum does not fit in a
    /// `Decimal`, [`ExpandError::TooManyDays`] past [`MAX_DAILY_USAGE_DAYS`] distinct days.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::expand::DailyUsage;
    /// use rust_decimal::dec;
    ///
    /// let day = NaiveDate::from_ymd_opt(2025, 3, 3).ok_or("no such date")?;
    /// let usage = DailyUsage::from_pairs([(day, dec!(40)), (day, dec!(2.5))])?;
    /// assert_eq!(usage.quantity_on(day), dec!(42.5));
    /// assert!(DailyUsage::from_pairs([(day, dec!(-1))]).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn from_pairs(
        pairs: impl IntoIterator<Item = (NaiveDate, Decimal)>,
    ) -> Result<Self, ExpandError> {
        let mut grouped: BTreeMap<NaiveDate, Vec<Decimal>> = BTreeMap::new();
        for (date, quantity) in pairs {
            if !grouped.contains_key(&date) && grouped.len() >= MAX_DAILY_USAGE_DAYS {
                return Err(ExpandError::TooManyDays {
                    max: MAX_DAILY_USAGE_DAYS,
                });
            }
            grouped.entry(date).or_default().push(quantity);
        }
        let mut days = BTreeMap::new();
        for (date, mut quantities) in grouped {
            quantities.sort_unstable();
            let mut total = Decimal::ZERO;
            for quantity in quantities {
                if quantity.is_sign_negative() && !quantity.is_zero() {
                    return Err(ExpandError::NegativeQuantity { date, quantity });
                }
                total = total
                    .checked_add(quantity)
                    .ok_or(ExpandError::DayOverflow { date })?;
            }
            if !total.is_zero() {
                days.insert(date, total);
            }
        }
        Ok(DailyUsage { days })
    }

    /// The quantity used on `date`; zero when nothing was recorded.
    pub fn quantity_on(&self, date: NaiveDate) -> Decimal {
        self.days.get(&date).copied().unwrap_or(Decimal::ZERO)
    }

    /// The days with usage above zero inside `window`, in date order.
    pub fn active_days_in(
        &self,
        window: UsageWindow,
    ) -> impl Iterator<Item = (NaiveDate, Decimal)> + '_ {
        self.days
            .range(window.start..window.end)
            .map(|(date, quantity)| (*date, *quantity))
    }

    /// The number of distinct days with usage above zero.
    pub fn active_day_count(&self) -> usize {
        self.days.len()
    }
}

impl TryFrom<BTreeMap<NaiveDate, Decimal>> for DailyUsage {
    type Error = ExpandError;

    fn try_from(days: BTreeMap<NaiveDate, Decimal>) -> Result<Self, ExpandError> {
        DailyUsage::from_pairs(days)
    }
}

impl From<DailyUsage> for BTreeMap<NaiveDate, Decimal> {
    fn from(usage: DailyUsage) -> Self {
        usage.days
    }
}

/// A half-open range of days `[start, end)` that Expand looked at, named in its evidence.
///
/// `start <= end` always; deserializing checks it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "WindowFields")]
pub struct UsageWindow {
    start: NaiveDate,
    end: NaiveDate,
}

impl UsageWindow {
    /// The `days` days before `end`: `[end - days, end)`; `None` when that start is before the
    /// first date chrono represents.
    pub fn days_before(end: NaiveDate, days: u64) -> Option<UsageWindow> {
        let start = end.checked_sub_days(Days::new(days))?;
        Some(UsageWindow { start, end })
    }

    /// The first day inside the window.
    pub const fn start(&self) -> NaiveDate {
        self.start
    }

    /// The first day after the window.
    pub const fn end(&self) -> NaiveDate {
        self.end
    }

    /// The days of the window in order.
    pub fn days(&self) -> impl Iterator<Item = NaiveDate> + use<> {
        let end = self.end;
        self.start.iter_days().take_while(move |day| *day < end)
    }
}

/// The fields of a [`UsageWindow`] as read, before they are checked.
#[derive(Deserialize)]
struct WindowFields {
    start: NaiveDate,
    end: NaiveDate,
}

/// A read window that ends before it starts.
#[derive(Debug, thiserror::Error)]
#[error("invalid usage window: start {start} is after end {end}")]
struct InvalidWindow {
    start: NaiveDate,
    end: NaiveDate,
}

impl TryFrom<WindowFields> for UsageWindow {
    type Error = InvalidWindow;

    fn try_from(WindowFields { start, end }: WindowFields) -> Result<Self, InvalidWindow> {
        if start > end {
            return Err(InvalidWindow { start, end });
        }
        Ok(UsageWindow { start, end })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, 3, d).unwrap()
    }

    #[test]
    fn pairs_of_one_day_are_summed_and_zero_days_dropped() {
        let usage =
            DailyUsage::from_pairs([(day(2), dec!(1.5)), (day(1), dec!(0)), (day(2), dec!(2))])
                .unwrap();
        assert_eq!(usage.quantity_on(day(2)), dec!(3.5));
        assert_eq!(usage.quantity_on(day(1)), Decimal::ZERO);
        assert_eq!(usage.quantity_on(day(3)), Decimal::ZERO);
        assert_eq!(usage.active_day_count(), 1);
        assert_eq!(
            usage,
            DailyUsage::from_pairs([(day(2), dec!(3.5))]).unwrap()
        );
    }

    #[test]
    fn negative_quantity_is_rejected_with_its_day() {
        let err = DailyUsage::from_pairs([(day(4), dec!(1)), (day(4), dec!(-2))]).unwrap_err();
        assert_eq!(
            err,
            ExpandError::NegativeQuantity {
                date: day(4),
                quantity: dec!(-2)
            }
        );
        assert_eq!(
            err.to_string(),
            "daily usage on 2025-03-04: quantity -2 is negative; quantities must be 0 or more"
        );
    }

    #[test]
    fn overflowing_day_is_an_error() {
        let err =
            DailyUsage::from_pairs([(day(1), Decimal::MAX), (day(1), Decimal::MAX)]).unwrap_err();
        assert_eq!(err, ExpandError::DayOverflow { date: day(1) });
    }

    #[test]
    fn day_limit_is_accepted_and_one_past_rejected() {
        let start = NaiveDate::from_ymd_opt(2000, 1, 1).unwrap();
        let at_limit: Vec<_> = start
            .iter_days()
            .take(MAX_DAILY_USAGE_DAYS)
            .map(|d| (d, dec!(1)))
            .collect();
        let usage = DailyUsage::from_pairs(at_limit.clone()).unwrap();
        assert_eq!(usage.active_day_count(), MAX_DAILY_USAGE_DAYS);

        let mut past = at_limit;
        past.push((
            start.iter_days().nth(MAX_DAILY_USAGE_DAYS).unwrap(),
            dec!(1),
        ));
        assert_eq!(
            DailyUsage::from_pairs(past).unwrap_err(),
            ExpandError::TooManyDays {
                max: MAX_DAILY_USAGE_DAYS
            }
        );
    }

    #[test]
    fn window_is_half_open() {
        let window = UsageWindow::days_before(day(10), 3).unwrap();
        assert_eq!(window.start(), day(7));
        assert_eq!(window.days().collect::<Vec<_>>(), [day(7), day(8), day(9)]);
        let usage =
            DailyUsage::from_pairs([(day(6), dec!(1)), (day(7), dec!(2)), (day(10), dec!(3))])
                .unwrap();
        assert_eq!(
            usage.active_days_in(window).collect::<Vec<_>>(),
            [(day(7), dec!(2))]
        );
        assert_eq!(UsageWindow::days_before(NaiveDate::MIN, 1), None);
    }

    #[test]
    fn window_serde_round_trip_validates() {
        let window = UsageWindow::days_before(day(10), 3).unwrap();
        let json = serde_json::to_string(&window).unwrap();
        assert_eq!(json, r#"{"start":"2025-03-07","end":"2025-03-10"}"#);
        assert_eq!(serde_json::from_str::<UsageWindow>(&json).unwrap(), window);
        let err =
            serde_json::from_str::<UsageWindow>(r#"{"start":"2025-03-10","end":"2025-03-07"}"#)
                .unwrap_err();
        assert!(
            err.to_string()
                .contains("start 2025-03-10 is after end 2025-03-07"),
            "{err}"
        );
    }

    #[test]
    fn serde_round_trip_validates() {
        let usage = DailyUsage::from_pairs([(day(1), dec!(2.50))]).unwrap();
        let json = serde_json::to_string(&usage).unwrap();
        assert_eq!(json, r#"{"2025-03-01":"2.50"}"#);
        assert_eq!(serde_json::from_str::<DailyUsage>(&json).unwrap(), usage);
        assert!(serde_json::from_str::<DailyUsage>(r#"{"2025-03-01":"-1"}"#).is_err());
    }
}
