//! Subscriptions (docs/domain.md, section 5): an account's products and agreed prices, their
//! schedule, timing (5.3) and lifecycle.
//!
//! A [`Subscription`] is built from a [`SubscriptionSpec`] and checked against its account's
//! currency. Its [`Item`]s are fixed fees, invoiced in advance or in arrears as its
//! [`BillingPractice`] says, and usage priced from a metric, always in arrears. A new
//! subscription is a Draft, which is never billed; [`Subscription::activate`],
//! [`pause`](Subscription::pause), [`resume`](Subscription::resume) and
//! [`end`](Subscription::end) move it through its [`SubscriptionState`]s.
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::id::{AccountId, ProductId, SubscriptionId};
//! use plock_core::money::Currency;
//! use plock_core::period::{BillingInterval, PeriodMode};
//! use plock_core::subscription::{BillingPractice, Item, Subscription, SubscriptionSpec, SubscriptionState};
//! use rust_decimal::dec;
//!
//! let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
//! let mut subscription = Subscription::new(
//!     SubscriptionSpec {
//!         id: SubscriptionId::new("sub-1")?,
//!         account: AccountId::new("dentist-johnson")?,
//!         start: d(1, 1)?,
//!         end: None,
//!         interval: BillingInterval::MONTHLY,
//!         mode: PeriodMode::Calendar,
//!         anchor: None,
//!         practice: BillingPractice::InAdvance,
//!         currency: Currency::SEK,
//!         items: vec![Item::flat_fee(ProductId::new("licence")?, dec!(3100.00), dec!(1))],
//!         minimum_invoice_amount: None,
//!     },
//!     Currency::SEK,
//! )?;
//! assert_eq!(subscription.state(), SubscriptionState::Draft);
//! subscription.activate()?;
//! subscription.pause(d(3, 1)?)?;
//! assert_eq!(subscription.state(), SubscriptionState::Paused { since: d(3, 1)? });
//! subscription.resume(d(4, 1)?)?;
//! subscription.end(d(7, 1)?)?;
//! assert_eq!(subscription.state(), SubscriptionState::Ended);
//! // An ended subscription cannot start again.
//! assert!(subscription.activate().is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod billed;
mod change;
mod item;
mod item_versions;
mod model_first;
mod price_change;
mod stored;
mod terms;
mod tiers_seen;

pub use billed::BilledThrough;
pub use item::Item;
pub use price_change::{MAX_PRICE_CHANGES, PriceChange, PriceChanges, Version};
pub use stored::ModelFirst;
pub use terms::{BillingPractice, SubscriptionError, SubscriptionState};

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{AccountId, SubscriptionId};
use crate::money::Currency;
use crate::period::{BillingInterval, PeriodMode, Schedule};
use crate::pricing::PriceModel;

/// The most items one subscription may have.
pub const MAX_ITEMS: usize = 64;

/// Everything a new subscription is built from.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{AccountId, BillingInterval, BillingPractice, Currency, Item, ProductId, Subscription, SubscriptionId, SubscriptionSpec};
/// use plock_core::period::PeriodMode;
/// use rust_decimal::dec;
///
/// let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
/// // Quarterly from 15 January, renewing on 1 April: the first period runs to the anchor.
/// let spec = SubscriptionSpec {
///     id: SubscriptionId::new("sub-q")?,
///     account: AccountId::new("globex")?,
///     start: d(1, 15)?,
///     end: None,
///     interval: BillingInterval::QUARTERLY,
///     mode: PeriodMode::Continuous,
///     anchor: Some(d(4, 1)?),
///     practice: BillingPractice::InAdvance,
///     currency: Currency::EUR,
///     items: vec![Item::flat_fee(ProductId::new("platform")?, dec!(6000.00), dec!(1))],
///     minimum_invoice_amount: Some(dec!(100.00)),
/// };
/// let subscription = Subscription::new(spec, Currency::EUR)?;
/// let first = subscription.schedule().periods().next().ok_or("no period")?;
/// assert_eq!((first.covered.start(), first.covered.end()), (d(1, 15)?, d(4, 1)?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSpec {
    /// Its id.
    pub id: SubscriptionId,
    /// The account.
    pub account: AccountId,
    /// First billed day.
    pub start: NaiveDate,
    /// First day no longer billed.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// Billing interval.
    pub interval: BillingInterval,
    /// Period mode.
    pub mode: PeriodMode,
    /// Renewal anchor.
    #[serde(default)]
    pub anchor: Option<NaiveDate>,
    /// When fixed fees are invoiced.
    pub practice: BillingPractice,
    /// Currency (must be the account's).
    pub currency: Currency,
    /// Items (1..=MAX_ITEMS).
    pub items: Vec<Item>,
    /// Invoices below this total are produced but held from dispatch.
    #[serde(default)]
    pub minimum_invoice_amount: Option<Decimal>,
}

