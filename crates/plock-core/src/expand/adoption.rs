//! Product adoption scores (docs/domain.md, section 11, the Expand module).
//!
//! A score 0..=100 per account and product from the usage of the 30 days before the scoring date
//! and the 30 before those:
//!
//! - activity `a` = days with usage above zero in the last 30 / 30;
//! - utilisation `u` = min(1, last-30-day quantity / committed quantity) with a commitment,
//!   else `u = a`;
//! - trend `t` = 0.5 when both windows are zero, else
//!   clamp(0.5 + (cur - prev) / (2 x max(cur, prev)), 0, 1);
//! - score = round(100 x (0.5a + 0.3u + 0.2t)), midpoint away from zero.
//!
//! **Decision (windows):** "the 30 days before the scoring date" is `[date - 30, date)`: the
//! scoring date itself is not counted, its usage may still be arriving. The 30 before those are
//! `[date - 60, date - 30)`.
//!
//! **Decision (zero commitment):** a committed quantity of zero commits to nothing, so it is
//! treated as no commitment (`u = a`). Otherwise an idle account with a zero commitment would get
//! full utilisation and look upsell-ready.
//!
//! **Decision (exactness):** `a`, `u` and `t` are exact to 28 significant digits (`1/30` cannot be
//! written exactly in decimal). The raw score is first rounded to 20 decimal places so that a
//! value that is exactly half in exact arithmetic (say 39.5) is not turned into 39.4999... by
//! those last digits, then rounded to a whole number, midpoint away from zero.

use std::cmp::Ordering;

use chrono::NaiveDate;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::expand::daily_usage::{DailyUsage, UsageWindow};
use crate::expand::error::ExpandError;
use crate::id::{AccountId, ProductId};

/// The days in each of the two windows a score looks at.
pub const ADOPTION_WINDOW_DAYS: u8 = 30;

/// Scores below this are [`AdoptionBand::Low`].
pub const MEDIUM_BAND_FROM: u8 = 40;

/// Scores from this on are [`AdoptionBand::High`].
pub const HIGH_BAND_FROM: u8 = 70;

/// Decimal places the raw score is rounded to before it is rounded to a whole number; see the
/// module documentation.
const RAW_SCORE_GUARD_DP: u32 = 20;

/// How well an account has adopted a product: low < 40 <= medium < 70 <= high.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdoptionBand {
    /// Score below 40.
    Low,
    /// Score 40 to 69.
    Medium,
    /// Score 70 or more.
    High,
}

impl AdoptionBand {
    /// The band a score falls in.
    pub const fn of(score: u8) -> AdoptionBand {
        if score < MEDIUM_BAND_FROM {
            AdoptionBand::Low
        } else if score < HIGH_BAND_FROM {
            AdoptionBand::Medium
        } else {
            AdoptionBand::High
        }
    }
}

/// The adoption score of one account for one product on one scoring date.
///
/// Deserializing checks what [`adoption_score`] guarantees: score at most 100, the band of the
/// score, components within 0..=1 and `upsell_ready` agreeing with them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "AdoptionScoreFields")]
pub struct AdoptionScore {
    account: AccountId,
    product: ProductId,
    score: u8,
    band: AdoptionBand,
    activity: Decimal,
    utilisation: Decimal,
    trend: Decimal,
    upsell_ready: bool,
}

impl AdoptionScore {
    /// The account scored.
    pub fn account(&self) -> &AccountId {
        &self.account
    }

    /// The product scored.
    pub fn product(&self) -> &ProductId {
        &self.product
    }

    /// The score, 0..=100.
    pub const fn score(&self) -> u8 {
        self.score
    }

    /// The band of the score.
    pub const fn band(&self) -> AdoptionBand {
        self.band
    }

    /// Activity `a`: share of the last 30 days with usage, 0..=1.
    pub const fn activity(&self) -> Decimal {
        self.activity
    }

