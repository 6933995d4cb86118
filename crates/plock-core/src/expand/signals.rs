//! Usage signals (docs/domain.md, section 11, the Expand module): churn risk, upsell
//! opportunity, spike and drop, computed per account and product from its own daily usage.
//!
//! Days with no record count as quantity 0. Every signal names its evidence.
//!
//! - **Trend** (churn risk, upsell opportunity): the window is the 14 days before the evaluation
//!   date, `[date - 14, date)`, with x = 0..=13 and y the day's quantity. The least-squares slope
//!   is `sum((x - xbar)(y - ybar)) / sum((x - xbar)^2)`. Churn risk when the slope is below
//!   `-0.05 x mean`, upsell opportunity when above `+0.05 x mean`, and in both cases only with at
//!   least 10 days of usage above zero in the window. The comparison is done on exact integer
//!   multiples of the sums (no division), so a slope exactly at the threshold never flips on a
//!   rounded last digit; the slope and mean in the evidence are rounded to 28 significant digits.
//! - **Outlier** (spike, drop): the day is the last day before the evaluation date, `date - 1`;
//!   the baseline is the 28 days before it, `[date - 29, date - 1)`. Spike when the day's quantity
//!   exceeds the baseline's median by more than 3 median absolute deviations (MAD), drop when it
//!   is below by more than 3 MAD. The median of the even-sized baseline is the mean of its two
//!   middle values.
//!
//! **Decision (MAD = 0):** no spike or drop is raised when the baseline's MAD is zero. A MAD of
//! zero means more than half the baseline days have the same quantity, which for most accounts
//! is "no usage at all". Treating any deviation from it as far outside would flag every
//! occasional user's first use as a spike: noise. A truly constant account that stops still
//! shows up as churn risk once its 14-day trend falls.

use chrono::{Days, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::expand::daily_usage::{DailyUsage, UsageWindow};
use crate::expand::error::ExpandError;
use crate::id::{AccountId, ProductId};

/// The days the trend signals fit their slope over.
pub const TREND_WINDOW_DAYS: u8 = 14;

/// The fewest days with usage in the trend window for a churn risk or upsell opportunity.
pub const TREND_MIN_ACTIVE_DAYS: u8 = 10;

/// The days before the last day that form the baseline of spike and drop.
pub const OUTLIER_BASELINE_DAYS: u8 = 28;

/// How many median absolute deviations from the median make a day a spike or a drop.
pub const OUTLIER_MAD_MULTIPLE: u8 = 3;

/// What a signal says about an account's use of a product.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SignalKind {
    /// Usage falling steadily over the last 14 days.
    ChurnRisk,
    /// Usage rising steadily over the last 14 days.
    UpsellOpportunity,
    /// Yesterday's usage far above the account's normal range.
    Spike,
    /// Yesterday's usage far below the account's normal range.
    Drop,
}

/// Why a signal was raised: the numbers behind it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum Evidence {
    /// The least-squares trend of the daily quantity over a window.
    Trend {
        /// The days the slope was fitted over.
        window: UsageWindow,
        /// Change of daily quantity per day.
        slope: Decimal,
        /// Mean daily quantity in the window.
        mean: Decimal,
        /// Days with usage above zero in the window.
        active_days: u8,
    },
    /// One day far from the median of the days before it.
    Outlier {
        /// The day judged.
        day: NaiveDate,
        /// Its quantity.
        value: Decimal,
        /// The days the median and MAD come from.
        baseline: UsageWindow,
        /// Median daily quantity of the baseline.
        median: Decimal,
        /// Median absolute deviation of the baseline from its median.
        mad: Decimal,
    },
}

/// One usage signal for one account and product.
///
/// Churn risk and upsell opportunity carry [`Evidence::Trend`], spike and drop
/// [`Evidence::Outlier`]; deserializing checks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SignalFields")]
pub struct Signal {
    account: AccountId,
    product: ProductId,
    kind: SignalKind,
    evidence: Evidence,
}

impl Signal {
    /// The account the signal is about.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The product the signal is about.
    pub fn product(&self) -> &ProductId {
        &self.product
    }

    /// What the signal says.
    pub const fn kind(&self) -> SignalKind {
        self.kind
    }