/// A validated subscription.
///
/// Build one with [`Subscription::new`]; the [module documentation](crate::subscription) walks its lifecycle.
/// What billing runs have billed of it is kept with it ([`Subscription::billed_through`]):
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{AccountId, BillingInterval, BillingPractice, Currency, Item, ProductId, Subscription, SubscriptionId, SubscriptionSpec};
/// use plock_core::period::PeriodMode;
/// use plock_core::subscription::BilledThrough;
/// use rust_decimal::dec;
///
/// let d = |month, day| NaiveDate::from_ymd_opt(2025, month, day).ok_or("no such date");
/// let spec = SubscriptionSpec {
///     id: SubscriptionId::new("sub-1")?,
///     account: AccountId::new("globex")?,
///     start: d(1, 1)?,
///     end: None,
///     interval: BillingInterval::MONTHLY,
///     mode: PeriodMode::Calendar,
///     anchor: None,
///     practice: BillingPractice::InAdvance,
///     currency: Currency::EUR,
///     items: vec![Item::flat_fee(ProductId::new("platform")?, dec!(2000.00), dec!(1))],
///     minimum_invoice_amount: None,
/// };
/// let mut subscription = Subscription::new(spec, Currency::EUR)?;
/// assert_eq!(subscription.billed_through(), BilledThrough::default());
/// subscription.record_billed(BilledThrough::default().advanced(BillingPractice::InAdvance, d(3, 1)?));
/// assert_eq!(subscription.billed_through().get(BillingPractice::InAdvance), Some(d(3, 1)?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "stored::SubscriptionFields", into = "StoredSubscription")]
pub struct Subscription {
    spec: SubscriptionSpec,
    schedule: Schedule,
    state: SubscriptionState,
    billed: BilledThrough,
    /// Whether the items' products strictly increase: one period's lines, and what it bills
    /// of usage, then come in the invoice's order as the items are priced. Found once here,
    /// where a run compared the products of every line it made, each run.
    products_ascending: bool,
}

/// A subscription as stored, one flat document: read back by [`stored::SubscriptionFields`].
#[derive(Serialize)]
struct StoredSubscription {
    #[serde(flatten)]
    spec: SubscriptionSpec,
    #[serde(flatten)]
    state: SubscriptionState,
    #[serde(skip_serializing_if = "is_unbilled")]
    billed_through: BilledThrough,
}

fn is_unbilled(b: &BilledThrough) -> bool {
    *b == BilledThrough::default()
}

impl From<Subscription> for StoredSubscription {
    fn from(s: Subscription) -> StoredSubscription {
        StoredSubscription {
            spec: s.spec,
            state: s.state,
            billed_through: s.billed,
        }
    }
}

