//! Billing periods (docs/domain.md, section 5.1) and proration (5.2).
//!
//! A schedule's period boundaries are computed from one origin (`origin + k x interval`
//! months, day clamped to the month's length), never by chaining one period from the last, so
//! a clamped February does not drag later periods to the 28th.
//!
//! A [`Schedule`] turns a subscription's start, optional end, [`BillingInterval`] and
//! [`PeriodMode`] into [`BillingPeriod`]s. A period that covers only part of its interval (a start
//! in mid-month, an end) is prorated by days with [`BillingPeriod::prorate`].
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::period::{BillingInterval, PeriodMode, Schedule};
//! use rust_decimal::dec;
//!
//! let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
//! // From 10 January in calendar months: a short first period, then whole months.
//! let schedule = Schedule::new(d(1, 10)?, None, BillingInterval::MONTHLY, PeriodMode::Calendar, None)?;
//! let mut periods = schedule.periods();
//! let first = periods.next().ok_or("no period")?;
//! assert_eq!((first.covered.start(), first.covered.end()), (d(1, 10)?, d(2, 1)?));
//! assert!(first.is_partial());
//! // 22 of January's 31 days of a 3,100.00 fee.
//! assert_eq!(first.prorate(dec!(3100.00))?, dec!(2200.00));
//! let second = periods.next().ok_or("no period")?;
//! assert_eq!(second.covered.days(), 28);
//! assert!(!second.is_partial());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use chrono::{Datelike, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The longest billing interval, in months (ten years).
pub const MAX_INTERVAL_MONTHS: u32 = 120;

/// Why a period or schedule was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// A period must end after it starts.
    #[error("period [{start}, {end}) is empty: the end must be after the start")]
    Empty {
        /// Its start.
        start: NaiveDate,
        /// Its end.
        end: NaiveDate,
    },
    /// The interval is outside 1..=MAX_INTERVAL_MONTHS.
    #[error("billing interval of {months} months is not allowed: use 1 to 120 months")]
    Interval {
        /// The months given.
        months: u32,
    },
    /// The renewal anchor must lie after the start and within the first interval.
    #[error("renewal anchor {anchor} must be after the start {start} and no later than {latest}")]
    Anchor {
        /// The anchor.
        anchor: NaiveDate,
        /// The start.
        start: NaiveDate,
        /// The latest allowed anchor.
        latest: NaiveDate,
    },
    /// The end date must be after the start.
    #[error("end date {end} must be after the start date {start}")]
    EndBeforeStart {
        /// The start.
        start: NaiveDate,
        /// The end.
        end: NaiveDate,
    },
    /// A date fell outside the calendar plock can represent.
    #[error("date out of range near {near}")]
    OutOfRange {
        /// A date near the overflow.
        near: NaiveDate,
    },
    /// Proration overflowed.
    #[error("proration of {amount} over {covered_days}/{full_days} days overflows")]
    Overflow {
        /// The amount prorated.
        amount: Decimal,
        /// Days covered.
        covered_days: i64,
        /// Days of the full period.
        full_days: i64,
    },
}

/// A half-open date range `[start, end)`, never empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(try_from = "RawPeriod")]
pub struct Period {
    start: NaiveDate,
    end: NaiveDate,
}

#[derive(Deserialize)]
struct RawPeriod {
    start: NaiveDate,
    end: NaiveDate,
}

impl TryFrom<RawPeriod> for Period {
    type Error = PeriodError;
    fn try_from(raw: RawPeriod) -> Result<Period, PeriodError> {
        Period::new(raw.start, raw.end)
    }
}

/// `{"start": ..., "end": ...}`, each date as chrono writes it (written by [`date_text`]).
impl Serialize for Period {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut raw = serializer.serialize_struct("RawPeriod", 2)?;
        raw.serialize_field("start", &text::DateText(self.start))?;
        raw.serialize_field("end", &text::DateText(self.end))?;
        raw.end()
    }
}

impl Period {
    /// `[start, end)`.
    ///
    /// # Errors
    /// [`PeriodError::Empty`] unless `start < end`.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::period::Period;
    ///
    /// let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
    /// // February: from its first day up to, not including, 1 March.
    /// let february = Period::new(d(2, 1)?, d(3, 1)?)?;
    /// assert_eq!(february.days(), 28);
    /// assert!(february.contains(d(2, 28)?) && !february.contains(d(3, 1)?));
    /// assert_eq!(february.to_string(), "[2025-02-01, 2025-03-01)");
    /// assert!(Period::new(d(3, 1)?, d(3, 1)?).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Period, PeriodError> {
        if start < end {
            Ok(Period { start, end })
        } else {
            Err(PeriodError::Empty { start, end })
        }
    }

    /// The first day in the period.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// The first day after the period.
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// Calendar days in the period (at least 1).
    pub fn days(&self) -> i64 {
        self.end.signed_duration_since(self.start).num_days()
    }

    /// Is `date` inside `[start, end)`?
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date < self.end
    }

    /// Do the two periods share a day?
    pub fn overlaps(&self, other: &Period) -> bool {
        self.start < other.end && other.start < self.end
    }

    /// The smallest period covering both.
    pub fn hull(&self, other: &Period) -> Period {
        Period {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {})", self.start, self.end)
    }
}