    /// The numbers behind it.
    pub fn evidence(&self) -> &Evidence {
        &self.evidence
    }
}

/// The fields of a [`Signal`] as read, before they are checked.
#[derive(Deserialize)]
struct SignalFields {
    account: AccountId,
    product: ProductId,
    kind: SignalKind,
    evidence: Evidence,
}

/// A read signal whose evidence is of the wrong sort for its kind.
#[derive(Debug, thiserror::Error)]
#[error(
    "invalid usage signal of account {account}, product {product}: {kind:?} needs {needs} evidence"
)]
struct InvalidSignal {
    account: AccountId,
    product: ProductId,
    kind: SignalKind,
    needs: &'static str,
}

impl TryFrom<SignalFields> for Signal {
    type Error = InvalidSignal;

    fn try_from(f: SignalFields) -> Result<Self, InvalidSignal> {
        let needs = match f.kind {
            SignalKind::ChurnRisk | SignalKind::UpsellOpportunity => "trend",
            SignalKind::Spike | SignalKind::Drop => "outlier",
        };
        let has = match f.evidence {
            Evidence::Trend { .. } => "trend",
            Evidence::Outlier { .. } => "outlier",
        };
        if needs != has {
            return Err(InvalidSignal {
                account: f.account,
                product: f.product,
                kind: f.kind,
                needs,
            });
        }
        Ok(Signal {
            account: f.account,
            product: f.product,
            kind: f.kind,
            evidence: f.evidence,
        })
    }
}

/// The signals `usage` raises for `account` and `product` on `evaluation_date`, ordered by kind:
/// at most one of churn risk and upsell opportunity, at most one of spike and drop.
///
/// # Errors
/// [`ExpandError::SignalDateOutOfRange`] when the windows start before the first representable date,
/// [`ExpandError::SignalOverflow`] when quantities are too large for the sums (near `Decimal::MAX`).
///
/// # Examples
///
/// ```
/// use chrono::{Days, NaiveDate};
/// use plock_core::expand::{DailyUsage, Evidence, SignalKind, usage_signals};
/// use plock_core::id::{AccountId, ProductId};
/// use rust_decimal::dec;
///
/// let date = NaiveDate::from_ymd_opt(2025, 4, 1).ok_or("no such date")?;
/// // 28 quiet days of 100 or 104, then a day of 400.
/// let baseline = (2..=29u64).map(|n| (date - Days::new(n), if n % 2 == 0 { dec!(100) } else { dec!(104) }));
/// let usage = DailyUsage::from_pairs(baseline.chain([(date - Days::new(1), dec!(400))]))?;
/// let signals = usage_signals(&AccountId::new("globex")?, &ProductId::new("api")?, date, &usage)?;
/// let spike = signals.iter().find(|s| s.kind() == SignalKind::Spike).ok_or("no spike")?;
/// let Evidence::Outlier { value, median, mad, .. } = spike.evidence() else { return Err("no outlier".into()) };
/// assert_eq!((*value, *median, *mad), (dec!(400), dec!(102), dec!(2)));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn usage_signals(
    account: &AccountId,
    product: &ProductId,
    evaluation_date: NaiveDate,
    usage: &DailyUsage,
) -> Result<Vec<Signal>, ExpandError> {
    let out_of_range = || ExpandError::SignalDateOutOfRange {
        account: account.clone(),
        product: product.clone(),
        evaluation_date,
    };
    let overflow = |window: UsageWindow, signal| ExpandError::SignalOverflow {
        account: account.clone(),
        product: product.clone(),
        window_start: window.start(),
        signal,
    };
    let trend_window = UsageWindow::days_before(evaluation_date, u64::from(TREND_WINDOW_DAYS))
        .ok_or_else(out_of_range)?;
    let day = evaluation_date
        .checked_sub_days(Days::new(1))
        .ok_or_else(out_of_range)?;
    let baseline =
        UsageWindow::days_before(day, u64::from(OUTLIER_BASELINE_DAYS)).ok_or_else(out_of_range)?;

    let signal = |(kind, evidence)| Signal {
        account: account.clone(),
        product: product.clone(),
        kind,
        evidence,
    };
    let mut signals = Vec::new();
    let trend = trend_signal(usage, trend_window).ok_or_else(|| overflow(trend_window, "trend"))?;
    signals.extend(trend.map(signal));
    let outlier =
        outlier_signal(usage, day, baseline).ok_or_else(|| overflow(baseline, "outlier"))?;
    signals.extend(outlier.map(signal));
    Ok(signals)
}

