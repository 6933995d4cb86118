//! One product of a subscription and its agreed price.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::id::{MetricId, ProductId, SubscriptionId};
use crate::pricing::{PriceModel, Rebate};
use crate::subscription::price_change::{MAX_PRICE_CHANGES, PriceChanges};
use crate::subscription::terms::{BillingPractice, SubscriptionError};

/// One product line of a subscription.
///
/// ```
/// use plock_core::{Item, MetricId, PriceModel, ProductId};
/// use plock_core::pricing::Rebate;
/// use rust_decimal::dec;
///
/// let licence = Item::flat_fee(ProductId::new("licence")?, dec!(450.00), dec!(1))
///     .with_rebate(Rebate::percent(dec!(10))?);
/// assert!(licence.metric.is_none() && licence.price.is_fixed());
/// let calls = Item::usage(ProductId::new("api")?, MetricId::new("calls")?, PriceModel::PerUnit { unit_price: dec!(0.002) });
/// assert_eq!(calls.metric.as_ref().map(|m| m.as_str()), Some("calls"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Item {
    /// The product.
    pub product: ProductId,
    /// The metric a usage-priced item counts; `None` for a flat fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<MetricId>,
    /// The price.
    pub price: PriceModel,
    /// Overrides the subscription's billing practice for this item's fixed fee.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub practice: Option<BillingPractice>,
    /// A rebate on this item's amount.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rebate: Option<Rebate>,
    /// A flat fee's earlier prices, in the order they were changed
    /// ([`Subscription::change_item`](crate::Subscription::change_item)); `price` and
    /// `rebate` are the latest.
    #[serde(default, skip_serializing_if = "PriceChanges::is_empty")]
    pub changes: PriceChanges,
}

impl Item {
    /// A flat-fee item: `fee x quantity` per period.
    ///
    /// ```
    /// use plock_core::{Item, PriceModel, ProductId};
    /// use rust_decimal::dec;
    ///
    /// // Five seats at 25.00 a period.
    /// let seats = Item::flat_fee(ProductId::new("seats")?, dec!(25.00), dec!(5));
    /// assert_eq!(seats.price, PriceModel::FlatFee { fee: dec!(25.00), quantity: dec!(5) });
    /// assert_eq!(seats.price.fixed_amount()?, dec!(125.00));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn flat_fee(product: ProductId, fee: Decimal, quantity: Decimal) -> Item {
        Item {
            product,
            metric: None,
            price: PriceModel::FlatFee { fee, quantity },
            practice: None,
            rebate: None,
            changes: PriceChanges::default(),
        }
    }

    /// A usage item pricing `metric` with `price`.
    ///
    /// ```
    /// use plock_core::{Item, MetricId, PriceModel, ProductId};
    /// use plock_core::pricing::{Tier, Tiers};
    /// use rust_decimal::dec;
    ///
    /// // E-mails on a graduated price: the first 10,000 at 0.010, the rest at 0.005.
    /// let tiers = Tiers::new(vec![Tier::unit(Some(dec!(10000)), dec!(0.010)), Tier::unit(None, dec!(0.005))])?;
    /// let emails = Item::usage(ProductId::new("emails")?, MetricId::new("emails")?, PriceModel::Graduated { tiers });
    /// assert_eq!(emails.price.usage_amount(dec!(12000))?, dec!(110.00));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn usage(product: ProductId, metric: MetricId, price: PriceModel) -> Item {
        Item {
            product,
            metric: Some(metric),
            price,
            practice: None,
            rebate: None,
            changes: PriceChanges::default(),
        }
    }

    /// The same item with a rebate.
    pub fn with_rebate(mut self, rebate: Rebate) -> Item {
        self.rebate = Some(rebate);
        self
    }

    /// The same item with its own billing practice.
    pub fn with_practice(mut self, practice: BillingPractice) -> Item {
        self.practice = Some(practice);
        self
    }

    /// When this item's fixed part (flat fee, commitment) is invoiced, given the
    /// subscription's practice. A commitment is billed with the fixed fees, in advance unless
    /// the item says otherwise. Usage is always in arrears.
    pub fn fixed_timing(&self, subscription_practice: BillingPractice) -> BillingPractice {
        match (&self.price, self.practice) {
            (_, Some(own)) => own,
            (PriceModel::Commitment { .. }, None) => BillingPractice::InAdvance,
            (_, None) => subscription_practice,
        }
    }

    pub(crate) fn validate(&self, subscription: &SubscriptionId) -> Result<(), SubscriptionError> {
        self.price
            .validate()
            .map_err(|source| SubscriptionError::Price {
                subscription: subscription.clone(),
                product: self.product.clone(),
                source,
            })?;
        let invalid = |reason: &str| SubscriptionError::Invalid {
            subscription: subscription.clone(),
            field: "metric",
            value: format!("{:?}", self.metric.as_ref().map(MetricId::as_str)),
            reason: format!("item {:?}: {reason}", self.product.as_str()),
        };
        match (self.price.is_fixed(), &self.metric) {
            (true, Some(_)) => return Err(invalid("a flat fee counts no metric")),
            (false, None) => return Err(invalid("a usage price needs the metric it counts")),
            _ => {}
        }
        self.validate_changes(subscription)
    }

    /// Changes are kept for a flat fee only, at most [`MAX_PRICE_CHANGES`], each replacing a
    /// valid flat fee.
    fn validate_changes(&self, subscription: &SubscriptionId) -> Result<(), SubscriptionError> {
        let Some(first) = self.changes.first() else {
            return Ok(());
        };
        let invalid = |value: String, reason: &str| SubscriptionError::Invalid {
            subscription: subscription.clone(),
            field: "price changes",
            value,
            reason: format!("item {:?}: {reason}", self.product.as_str()),
        };
        if !self.is_flat_fee() {
            return Err(invalid(
                first.from.to_string(),
                "only a flat fee's price or quantity changes from a date",
            ));
        }
        if self.changes.len() > MAX_PRICE_CHANGES {
            return Err(invalid(
                self.changes.len().to_string(),
                "at most 32 price changes",
            ));
        }
        for change in &self.changes {
            if !matches!(change.before, PriceModel::FlatFee { .. }) {
                return Err(invalid(
                    change.from.to_string(),
                    "a change replaces a flat fee",
                ));
            }
            change
                .before
                .validate()
                .map_err(|source| SubscriptionError::Price {
                    subscription: subscription.clone(),
                    product: self.product.clone(),
                    source,
                })?;
        }
        Ok(())
    }

    /// Is it a flat fee (no metric, a fee times a quantity)?
    pub fn is_flat_fee(&self) -> bool {
        self.metric.is_none() && matches!(self.price, PriceModel::FlatFee { .. })
    }
}
