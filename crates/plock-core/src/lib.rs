//! plock-core: the pure customer and billing domain of plock.
//!
//! No I/O, no clock, no randomness, no global state: every function takes what it needs,
//! "today" included, and returns values or typed errors. The rules come from the domain
//! reference; each module holds one concept of it.
#![deny(missing_docs)]
#![cfg_attr(not(test), deny(clippy::arithmetic_side_effects))]

mod adoption;
mod daily_usage;
mod id;
mod money;
mod signals;

pub use adoption::{
    ADOPTION_WINDOW_DAYS, AdoptionBand, AdoptionError, AdoptionRanking, AdoptionScore,
    HIGH_BAND_FROM, MEDIUM_BAND_FROM, adoption_score,
};
pub use daily_usage::{DailyUsage, DailyUsageError, MAX_DAILY_USAGE_DAYS, UsageWindow};
pub use id::{
    AccountId, AccountKey, IdError, InvoiceId, MAX_ID_CHARS, MetricId, ProductId, RecordId,
    SubscriptionId,
};
pub use money::{Currency, Money, MoneyError, UnknownCurrency};
pub use signals::{
    Evidence, OUTLIER_BASELINE_DAYS, OUTLIER_MAD_MULTIPLE, Signal, SignalError, SignalKind,
    TREND_MIN_ACTIVE_DAYS, TREND_WINDOW_DAYS, usage_signals,
};
