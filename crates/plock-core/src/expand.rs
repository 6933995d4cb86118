//! The Expand module over a company (docs/domain.md, section 11): adoption scores and usage
//! signals for every Active account and every product it is billed usage for. The per-series
//! math lives in `adoption` and `signals`; this module only gathers the series.
//!
//! Both work on one account's [`DailyUsage`] of one product: an [`AdoptionScore`] (0 to 100, from
//! activity, utilisation of the commitment and trend) ranks customers for a customer success team
//! ([`AdoptionRanking`]); a [`Signal`] flags churn risk, upsell opportunity, spike or drop, with
//! the numbers behind it. [`company_adoption`] and [`company_signals`] do it for a whole
//! company; the `expand_report` example prints such a report.
//!
//! ```
//! use chrono::{Days, NaiveDate};
//! use plock_core::expand::{AdoptionBand, DailyUsage, SignalKind, adoption_score, usage_signals};
//! use plock_core::id::{AccountId, ProductId};
//! use rust_decimal::{Decimal, dec};
//!
//! let april = NaiveDate::from_ymd_opt(2025, 4, 1).ok_or("no such date")?;
//! // Used from 12 March on, one more unit each day: 1, 2, ... 20 on 31 March.
//! let pairs = (1..=20u64).map(|n| (april - Days::new(21 - n), Decimal::from(n)));
//! let usage = DailyUsage::from_pairs(pairs)?;
//! let (account, product) = (AccountId::new("river-cafe")?, ProductId::new("orders")?);
//!
//! // 20 active days of 30, 210 units of the 100 committed, growing from nothing:
//! // 100 x (0.5 x 20/30 + 0.3 x 1 + 0.2 x 1) = 83.
//! let score = adoption_score(&account, &product, april, &usage, Some(dec!(100)))?;
//! assert_eq!((score.score(), score.band()), (83, AdoptionBand::High));
//! assert!(score.upsell_ready());
//!
//! let signals = usage_signals(&account, &product, april, &usage)?;
//! let kinds: Vec<SignalKind> = signals.iter().map(|s| s.kind()).collect();
//! assert_eq!(kinds, [SignalKind::UpsellOpportunity]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

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