/// How often a subscription is billed: every N months.
///
/// ```
/// use plock_core::BillingInterval;
///
/// assert_eq!(BillingInterval::QUARTERLY.months(), 3);
/// assert_eq!(BillingInterval::every_months(2)?.months(), 2);
/// // 1 to 120 months.
/// assert!(BillingInterval::every_months(0).is_err());
/// assert!(BillingInterval::every_months(121).is_err());
/// # Ok::<(), plock_core::period::PeriodError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct BillingInterval(u32);

impl BillingInterval {
    /// Every month.
    pub const MONTHLY: BillingInterval = BillingInterval(1);
    /// Every 3 months.
    pub const QUARTERLY: BillingInterval = BillingInterval(3);
    /// Every 6 months.
    pub const HALF_YEARLY: BillingInterval = BillingInterval(6);
    /// Every 12 months.
    pub const ANNUALLY: BillingInterval = BillingInterval(12);

    /// Every `months` months.
    ///
    /// # Errors
    /// [`PeriodError::Interval`] outside 1..=[`MAX_INTERVAL_MONTHS`].
    pub fn every_months(months: u32) -> Result<BillingInterval, PeriodError> {
        if (1..=MAX_INTERVAL_MONTHS).contains(&months) {
            Ok(BillingInterval(months))
        } else {
            Err(PeriodError::Interval { months })
        }
    }

    /// The number of months.
    pub fn months(self) -> u32 {
        self.0
    }
}

impl TryFrom<u32> for BillingInterval {
    type Error = PeriodError;
    fn try_from(months: u32) -> Result<BillingInterval, PeriodError> {
        BillingInterval::every_months(months)
    }
}
impl From<BillingInterval> for u32 {
    fn from(i: BillingInterval) -> u32 {
        i.0
    }
}

/// How periods are laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodMode {
    /// Aligned to calendar months; multi-month intervals align to January.
    Calendar,
    /// Following the start date's day of month.
    Continuous,
}

/// One period of a schedule: the part it `covered` and the `full` interval that part belongs
/// to (they differ for a short first period, an anchor's first period and an end-clipped last
/// period: the proration denominator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct BillingPeriod {
    /// The days the charge covers.
    pub covered: Period,
    /// The whole interval `covered` lies in.
    pub full: Period,
}

impl BillingPeriod {
    /// Does the period cover less than its full interval?
    pub fn is_partial(&self) -> bool {
        self.covered != self.full
    }

    /// `amount x covered days / full days`, exact (multiplied before dividing, so 3,100.00 x
    /// 22 / 31 is exactly 2,200.00).
    ///
    /// # Errors
    /// [`PeriodError::Overflow`].
    pub fn prorate(&self, amount: Decimal) -> Result<Decimal, PeriodError> {
        if !self.is_partial() {
            return Ok(amount);
        }
        let covered_days = self.covered.days();
        let full_days = self.full.days();
        let overflow = || PeriodError::Overflow {
            amount,
            covered_days,
            full_days,
        };
        amount
            .checked_mul(Decimal::from(covered_days))
            .and_then(|x| x.checked_div(Decimal::from(full_days)))
            .ok_or_else(overflow)
    }
}

/// The period layout of a subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    start: NaiveDate,
    end: Option<NaiveDate>,
    interval: BillingInterval,
    mode: PeriodMode,
    anchor: Option<NaiveDate>,
}

/// Months since year 0 (negative before).
fn month_index(date: NaiveDate) -> i64 {
    i64::from(date.year())
        .saturating_mul(12)
        .saturating_add(i64::from(date.month0()))
}

fn last_day_of_month(year: i32, month: u32) -> Option<u32> {
    let (next_year, next_month) = if month == 12 {
        (year.checked_add(1)?, 1)
    } else {
        (year, month.checked_add(1)?)
    };
    NaiveDate::from_ymd_opt(next_year, next_month, 1)?
        .pred_opt()
        .map(|d| d.day())
}