impl Subscription {
    /// Validates a new subscription, in Draft, for an account billing in `account_currency`.
    ///
    /// # Errors
    /// An invalid schedule (end not after start, anchor outside the first interval), no item
    /// or more than [`MAX_ITEMS`], an invalid price, a currency other than the account's, a
    /// negative minimum invoice amount.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::{AccountId, BillingInterval, BillingPractice, Currency, Item, ProductId, Subscription, SubscriptionId, SubscriptionSpec};
    /// use plock_core::period::PeriodMode;
    /// use plock_core::subscription::SubscriptionError;
    /// use rust_decimal::dec;
    ///
    /// let spec = SubscriptionSpec {
    ///     id: SubscriptionId::new("sub-1")?,
    ///     account: AccountId::new("globex")?,
    ///     start: NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?,
    ///     end: None,
    ///     interval: BillingInterval::MONTHLY,
    ///     mode: PeriodMode::Calendar,
    ///     anchor: None,
    ///     practice: BillingPractice::InAdvance,
    ///     currency: Currency::EUR,
    ///     items: vec![Item::flat_fee(ProductId::new("platform")?, dec!(2000.00), dec!(1))],
    ///     minimum_invoice_amount: None,
    /// };
    /// assert!(Subscription::new(spec.clone(), Currency::EUR).is_ok());
    /// // The account bills in kronor: refused, naming both currencies.
    /// let refused = Subscription::new(spec, Currency::SEK).unwrap_err();
    /// assert!(matches!(
    ///     refused,
    ///     SubscriptionError::CurrencyMismatch { subscription_currency: Currency::EUR, account_currency: Currency::SEK, .. }
    /// ));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        spec: SubscriptionSpec,
        account_currency: Currency,
    ) -> Result<Subscription, SubscriptionError> {
        let id = spec.id.clone();
        let schedule = Schedule::new(spec.start, spec.end, spec.interval, spec.mode, spec.anchor)
            .map_err(|source| SubscriptionError::Schedule {
            subscription: id.clone(),
            source,
        })?;
        if spec.currency != account_currency {
            return Err(SubscriptionError::CurrencyMismatch {
                subscription: id,
                subscription_currency: spec.currency,
                account_currency,
            });
        }
        let invalid = |field, value: String, reason: &str| SubscriptionError::Invalid {
            subscription: id.clone(),
            field,
            value,
            reason: reason.to_owned(),
        };
        if spec.items.is_empty() {
            return Err(invalid(
                "items",
                "[]".into(),
                "a subscription needs at least one item",
            ));
        }
        if spec.items.len() > MAX_ITEMS {
            return Err(invalid(
                "items",
                spec.items.len().to_string(),
                "at most 64 items",
            ));
        }
        let mut metrics = std::collections::BTreeSet::new();
        for item in &spec.items {
            item.validate(&id)?;
            if let Some(metric) = &item.metric
                && !metrics.insert(metric)
            {
                // Two items pricing one metric would bill the same usage twice.
                return Err(invalid(
                    "metric",
                    metric.to_string(),
                    "two items price this metric",
                ));
            }
        }
        if let Some(minimum) = spec.minimum_invoice_amount
            && minimum.is_sign_negative()
            && !minimum.is_zero()
        {
            return Err(invalid(
                "minimum invoice amount",
                minimum.to_string(),
                "must not be negative",
            ));
        }
        // A subscription outlives the vector it was built in: its items are held without
        // the room a growing vector keeps (up to half again of them).
        let mut spec = spec;
        spec.items.shrink_to_fit();
        let products_ascending = spec
            .items
            .windows(2)
            .all(|pair| matches!(pair, [a, b] if a.product < b.product));
        Ok(Subscription {
            spec,
            schedule,
            state: SubscriptionState::Draft,
            billed: BilledThrough::default(),
            products_ascending,
        })
    }

    /// What earlier billing runs billed of it.
    pub fn billed_through(&self) -> BilledThrough {
        self.billed
    }

    /// Records that charges were billed through `billed` (each timing moves forward only):
    /// what a store does with a billing run's [`Billed`](crate::billing::Billed) entries, and what a
    /// migration does for periods another system billed.
    pub fn record_billed(&mut self, billed: BilledThrough) {
        self.billed = self.billed.max(billed);
    }

    /// Records what a billing run's [`Billed`](crate::billing::Billed) entry says it is billed
    /// through, exactly: a store calls it after checking that the entry's `from` still holds.
    /// A timing moves back only where the run credited days billed past a moved end.
    pub fn record_run(&mut self, through: BilledThrough) {
        self.billed = through;
    }

    /// Its id.
    pub fn id(&self) -> &SubscriptionId {
        &self.spec.id
    }
    /// The account.
    pub fn account(&self) -> &AccountId {
        &self.spec.account
    }
    /// The state.
    pub fn state(&self) -> SubscriptionState {
        self.state
    }
    /// The period layout (start, end, interval, mode, anchor).
    pub fn schedule(&self) -> &Schedule {
        &self.schedule
    }
    /// When fixed fees are invoiced.
    pub fn practice(&self) -> BillingPractice {
        self.spec.practice
    }
    /// Currency.
    pub fn currency(&self) -> Currency {
        self.spec.currency
    }
    /// Items.
    pub fn items(&self) -> &[Item] {
        &self.spec.items
    }
    /// Whether the items' products strictly increase. Products never change after the
    /// subscription is built (a change keeps its item's product).
    pub(crate) fn products_ascending(&self) -> bool {
        self.products_ascending
    }
    /// Minimum invoice amount for dispatch.
    pub fn minimum_invoice_amount(&self) -> Option<Decimal> {
        self.spec.minimum_invoice_amount
    }
    /// The spec it was built from (with the current end date).
    pub fn spec(&self) -> &SubscriptionSpec {
        &self.spec
    }

    /// Does it still tie its account to its currency? Active and paused subscriptions bill
    /// again, and an ended one until each of its timings is billed through its end. A draft
    /// does not: writing it again, to activate it, checks its currency against the account's.
    pub fn holds_currency(&self) -> bool {
        match self.state {
            SubscriptionState::Draft => false,
            SubscriptionState::Active | SubscriptionState::Paused { .. } => true,
            SubscriptionState::Ended => {
                let Some(end) = self.schedule.end() else {
                    return true;
                };
                let fixed = |i: &&Item| {
                    matches!(
                        i.price,
                        PriceModel::FlatFee { .. } | PriceModel::Commitment { .. }
                    )
                };
                let advance = self
                    .items()
                    .iter()
                    .filter(fixed)
                    .any(|i| i.fixed_timing(self.practice()) == BillingPractice::InAdvance);
                let arrears = self.items().iter().any(|i| {
                    i.metric.is_some()
                        || (fixed(&i)
                            && i.fixed_timing(self.practice()) == BillingPractice::InArrears)
                });
                let unbilled = |wanted: bool, through: Option<NaiveDate>| {
                    wanted && through.is_none_or(|t| t < end)
                };
                unbilled(advance, self.billed.in_advance)
                    || unbilled(arrears, self.billed.in_arrears)
            }
        }
    }

    /// Draft -> Active.
    ///
    /// # Errors
    /// [`SubscriptionError::Transition`] from any other state.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::{AccountId, BillingInterval, BillingPractice, Currency, Item, ProductId, Subscription, SubscriptionId, SubscriptionSpec};
    /// use plock_core::period::PeriodMode;
    /// use plock_core::subscription::SubscriptionState;
    /// use rust_decimal::dec;
    ///
    /// let mut subscription = Subscription::new(
    ///     SubscriptionSpec {
    ///         id: SubscriptionId::new("sub-1")?,
    ///         account: AccountId::new("globex")?,
    ///         start: NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?,
    ///         end: None,
    ///         interval: BillingInterval::MONTHLY,
    ///         mode: PeriodMode::Calendar,
    ///         anchor: None,
    ///         practice: BillingPractice::InAdvance,
    ///         currency: Currency::EUR,
    ///         items: vec![Item::flat_fee(ProductId::new("platform")?, dec!(2000.00), dec!(1))],
    ///         minimum_invoice_amount: None,
    ///     },
    ///     Currency::EUR,
    /// )?;
    /// assert_eq!(subscription.state(), SubscriptionState::Draft);
    /// subscription.activate()?;
    /// assert_eq!(subscription.state(), SubscriptionState::Active);
    /// // Only a Draft is activated.
    /// assert!(subscription.activate().is_err());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn activate(&mut self) -> Result<(), SubscriptionError> {
        self.require("activate", matches!(self.state, SubscriptionState::Draft))?;
        self.state = SubscriptionState::Active;
        Ok(())
    }

    /// Active -> Paused from `on`.
    ///
    /// # Errors
    /// [`SubscriptionError::Transition`] unless Active.
    pub fn pause(&mut self, on: NaiveDate) -> Result<(), SubscriptionError> {
        self.require("pause", matches!(self.state, SubscriptionState::Active))?;
        self.state = SubscriptionState::Paused { since: on };
        Ok(())
    }

    /// Paused -> Active on `on`; the next billing run catches up everything accrued.
    ///
    /// # Errors
    /// [`SubscriptionError::Transition`] unless Paused since `on` or earlier.
    pub fn resume(&mut self, on: NaiveDate) -> Result<(), SubscriptionError> {
        let ok = matches!(self.state, SubscriptionState::Paused { since } if since <= on);
        self.require("resume", ok)?;
        self.state = SubscriptionState::Active;
        Ok(())
    }

    /// Active or Paused -> Ended, the last billed day being the day before `on`.
    ///
    /// # Errors
    /// [`SubscriptionError::Transition`] from Draft or Ended; [`SubscriptionError::Schedule`]
    /// when `on` is not after the start.
    pub fn end(&mut self, on: NaiveDate) -> Result<(), SubscriptionError> {
        self.require(
            "end",
            matches!(
                self.state,
                SubscriptionState::Active | SubscriptionState::Paused { .. }
            ),
        )?;
        let schedule =
            self.schedule
                .with_end(on)
                .map_err(|source| SubscriptionError::Schedule {
                    subscription: self.spec.id.clone(),
                    source,
                })?;
        self.schedule = schedule;
        self.spec.end = Some(on);
        self.state = SubscriptionState::Ended;
        Ok(())
    }

    fn require(&self, action: &'static str, allowed: bool) -> Result<(), SubscriptionError> {
        if allowed {
            Ok(())
        } else {
            Err(SubscriptionError::Transition {
                subscription: self.spec.id.clone(),
                state: self.state,
                action,
            })
        }
    }
}

#[cfg(test)]
mod tests;
