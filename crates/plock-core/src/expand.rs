//! The Expand module over a company (domain reference, section 11): adoption scores and usage
//! signals for every Active account and every product it is billed usage for. The per-series
//! math lives in `adoption` and `signals`; this module only gathers the series.

pub(crate) mod adoption;
pub(crate) mod daily_usage;
mod error;
pub(crate) mod signals;

pub use adoption::{
    ADOPTION_WINDOW_DAYS, AdoptionBand, AdoptionRanking, AdoptionScore, HIGH_BAND_FROM,
    MEDIUM_BAND_FROM, adoption_score,
};
pub use daily_usage::{DailyUsage, MAX_DAILY_USAGE_DAYS, UsageWindow};
pub use error::ExpandError;
pub use signals::{
    Evidence, OUTLIER_BASELINE_DAYS, OUTLIER_MAD_MULTIPLE, Signal, SignalKind,
    TREND_MIN_ACTIVE_DAYS, TREND_WINDOW_DAYS, usage_signals,
};

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use crate::account::AccountState;
use crate::id::{AccountId, AccountKey, MetricId, ProductId};
use crate::pricing::PriceModel;
use crate::store::CompanySnapshot;
use crate::subscription::SubscriptionState;
use crate::usage::{UsageRecord, deduplicate};

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
                source: Box::new(source),
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
        .map(|s| adoption_score(&s.account, &s.product, scoring_date, &s.daily, s.committed))
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