    /// Utilisation `u`: share of the commitment used in the last 30 days, capped at 1; equal to
    /// activity without a commitment.
    pub const fn utilisation(&self) -> Decimal {
        self.utilisation
    }

    /// Trend `t`, 0..=1: 0.5 is flat, above is growing, below is shrinking.
    pub const fn trend(&self) -> Decimal {
        self.trend
    }

    /// Whether the account is upsell-ready for the product: `u >= 0.9` and `t > 0.5`.
    pub const fn upsell_ready(&self) -> bool {
        self.upsell_ready
    }

    /// Orders by score, then account, then product, then the components, so that sorting is
    /// total and does not depend on input order.
    fn rank_cmp(&self, other: &AdoptionScore) -> Ordering {
        (self.score, &self.account, &self.product)
            .cmp(&(other.score, &other.account, &other.product))
            .then_with(|| {
                (self.activity, self.utilisation, self.trend).cmp(&(
                    other.activity,
                    other.utilisation,
                    other.trend,
                ))
            })
    }
}

/// The fields of an [`AdoptionScore`] as read, before they are checked.
#[derive(Deserialize)]
struct AdoptionScoreFields {
    account: AccountId,
    product: ProductId,
    score: u8,
    band: AdoptionBand,
    activity: Decimal,
    utilisation: Decimal,
    trend: Decimal,
    upsell_ready: bool,
}

/// Why a read adoption score is inconsistent.
#[derive(Debug, thiserror::Error)]
#[error("invalid adoption score of account {account}, product {product}: {reason}")]
struct InvalidAdoptionScore {
    account: AccountId,
    product: ProductId,
    reason: &'static str,
}

impl TryFrom<AdoptionScoreFields> for AdoptionScore {
    type Error = InvalidAdoptionScore;

    fn try_from(f: AdoptionScoreFields) -> Result<Self, InvalidAdoptionScore> {
        let unit = Decimal::ZERO..=Decimal::ONE;
        let reason = if f.score > 100 {
            Some("score must be at most 100")
        } else if f.band != AdoptionBand::of(f.score) {
            Some("band does not match the score")
        } else if ![f.activity, f.utilisation, f.trend]
            .iter()
            .all(|c| unit.contains(c))
        {
            Some("activity, utilisation and trend must be between 0 and 1")
        } else if f.upsell_ready
            != (f.utilisation >= Decimal::new(9, 1) && f.trend > Decimal::new(5, 1))
        {
            Some("upsell_ready does not match utilisation and trend")
        } else {
            None
        };
        match reason {
            Some(reason) => Err(InvalidAdoptionScore {
                account: f.account,
                product: f.product,
                reason,
            }),
            None => Ok(AdoptionScore {
                account: f.account,
                product: f.product,
                score: f.score,
                band: f.band,
                activity: f.activity,
                utilisation: f.utilisation,
                trend: f.trend,
                upsell_ready: f.upsell_ready,
            }),
        }
    }
}