/// The date `months` months after `origin`, on `origin`'s day clamped to the month's length.
fn add_months_clamped(origin: NaiveDate, months: i64) -> Option<NaiveDate> {
    let index = month_index(origin).checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    let month = u32::try_from(index.rem_euclid(12)).ok()?.checked_add(1)?;
    // Every month has 28 days: only a later day needs the month's length.
    let day = match origin.day() {
        day @ 1..=28 => day,
        day => day.min(last_day_of_month(year, month)?),
    };
    NaiveDate::from_ymd_opt(year, month, day)
}

impl Schedule {
    /// A validated schedule.
    ///
    /// # Errors
    /// An end not after the start; an anchor not after the start or beyond the first interval.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::BillingInterval;
    /// use plock_core::period::{PeriodMode, Schedule};
    ///
    /// let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
    /// // Continuous months follow the start's day; 31 January's month ends on the last of February.
    /// let schedule = Schedule::new(d(1, 31)?, None, BillingInterval::MONTHLY, PeriodMode::Continuous, None)?;
    /// let ends: Vec<NaiveDate> = schedule.periods().take(3).map(|p| p.covered.end()).collect();
    /// assert_eq!(ends, [d(2, 28)?, d(3, 31)?, d(4, 30)?]);
    /// // An end must come after the start.
    /// assert!(Schedule::new(d(3, 1)?, Some(d(2, 1)?), BillingInterval::MONTHLY, PeriodMode::Calendar, None).is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        start: NaiveDate,
        end: Option<NaiveDate>,
        interval: BillingInterval,
        mode: PeriodMode,
        anchor: Option<NaiveDate>,
    ) -> Result<Schedule, PeriodError> {
        if let Some(end) = end
            && end <= start
        {
            return Err(PeriodError::EndBeforeStart { start, end });
        }
        if let Some(anchor) = anchor {
            let latest = add_months_clamped(start, i64::from(interval.months()))
                .ok_or(PeriodError::OutOfRange { near: start })?;
            if anchor <= start || anchor > latest {
                return Err(PeriodError::Anchor {
                    anchor,
                    start,
                    latest,
                });
            }
        }
        Ok(Schedule {
            start,
            end,
            interval,
            mode,
            anchor,
        })
    }

    /// The first billed day.
    pub fn start(&self) -> NaiveDate {
        self.start
    }
    /// The first day no longer billed, if the subscription ends.
    pub fn end(&self) -> Option<NaiveDate> {
        self.end
    }
    /// The interval.
    pub fn interval(&self) -> BillingInterval {
        self.interval
    }
    /// The mode.
    pub fn mode(&self) -> PeriodMode {
        self.mode
    }
    /// The renewal anchor.
    pub fn anchor(&self) -> Option<NaiveDate> {
        self.anchor
    }

    /// The same schedule ending at `end`.
    ///
    /// # Errors
    /// [`PeriodError::EndBeforeStart`].
    pub fn with_end(&self, end: NaiveDate) -> Result<Schedule, PeriodError> {
        Schedule::new(self.start, Some(end), self.interval, self.mode, self.anchor)
    }

    /// The date all boundaries count from.
    fn origin(&self) -> Option<NaiveDate> {
        match (self.anchor, self.mode) {
            (Some(anchor), _) => Some(anchor),
            (None, PeriodMode::Continuous) => Some(self.start),
            (None, PeriodMode::Calendar) if self.interval.months() == 1 => self.start.with_day(1),
            (None, PeriodMode::Calendar) => NaiveDate::from_ymd_opt(self.start.year(), 1, 1),
        }
    }

    /// The boundaries of the full periods: `b_k` for any `k`, counted from the origin once.
    fn boundaries(&self) -> Option<Boundaries> {
        Some(Boundaries {
            origin: self.origin()?,
            months: i64::from(self.interval.months()),
        })
    }

    /// The period of the full interval `[low, high)`, clipped to the schedule's days.
    fn period_between(&self, low: NaiveDate, high: NaiveDate) -> Option<BillingPeriod> {
        let full = Period::new(low, high).ok()?;
        let start = full.start.max(self.start);
        let end = self.end.map_or(full.end, |e| full.end.min(e));
        let covered = Period::new(start, end).ok()?;
        Some(BillingPeriod { covered, full })
    }

    /// The period containing `date`, if the subscription runs on that day.
    pub fn period_containing(&self, date: NaiveDate) -> Option<BillingPeriod> {
        if date < self.start || self.end.is_some_and(|e| date >= e) {
            return None;
        }
        let (_, low, high) = self.boundaries()?.locate(date)?;
        self.period_between(low, high)
    }

    /// The periods in order, from the start to the end date (endless without one: take what
    /// you need). They tile `[start, end)` with no gap and no overlap.
    pub fn periods(&self) -> impl Iterator<Item = BillingPeriod> + '_ {
        self.periods_from(self.start)
    }

    /// The periods that start on or before `date`.
    pub fn periods_until(&self, date: NaiveDate) -> impl Iterator<Item = BillingPeriod> + '_ {
        self.periods().take_while(move |p| p.covered.start <= date)
    }

    /// The periods in order from the one containing `from` (from the first when `from` is
    /// before the start; none when it is on or after the end). Found by arithmetic on the
    /// boundaries, not by walking from the start: its cost does not grow with how long the
    /// schedule has run.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::BillingInterval;
    /// use plock_core::period::{PeriodMode, Schedule};
    ///
    /// let d = |m, day| NaiveDate::from_ymd_opt(2025, m, day).unwrap();
    /// let monthly = Schedule::new(d(1, 1), None, BillingInterval::MONTHLY, PeriodMode::Calendar, None).unwrap();
    /// let next = monthly.periods_from(d(3, 15)).next().unwrap();
    /// assert_eq!((next.covered.start(), next.covered.end()), (d(3, 1), d(4, 1)));
    /// ```
    pub fn periods_from(&self, from: NaiveDate) -> impl Iterator<Item = BillingPeriod> + '_ {
        self.periods_from_until(from, NaiveDate::MAX)
    }

    /// [`Schedule::periods_from`], up to the last period that starts on or before `until`:
    /// the period after it is not computed (a billing run walks one or two periods a
    /// subscription, and computing a boundary is its walk's cost).
    pub(crate) fn periods_from_until(
        &self,
        from: NaiveDate,
        until: NaiveDate,
    ) -> impl Iterator<Item = BillingPeriod> + '_ {
        let before_end = self.end.is_none_or(|e| from < e);
        let bounds = self.boundaries().filter(|_| before_end);
        // The first period, found with both its boundaries; then the index and lower
        // boundary of the next one, whose upper boundary is computed only when it starts on
        // or before `until`.
        let mut first = bounds.as_ref().and_then(|b| b.locate(from.max(self.start)));
        let mut next: Option<(i64, NaiveDate)> = None;
        std::iter::from_fn(move || {
            let (k, low, high) = match first.take() {
                Some(found) => found,
                None => {
                    let (k, low) = next.take()?;
                    if low.max(self.start) > until {
                        return None;
                    }
                    (k, low, bounds.as_ref()?.at(k.checked_add(1)?)?)
                }
            };
            let period = self.period_between(low, high)?;
            if period.covered.start > until {
                return None;
            }
            next = k.checked_add(1).map(|k| (k, high));
            Some(period)
        })
    }
}