/// `Some(None)`: computed, no signal; `None`: overflow.
fn trend_signal(usage: &DailyUsage, window: UsageWindow) -> Option<Option<(SignalKind, Evidence)>> {
    let active_days = u8::try_from(usage.active_days_in(window).count()).ok()?;
    if active_days < TREND_MIN_ACTIVE_DAYS {
        return Some(None);
    }
    // With x = 0..=13, xbar = 6.5 and sum(x - xbar) = 0, so
    // sum((x - xbar)(y - ybar)) = sum((x - 6.5) y) = weighted / 2 with weighted = sum((2x - 13) y),
    // and sum((x - xbar)^2) = 227.5. Slope = weighted / 455, mean = total / 14.
    let mut weighted = Decimal::ZERO;
    let mut total = Decimal::ZERO;
    let mut weight = Decimal::from(-13);
    for day in window.days() {
        let quantity = usage.quantity_on(day);
        weighted = weighted.checked_add(weight.checked_mul(quantity)?)?;
        total = total.checked_add(quantity)?;
        weight = weight.checked_add(Decimal::TWO)?;
    }
    // slope < -0.05 mean  <=>  weighted / 455 < -total / 280  <=>  8 weighted < -13 total
    // (multiply both sides by 455 x 280 / 35 = 3640 > 0), so compare exact multiples.
    let left = weighted.checked_mul(Decimal::from(8))?;
    let right = total.checked_mul(Decimal::from(13))?;
    let kind = if left.checked_add(right)? < Decimal::ZERO {
        SignalKind::ChurnRisk
    } else if left.checked_sub(right)? > Decimal::ZERO {
        SignalKind::UpsellOpportunity
    } else {
        return Some(None);
    };
    let evidence = Evidence::Trend {
        window,
        slope: weighted.checked_div(Decimal::from(455))?.normalize(),
        mean: total
            .checked_div(Decimal::from(TREND_WINDOW_DAYS))?
            .normalize(),
        active_days,
    };
    Some(Some((kind, evidence)))
}

/// `Some(None)`: computed, no signal; `None`: overflow.
fn outlier_signal(
    usage: &DailyUsage,
    day: NaiveDate,
    baseline: UsageWindow,
) -> Option<Option<(SignalKind, Evidence)>> {
    let values: Vec<Decimal> = baseline.days().map(|d| usage.quantity_on(d)).collect();
    let median = median_of(values.clone())?;
    let deviations = values
        .into_iter()
        .map(|v| v.checked_sub(median).map(|d| d.abs()))
        .collect::<Option<Vec<_>>>()?;
    let mad = median_of(deviations)?;
    if mad.is_zero() {
        return Some(None);
    }
    let value = usage.quantity_on(day);
    let limit = mad.checked_mul(Decimal::from(OUTLIER_MAD_MULTIPLE))?;
    let kind = if value.checked_sub(median)? > limit {
        SignalKind::Spike
    } else if median.checked_sub(value)? > limit {
        SignalKind::Drop
    } else {
        return Some(None);
    };
    let evidence = Evidence::Outlier {
        day,
        value,
        baseline,
        median: median.normalize(),
        mad: mad.normalize(),
    };
    Some(Some((kind, evidence)))
}

/// The median; for an even count the mean of the two middle values. `None` for no values or an
/// overflow.
fn median_of(mut values: Vec<Decimal>) -> Option<Decimal> {
    values.sort_unstable();
    let middle = values.len().checked_div(2)?;
    let upper = *values.get(middle)?;
    if values.len() % 2 == 1 {
        return Some(upper);
    }
    let lower = *values.get(middle.checked_sub(1)?)?;
    // lower + (upper - lower) / 2 stays between the two middle values, so it cannot overflow
    // for the non-negative quantities and deviations it is given, unlike (lower + upper) / 2.
    lower.checked_add(upper.checked_sub(lower)?.checked_div(Decimal::TWO)?)
}

#[cfg(test)]
mod tests;
