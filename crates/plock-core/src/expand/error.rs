//! Why an Expand computation was refused: one error for daily usage, adoption scores and usage
//! signals, since a caller handles them alike (a report that cannot be made for one series).

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::id::{AccountId, AccountKey, MetricId, ProductId};

/// Why daily usage, an adoption score or usage signals could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A quantity was below zero; corrections are credits, never negative usage.
    #[error("daily usage on {date}: quantity {quantity} is negative; quantities must be 0 or more")]
    NegativeQuantity {
        /// The day the quantity was given for.
        date: NaiveDate,
        /// The quantity as given.
        quantity: Decimal,
    },
    /// The quantities of one day add up to more than a `Decimal` holds.
    #[error("daily usage on {date}: the sum of the day's quantities overflows")]
    DayOverflow {
        /// The day whose sum overflowed.
        date: NaiveDate,
    },
    /// More distinct days than [`MAX_DAILY_USAGE_DAYS`](crate::expand::MAX_DAILY_USAGE_DAYS).
    #[error("daily usage covers more than {max} distinct days; pass at most {max}")]
    TooManyDays {
        /// The limit, [`MAX_DAILY_USAGE_DAYS`](crate::expand::MAX_DAILY_USAGE_DAYS).
        max: usize,
    },
    /// The committed quantity given was below zero.
    #[error(
        "adoption score of account {account}, product {product}: committed quantity {committed} is negative"
    )]
    NegativeCommitment {
        /// The account scored.
        account: AccountId,
        /// The product scored.
        product: ProductId,
        /// The committed quantity as given.
        committed: Decimal,
    },
    /// The scoring date is so early that its windows start before the first representable date.
    #[error(
        "adoption score of account {account}, product {product}: scoring date {scoring_date} is too early to look 60 days back"
    )]
    ScoringDateOutOfRange {
        /// The account scored.
        account: AccountId,
        /// The product scored.
        product: ProductId,
        /// The scoring date as given.
        scoring_date: NaiveDate,
    },
    /// A window's total quantity does not fit in a `Decimal`.
    #[error(
        "adoption score of account {account}, product {product}: total quantity from {window_start} overflows"
    )]
    ScoreOverflow {
        /// The account scored.
        account: AccountId,
        /// The product scored.
        product: ProductId,
        /// The first day of the window whose total overflowed.
        window_start: NaiveDate,
    },
    /// The evaluation date is so early that its windows start before the first representable date.
    #[error(
        "usage signals of account {account}, product {product}: evaluation date {evaluation_date} is too early to look 29 days back"
    )]
    SignalDateOutOfRange {
        /// The account evaluated.
        account: AccountId,
        /// The product evaluated.
        product: ProductId,
        /// The evaluation date as given.
        evaluation_date: NaiveDate,
    },
    /// The quantities are too large for the sums a signal needs.
    #[error(
        "usage signals of account {account}, product {product}: quantities from {window_start} are too large to compute the {signal} signal"
    )]
    SignalOverflow {
        /// The account evaluated.
        account: AccountId,
        /// The product evaluated.
        product: ProductId,
        /// The first day of the window whose sums overflowed.
        window_start: NaiveDate,
        /// `"trend"` or `"outlier"`.
        signal: &'static str,
    },
    /// A usage series was refused.
    #[error("usage of account {account}, metric {metric}: {source}")]
    Usage {
        /// The account's key.
        account: AccountKey,
        /// The metric.
        metric: MetricId,
        /// Why.
        source: Box<ExpandError>,
    },
}