/// A schedule's full-period boundaries: `b_k` is the origin moved by `k` intervals.
struct Boundaries {
    origin: NaiveDate,
    months: i64,
}

impl Boundaries {
    fn at(&self, k: i64) -> Option<NaiveDate> {
        add_months_clamped(self.origin, k.checked_mul(self.months)?)
    }

    /// The index k of the full period `[b_k, b_k+1)` containing `date`, with its two
    /// boundaries: a walk over the periods then computes one boundary a period, not four.
    fn locate(&self, date: NaiveDate) -> Option<(i64, NaiveDate, NaiveDate)> {
        let mut k = month_index(date)
            .checked_sub(month_index(self.origin))?
            .div_euclid(self.months);
        // The month estimate is off by at most one period either way (day of month).
        let mut low = self.at(k)?;
        let mut high = None;
        while low > date {
            k = k.checked_sub(1)?;
            high = Some(low);
            low = self.at(k)?;
        }
        let mut high = match high {
            Some(high) => high,
            None => self.at(k.checked_add(1)?)?,
        };
        while high <= date {
            k = k.checked_add(1)?;
            low = high;
            high = self.at(k.checked_add(1)?)?;
        }
        Some((k, low, high))
    }
}

/// `date` as `date.to_string()` writes it (`YYYY-MM-DD` for the years 0 to 9999), without
/// chrono's formatting machinery for those years: stores spell two dates of every billed
/// usage row and watermark a run records.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::period::date_text;
///
/// let day = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
/// assert_eq!(date_text(day), "2025-04-01");
/// assert_eq!(date_text(NaiveDate::MAX), NaiveDate::MAX.to_string());
/// ```
pub fn date_text(date: NaiveDate) -> String {
    text::string(date)
}

mod text;

#[cfg(test)]
mod tests;
