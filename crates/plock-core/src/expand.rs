//! The Expand module over a company (domain reference, section 11): adoption scores and usage
//! signals for every Active account and every product it is billed usage for. The per-series
//! math lives in `adoption` and `signals`; this module only gathers the series.

pub(crate) mod adoption;
pub(crate) mod daily_usage;
pub(crate) mod signals;

pub use adoption::{
    ADOPTION_WINDOW_DAYS, AdoptionBand, AdoptionError, AdoptionRanking, AdoptionScore,
    HIGH_BAND_FROM, MEDIUM_BAND_FROM, adoption_score,
};
pub use daily_usage::{DailyUsage, DailyUsageError, MAX_DAILY_USAGE_DAYS, UsageWindow};
pub use signals::{
    Evidence, OUTLIER_BASELINE_DAYS, OUTLIER_MAD_MULTIPLE, Signal, SignalError, SignalKind,
    TREND_MIN_ACTIVE_DAYS, TREND_WINDOW_DAYS, usage_signals,
};

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::pricing::PriceModel;
use crate::store::CompanySnapshot;
use crate::subscription::SubscriptionState;
use crate::usage::{UsageRecord, deduplicate};
use crate::{account::AccountState, id::AccountId, id::AccountKey, id::MetricId, id::ProductId};

/// Why Expand could not score a company.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExpandError {
    /// A usage series was refused.
    #[error("usage of account {account}, metric {metric}: {source}")]
    Usage {
        /// The account's key.
        account: AccountKey,
        /// The metric.
        metric: MetricId,
        /// Why.
        source: DailyUsageError,
    },
    /// A score could not be computed.
    #[error(transparent)]
    Adoption(#[from] AdoptionError),
    /// A signal could not be computed.
    #[error(transparent)]
    Signal(#[from] SignalError),
}

/// One series to score: account, product, its daily usage and its commitment.
struct Series {
    account: AccountId,
    product: ProductId,
    daily: DailyUsage,
    committed: Option<Decimal>,
}

fn series(data: &CompanySnapshot) -> Result<Vec<Series>, ExpandError> {
    let mut usage: BTreeMap<(&AccountKey, &MetricId), Vec<&UsageRecord>> = BTreeMap::new();
    for r in &data.usage {
        usage.entry((r.account(), r.metric())).or_default().push(r);
    }
    let mut out: BTreeMap<(AccountId, ProductId), Series> = BTreeMap::new();
    for sub in &data.subscriptions {
        if matches!(sub.state(), SubscriptionState::Draft) {
            continue;
        }
        let Some(account) = data
            .accounts
            .get(sub.account())
            .filter(|a| a.state() == AccountState::Active)
        else {
            continue;
        };
        for item in sub.items() {
            let Some(metric) = &item.metric else { continue };
            let records = usage
                .get(&(account.key(), metric))
                .map(Vec::as_slice)
                .unwrap_or_default();
            let pairs = deduplicate(records.iter().copied())
                .into_iter()
                .map(|r| (r.timestamp().date_naive(), r.quantity()));
            let daily = DailyUsage::from_pairs(pairs).map_err(|source| ExpandError::Usage {
                account: account.key().clone(),
                metric: metric.clone(),
                source,
            })?;
            let committed = match item.price {
                PriceModel::Commitment { committed, .. } => Some(committed),
                _ => None,
            };
            out.insert(
                (account.id().clone(), item.product.clone()),
                Series {
                    account: account.id().clone(),
                    product: item.product.clone(),
                    daily,
                    committed,
                },
            );
        }
    }
    Ok(out.into_values().collect())
}

/// The adoption score of every Active account for every product it uses, by account then product.
///
/// # Errors
/// [`ExpandError`] for a series the math refuses.
pub fn company_adoption(
    data: &CompanySnapshot,
    scoring_date: NaiveDate,
) -> Result<Vec<AdoptionScore>, ExpandError> {
    series(data)?
        .iter()
        .map(|s| {
            adoption_score(&s.account, &s.product, scoring_date, &s.daily, s.committed)
                .map_err(ExpandError::from)
        })
        .collect()
}

/// The usage signals of every Active account and product on `date`.
///
/// # Errors
/// [`ExpandError`] for a series the math refuses.
pub fn company_signals(
    data: &CompanySnapshot,
    date: NaiveDate,
) -> Result<Vec<Signal>, ExpandError> {
    let mut all = Vec::new();
    for s in series(data)? {
        all.extend(usage_signals(&s.account, &s.product, date, &s.daily)?);
    }
    Ok(all)
}