/// Scores how well `account` has adopted `product` on `scoring_date`, from its daily `usage` of
/// the product and the `committed` quantity of its subscription item, if any. See the module
/// documentation for the formula and the decisions behind it.
///
/// # Errors
/// [`ExpandError::NegativeCommitment`] when `committed` is below zero,
/// [`ExpandError::ScoringDateOutOfRange`] when the windows start before the first representable date,
/// [`ExpandError::ScoreOverflow`] when a window's total quantity does not fit in a `Decimal`.
///
/// # Examples
///
/// ```
/// use chrono::{Days, NaiveDate};
/// use plock_core::expand::{AdoptionBand, DailyUsage, adoption_score};
/// use plock_core::id::{AccountId, ProductId};
/// use rust_decimal::dec;
///
/// let scoring_date = NaiveDate::from_ymd_opt(2025, 4, 1).ok_or("no such date")?;
/// // 100 messages every day for the last 60 days, against 3,000 committed.
/// let days = (1..=60).map(|n| (scoring_date - Days::new(n), dec!(100)));
/// let usage = DailyUsage::from_pairs(days)?;
/// let (account, product) = (AccountId::new("north-clinic")?, ProductId::new("messages")?);
/// let score = adoption_score(&account, &product, scoring_date, &usage, Some(dec!(3000)))?;
/// // Every day used, the commitment used in full, flat: 100 x (0.5 + 0.3 + 0.2 x 0.5) = 90.
/// assert_eq!((score.score(), score.band()), (90, AdoptionBand::High));
/// // Flat usage is not growth: not upsell-ready.
/// assert!(!score.upsell_ready());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn adoption_score(
    account: &AccountId,
    product: &ProductId,
    scoring_date: NaiveDate,
    usage: &DailyUsage,
    committed: Option<Decimal>,
) -> Result<AdoptionScore, ExpandError> {
    let out_of_range = || ExpandError::ScoringDateOutOfRange {
        account: account.clone(),
        product: product.clone(),
        scoring_date,
    };
    let overflow = |window: UsageWindow| ExpandError::ScoreOverflow {
        account: account.clone(),
        product: product.clone(),
        window_start: window.start(),
    };
    let commitment = match committed {
        Some(c) if c.is_sign_negative() && !c.is_zero() => {
            return Err(ExpandError::NegativeCommitment {
                account: account.clone(),
                product: product.clone(),
                committed: c,
            });
        }
        Some(c) if !c.is_zero() => Some(c),
        _ => None,
    };

    let days = u64::from(ADOPTION_WINDOW_DAYS);
    let current = UsageWindow::days_before(scoring_date, days).ok_or_else(out_of_range)?;
    let previous = UsageWindow::days_before(current.start(), days).ok_or_else(out_of_range)?;
    let current_total = window_total(usage, current).ok_or_else(|| overflow(current))?;
    let previous_total = window_total(usage, previous).ok_or_else(|| overflow(previous))?;
    let active_days = usage.active_days_in(current).count();

    // The components below are each within 0..=1 and built from quantities already summed
    // without overflow, so their arithmetic cannot fail; `None` is still turned into an error
    // rather than trusted away.
    let components = components(active_days, current_total, previous_total, commitment)
        .ok_or_else(|| overflow(current))?;
    let score = whole_score(&components).ok_or_else(|| overflow(current))?;
    let Components {
        activity,
        utilisation,
        trend,
    } = components;
    let half = Decimal::new(5, 1);
    let upsell_threshold = Decimal::new(9, 1);
    Ok(AdoptionScore {
        account: account.clone(),
        product: product.clone(),
        score,
        band: AdoptionBand::of(score),
        activity: activity.normalize(),
        utilisation: utilisation.normalize(),
        trend: trend.normalize(),
        upsell_ready: utilisation >= upsell_threshold && trend > half,
    })
}

struct Components {
    activity: Decimal,
    utilisation: Decimal,
    trend: Decimal,
}

fn window_total(usage: &DailyUsage, window: UsageWindow) -> Option<Decimal> {
    usage
        .active_days_in(window)
        .try_fold(Decimal::ZERO, |total, (_, quantity)| {
            total.checked_add(quantity)
        })
}

fn components(
    active_days: usize,
    current: Decimal,
    previous: Decimal,
    commitment: Option<Decimal>,
) -> Option<Components> {
    let activity = Decimal::from(active_days).checked_div(Decimal::from(ADOPTION_WINDOW_DAYS))?;
    let utilisation = match commitment {
        // Comparing first keeps the division below 1, so a tiny commitment cannot overflow it.
        Some(committed) if current >= committed => Decimal::ONE,
        Some(committed) => current.checked_div(committed)?,
        None => activity,
    };
    let half = Decimal::new(5, 1);
    let trend = if current.is_zero() && previous.is_zero() {
        half
    } else {
        // (cur - prev) / (2 max) written as ((cur - prev) / max) / 2 so that doubling a huge
        // maximum cannot overflow.
        let largest = current.max(previous);
        let change = current.checked_sub(previous)?.checked_div(largest)?;
        half.checked_add(change.checked_div(Decimal::TWO)?)?
            .clamp(Decimal::ZERO, Decimal::ONE)
    };
    Some(Components {
        activity,
        utilisation,
        trend,
    })
}

