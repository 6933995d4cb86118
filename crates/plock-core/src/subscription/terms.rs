//! How a subscription bills (in advance or in arrears), its lifecycle states, and why a
//! subscription or one of its values is refused.

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::id::{ProductId, SubscriptionId};
use crate::money::Currency;
use crate::period::PeriodError;
use crate::pricing::PricingError;

/// When fixed fees are invoiced.
///
/// ```
/// use plock_core::{BillingPractice, Item, ProductId};
/// use rust_decimal::dec;
///
/// // A subscription billed in advance may still bill one fixed fee in arrears.
/// let support = Item::flat_fee(ProductId::new("support")?, dec!(300.00), dec!(1))
///     .with_practice(BillingPractice::InArrears);
/// assert_eq!(support.fixed_timing(BillingPractice::InAdvance), BillingPractice::InArrears);
/// assert_eq!(BillingPractice::InAdvance.to_string(), "in advance");
/// # Ok::<(), plock_core::id::IdError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BillingPractice {
    /// At the start of their period.
    InAdvance,
    /// At the end of their period.
    InArrears,
}

impl fmt::Display for BillingPractice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            BillingPractice::InAdvance => "in advance",
            BillingPractice::InArrears => "in arrears",
        })
    }
}

/// A subscription's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "state")]
pub enum SubscriptionState {
    /// Created, not started: never billed.
    Draft,
    /// Billing.
    Active,
    /// Revenue collection paused: charges accrue, no invoice until resumed.
    Paused {
        /// The day the pause began.
        since: NaiveDate,
    },
    /// Ended: billed up to its end date, nothing after.
    Ended,
}

impl fmt::Display for SubscriptionState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SubscriptionState::Draft => f.write_str("Draft"),
            SubscriptionState::Active => f.write_str("Active"),
            SubscriptionState::Paused { since } => write!(f, "Paused since {since}"),
            SubscriptionState::Ended => f.write_str("Ended"),
        }
    }
}

/// Why a subscription was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SubscriptionError {
    /// The schedule is invalid.
    #[error("subscription {:?}: {source}", subscription.as_str())]
    Schedule {
        /// The subscription.
        subscription: SubscriptionId,
        /// What is wrong.
        source: PeriodError,
    },
    /// An item's price is invalid.
    #[error("subscription {:?}, item {:?}: {source}", subscription.as_str(), product.as_str())]
    Price {
        /// The subscription.
        subscription: SubscriptionId,
        /// The item's product.
        product: ProductId,
        /// What is wrong.
        source: PricingError,
    },
    /// A field is invalid.
    #[error("subscription {:?}: invalid {field} {value}: {reason}", subscription.as_str())]
    Invalid {
        /// The subscription.
        subscription: SubscriptionId,
        /// The field.
        field: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: String,
    },
    /// The subscription's currency is not its account's.
    #[error("subscription {:?} is in {subscription_currency} but its account bills in {account_currency}", subscription.as_str())]
    CurrencyMismatch {
        /// The subscription.
        subscription: SubscriptionId,
        /// Its currency.
        subscription_currency: Currency,
        /// The account's.
        account_currency: Currency,
    },
    /// The state does not allow the action.
    #[error("subscription {:?} is {state}: cannot {action}", subscription.as_str())]
    Transition {
        /// The subscription.
        subscription: SubscriptionId,
        /// Its state.
        state: SubscriptionState,
        /// The refused action.
        action: &'static str,
    },
}