fn whole_score(c: &Components) -> Option<u8> {
    let raw = Decimal::from(50)
        .checked_mul(c.activity)?
        .checked_add(Decimal::from(30).checked_mul(c.utilisation)?)?
        .checked_add(Decimal::from(20).checked_mul(c.trend)?)?;
    let score = raw
        .round_dp_with_strategy(RAW_SCORE_GUARD_DP, RoundingStrategy::MidpointAwayFromZero)
        .round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero)
        .to_u8()?;
    (score <= 100).then_some(score)
}

/// The scores a customer success team works through: whom to call first, whom to offer more.
///
/// Deserializing ranks the `call_first` list again, so a read ranking is always in order.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "RankingFields")]
pub struct AdoptionRanking {
    call_first: Vec<AdoptionScore>,
    upsell_ready: Vec<AdoptionScore>,
}

impl AdoptionRanking {
    /// Ranks `scores`: every score, lowest first, in `call_first`; the upsell-ready ones, highest
    /// first, in `upsell_ready`. Ties are broken by account, then product, so the ranking does not
    /// depend on the order the scores come in.
    ///
    /// ```
    /// use chrono::{Days, NaiveDate};
    /// use plock_core::expand::{AdoptionRanking, DailyUsage, adoption_score};
    /// use plock_core::id::{AccountId, ProductId};
    /// use rust_decimal::dec;
    ///
    /// let date = NaiveDate::from_ymd_opt(2025, 4, 1).ok_or("no such date")?;
    /// let product = ProductId::new("api")?;
    /// // Busy every day of the last 30, or on 3 of them.
    /// let busy = DailyUsage::from_pairs((1..=30).map(|n| (date - Days::new(n), dec!(10))))?;
    /// let quiet = DailyUsage::from_pairs((1..=3).map(|n| (date - Days::new(n), dec!(10))))?;
    /// let scores = [
    ///     adoption_score(&AccountId::new("busy")?, &product, date, &busy, None)?,
    ///     adoption_score(&AccountId::new("quiet")?, &product, date, &quiet, None)?,
    /// ];
    /// let ranking = AdoptionRanking::rank(scores);
    /// let call_first: Vec<&str> = ranking.call_first().iter().map(|s| s.account().as_str()).collect();
    /// assert_eq!(call_first, ["quiet", "busy"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rank(scores: impl IntoIterator<Item = AdoptionScore>) -> AdoptionRanking {
        let mut call_first: Vec<AdoptionScore> = scores.into_iter().collect();
        call_first.sort_by(AdoptionScore::rank_cmp);
        let mut upsell_ready: Vec<AdoptionScore> = call_first
            .iter()
            .filter(|s| s.upsell_ready)
            .cloned()
            .collect();
        upsell_ready.sort_by(|a, b| b.score.cmp(&a.score).then_with(|| a.rank_cmp(b)));
        AdoptionRanking {
            call_first,
            upsell_ready,
        }
    }

    /// Every score, lowest first; ties by account, then product.
    pub fn call_first(&self) -> &[AdoptionScore] {
        &self.call_first
    }

    /// The upsell-ready scores, highest first; ties by account, then product.
    pub fn upsell_ready(&self) -> &[AdoptionScore] {
        &self.upsell_ready
    }
}

/// The scores of a ranking as read; `upsell_ready` is derived from them.
#[derive(Deserialize)]
struct RankingFields {
    call_first: Vec<AdoptionScore>,
}

impl From<RankingFields> for AdoptionRanking {
    fn from(fields: RankingFields) -> Self {
        AdoptionRanking::rank(fields.call_first)
    }
}

#[cfg(test)]
mod tests;
