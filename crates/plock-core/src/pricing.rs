//! Price models (docs/domain.md, section 6): what a quantity costs.
//!
//! Every amount here is exact and unrounded; the billing run rounds each invoice line once.
//!
//! A [`PriceModel`] says what a quantity costs in one period: a flat fee, a price per unit,
//! graduated or volume [`Tiers`], packages, or a commitment with overage. A [`Rebate`] takes a
//! percentage off one item's amount.
//!
//! ```
//! use plock_core::pricing::{PriceModel, PricingError, Rebate, Tier, Tiers};
//! use rust_decimal::dec;
//!
//! let tiers = Tiers::new(vec![Tier::unit(Some(dec!(10000)), dec!(0.010)), Tier::unit(None, dec!(0.005))])?;
//! // Graduated: each tier prices the units that fall in it (100.00 + 100.00).
//! let graduated = PriceModel::Graduated { tiers: tiers.clone() };
//! assert_eq!(graduated.usage_amount(dec!(30000))?, dec!(200.00));
//! // Volume: the tier the whole quantity reaches prices every unit.
//! let volume = PriceModel::Volume { tiers };
//! assert_eq!(volume.usage_amount(dec!(30000))?, dec!(150.00));
//! // Packages of 1,000 at 2.50: 2,500 units take three packages.
//! let package = PriceModel::Package { size: dec!(1000), price: dec!(2.50) };
//! assert_eq!(package.usage_amount(dec!(2500))?, dec!(7.50));
//! // 10% off.
//! assert_eq!(Rebate::percent(dec!(10))?.apply(dec!(7.50))?, dec!(6.75));
//! # Ok::<(), PricingError>(())
//! ```

mod fixed;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// The most tiers one price may have.
pub const MAX_TIERS: usize = 32;

/// Why a price was refused or could not be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    /// A price field is invalid.
    #[error("invalid {field} {value}: {reason}")]
    Invalid {
        /// The field (`unit_price`, `tiers`, `package size`, `rebate`, ...).
        field: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },
    /// A quantity below zero (corrections are credits).
    #[error(
        "quantity {quantity} is negative: quantities are never negative (corrections are credits)"
    )]
    NegativeQuantity {
        /// The quantity.
        quantity: Decimal,
    },
    /// The exact amount does not fit.
    #[error("price of quantity {quantity} overflows")]
    Overflow {
        /// The quantity priced.
        quantity: Decimal,
    },
}

fn invalid(field: &'static str, value: impl ToString, reason: &'static str) -> PricingError {
    PricingError::Invalid {
        field,
        value: value.to_string(),
        reason,
    }
}

fn non_negative(field: &'static str, value: Decimal) -> Result<Decimal, PricingError> {
    if value.is_sign_negative() && !value.is_zero() {
        Err(invalid(field, value, "must not be negative"))
    } else {
        Ok(value)
    }
}

/// A price: not negative, at most [`MAX_PRICE`](crate::MAX_PRICE).
fn price(field: &'static str, value: Decimal) -> Result<Decimal, PricingError> {
    non_negative(field, value)?;
    match crate::bounds::price_too_large(value) {
        Some(reason) => Err(invalid(field, value, reason)),
        None => Ok(value),
    }
}

/// A quantity: not negative, at most [`MAX_QUANTITY`](crate::MAX_QUANTITY).
fn quantity(field: &'static str, value: Decimal) -> Result<Decimal, PricingError> {
    non_negative(field, value)?;
    match crate::bounds::quantity_too_large(value) {
        Some(reason) => Err(invalid(field, value, reason)),
        None => Ok(value),
    }
}

/// One tier: the units up to `up_to` (inclusive; `None` = unbounded) after the tier before.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tier {
    /// Inclusive upper bound; `None` for the last tier.
    pub up_to: Option<Decimal>,
    /// Price per unit inside the tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit_price: Option<Decimal>,
    /// Flat fee charged when any unit reaches the tier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flat_fee: Option<Decimal>,
}

impl Tier {
    /// A tier with a unit price.
    pub fn unit(up_to: Option<Decimal>, unit_price: Decimal) -> Tier {
        Tier {
            up_to,
            unit_price: Some(unit_price),
            flat_fee: None,
        }
    }

    /// A tier with a flat fee only (a "flat range").
    pub fn flat(up_to: Option<Decimal>, flat_fee: Decimal) -> Tier {
        Tier {
            up_to,
            unit_price: None,
            flat_fee: Some(flat_fee),
        }
    }

    fn charge(&self, units: Decimal, quantity: Decimal) -> Result<Decimal, PricingError> {
        let overflow = || PricingError::Overflow { quantity };
        let by_unit = units
            .checked_mul(self.unit_price.unwrap_or(Decimal::ZERO))
            .ok_or_else(overflow)?;
        by_unit
            .checked_add(self.flat_fee.unwrap_or(Decimal::ZERO))
            .ok_or_else(overflow)
    }
}

/// A validated tier list: at least one tier, strictly increasing inclusive bounds, the last
/// unbounded, nothing negative.
///
/// A tier list is shared, not copied: a clone is a reference count, so a price plan's tiers
/// held by many subscriptions' items exist once in memory.
///
/// ```
/// use plock_core::PriceModel;
/// use plock_core::pricing::{Tier, Tiers};
/// use rust_decimal::dec;
///
/// let plan = Tiers::new(vec![Tier::unit(Some(dec!(1000)), dec!(0.01)), Tier::unit(None, dec!(0.005))])?;
/// let a = PriceModel::Graduated { tiers: plan.clone() };
/// let b = PriceModel::Graduated { tiers: plan };
/// assert_eq!(a.usage_amount(dec!(1500))?, dec!(12.5));
/// assert_eq!(a, b);
/// # Ok::<(), plock_core::pricing::PricingError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "Vec<Tier>", into = "Vec<Tier>")]
pub struct Tiers(std::sync::Arc<[Tier]>);

impl Tiers {
    /// Validates a tier list.
    ///
    /// # Errors
    /// [`PricingError::Invalid`] naming the rule broken.
    pub fn new(tiers: Vec<Tier>) -> Result<Tiers, PricingError> {
        if tiers.is_empty() {
            return Err(invalid("tiers", "[]", "at least one tier is needed"));
        }
        if tiers.len() > MAX_TIERS {
            return Err(invalid("tiers", tiers.len(), "at most 32 tiers"));
        }
        let last = tiers.len().saturating_sub(1);
        let mut previous: Option<Decimal> = None;
        for (i, tier) in tiers.iter().enumerate() {
            if let Some(unit_price) = tier.unit_price {
                price("tier unit_price", unit_price)?;
            }
            if let Some(fee) = tier.flat_fee {
                price("tier flat_fee", fee)?;
            }
            if let Some(bound) = tier.up_to {
                quantity("tier up_to", bound)?;
            }
            match (tier.up_to, i == last) {
                (None, true) => {}
                (None, false) => {
                    return Err(invalid(
                        "tier up_to",
                        "unbounded",
                        "only the last tier is unbounded",
                    ));
                }
                (Some(bound), true) => {
                    return Err(invalid(
                        "tier up_to",
                        bound,
                        "the last tier must be unbounded",
                    ));
                }
                (Some(bound), false) => {
                    if bound <= previous.unwrap_or(Decimal::ZERO) {
                        return Err(invalid(
                            "tier up_to",
                            bound,
                            "bounds must be positive and strictly increasing",
                        ));
                    }
                    previous = Some(bound);
                }
            }
        }
        Ok(Tiers(tiers.into()))
    }

    /// The tiers, in order.
    pub fn tiers(&self) -> &[Tier] {
        &self.0
    }

    /// Each tier with its exclusive lower bound.
    fn ranges(&self) -> impl Iterator<Item = (Decimal, &Tier)> {
        let mut lower = Decimal::ZERO;
        self.0.iter().map(move |t| {
            let this = lower;
            lower = t.up_to.unwrap_or(lower);
            (this, t)
        })
    }

    /// Graduated: each tier prices the units inside it, plus its flat fee if any unit reaches it.
    fn graduated(&self, q: Decimal) -> Result<Decimal, PricingError> {
        let mut total = Decimal::ZERO;
        for (lower, tier) in self.ranges() {
            if q <= lower {
                break;
            }
            let top = tier.up_to.map_or(q, |u| u.min(q));
            let units = top
                .checked_sub(lower)
                .ok_or(PricingError::Overflow { quantity: q })?;
            total = total
                .checked_add(tier.charge(units, q)?)
                .ok_or(PricingError::Overflow { quantity: q })?;
        }
        Ok(total)
    }

    /// Volume: the one tier containing q prices all q units, plus its flat fee.
    fn volume(&self, q: Decimal) -> Result<Decimal, PricingError> {
        if q.is_zero() {
            return Ok(Decimal::ZERO);
        }
        match self.0.iter().find(|t| t.up_to.is_none_or(|u| q <= u)) {
            Some(tier) => tier.charge(q, q),
            None => Ok(Decimal::ZERO), // unreachable: the last tier is unbounded
        }
    }
}

impl TryFrom<Vec<Tier>> for Tiers {
    type Error = PricingError;
    fn try_from(tiers: Vec<Tier>) -> Result<Tiers, PricingError> {
        Tiers::new(tiers)
    }
}
impl From<Tiers> for Vec<Tier> {
    fn from(t: Tiers) -> Vec<Tier> {
        t.0.to_vec()
    }
}

/// How an item is priced.
///
/// Fixed fees (a flat fee, a commitment's committed quantity) are billed by the subscription's
/// billing practice; usage amounts in arrears:
///
/// ```
/// use plock_core::PriceModel;
/// use rust_decimal::dec;
///
/// let licence = PriceModel::FlatFee { fee: dec!(450.00), quantity: dec!(3) };
/// assert!(licence.is_fixed());
/// assert_eq!(licence.fixed_amount()?, dec!(1350.00));
///
/// let calls = PriceModel::PerUnit { unit_price: dec!(0.002) };
/// assert_eq!(calls.usage_amount(dec!(12500))?, dec!(25.00));
///
/// // 100,000 committed at 0.003: 300.00 with the fixed fees, and only the units above it
/// // as usage.
/// let committed = PriceModel::Commitment { committed: dec!(100000), unit_price: dec!(0.003) };
/// assert_eq!(committed.fixed_amount()?, dec!(300.00));
/// assert_eq!(committed.overage_quantity(dec!(120000)), dec!(20000));
/// assert_eq!(committed.usage_amount(dec!(120000))?, dec!(60.00));
///
/// // Prices are checked where they are made.
/// assert!(PriceModel::PerUnit { unit_price: dec!(-1) }.validate().is_err());
/// # Ok::<(), plock_core::pricing::PricingError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "model")]
pub enum PriceModel {
    /// `fee x quantity` per period (licences), a fixed fee.
    FlatFee {
        /// The fee per unit of quantity.
        fee: Decimal,
        /// How many (licences, seats agreed).
        quantity: Decimal,
    },
    /// `q x unit_price`.
    PerUnit {
        /// Price per unit.
        unit_price: Decimal,
    },
    /// Graduated tiers.
    Graduated {
        /// The tiers.
        tiers: Tiers,
    },
    /// Volume tiers.
    Volume {
        /// The tiers.
        tiers: Tiers,
    },
    /// `ceil(q / size) x price`.
    Package {
        /// Units per package (> 0).
        size: Decimal,
        /// Price per package.
        price: Decimal,
    },
    /// The committed quantity is billed with the fixed fees; units above it in arrears.
    Commitment {
        /// Units committed per period.
        committed: Decimal,
        /// Price per unit, committed or overage.
        unit_price: Decimal,
    },
}

impl PriceModel {
    /// Checks the model's numbers.
    ///
    /// # Errors
    /// A negative price or quantity, a package size of zero.
    pub fn validate(&self) -> Result<(), PricingError> {
        match self {
            PriceModel::FlatFee { fee, quantity: q } => {
                price("fee", *fee)?;
                quantity("quantity", *q)?;
            }
            PriceModel::PerUnit { unit_price } => {
                price("unit_price", *unit_price)?;
            }
            PriceModel::Graduated { .. } | PriceModel::Volume { .. } => {}
            PriceModel::Package {
                size,
                price: package_price,
            } => {
                price("package price", *package_price)?;
                quantity("package size", *size)?;
                if *size <= Decimal::ZERO {
                    return Err(invalid("package size", size, "must be above zero"));
                }
            }
            PriceModel::Commitment {
                committed,
                unit_price,
            } => {
                quantity("committed quantity", *committed)?;
                price("unit_price", *unit_price)?;
            }
        }
        Ok(())
    }

    /// Is it a fixed fee (billed by the billing practice) rather than usage?
    pub fn is_fixed(&self) -> bool {
        matches!(self, PriceModel::FlatFee { .. })
    }

    /// The fixed amount per full period: the flat fee x quantity, or the commitment's
    /// committed quantity x unit price; zero for pure usage models.
    ///
    /// # Errors
    /// [`PricingError::Overflow`].
    pub fn fixed_amount(&self) -> Result<Decimal, PricingError> {
        match self {
            PriceModel::FlatFee { fee, quantity } => {
                fee.checked_mul(*quantity).ok_or(PricingError::Overflow {
                    quantity: *quantity,
                })
            }
            PriceModel::Commitment {
                committed,
                unit_price,
            } => committed
                .checked_mul(*unit_price)
                .ok_or(PricingError::Overflow {
                    quantity: *committed,
                }),
            _ => Ok(Decimal::ZERO),
        }
    }

    /// The usage amount for quantity `q`: the whole price of per-unit, tiered and package
    /// models; the overage above the commitment; zero for a flat fee.
    ///
    /// # Errors
    /// A negative quantity, or overflow.
    pub fn usage_amount(&self, q: Decimal) -> Result<Decimal, PricingError> {
        // On integers where they give `Decimal`'s own amount: a run prices every usage line.
        if let Some(amount) = fixed::usage_amount(self, q) {
            return Ok(amount);
        }
        self.usage_amount_by_decimal(q)
    }

    /// [`PriceModel::usage_amount`] in `Decimal`'s arithmetic.
    fn usage_amount_by_decimal(&self, q: Decimal) -> Result<Decimal, PricingError> {
        if q.is_sign_negative() && !q.is_zero() {
            return Err(PricingError::NegativeQuantity { quantity: q });
        }
        let overflow = || PricingError::Overflow { quantity: q };
        match self {
            PriceModel::FlatFee { .. } => Ok(Decimal::ZERO),
            PriceModel::PerUnit { unit_price } => q.checked_mul(*unit_price).ok_or_else(overflow),
            PriceModel::Graduated { tiers } => tiers.graduated(q),
            PriceModel::Volume { tiers } => tiers.volume(q),
            PriceModel::Package { size, price } => q
                .checked_div(*size)
                .map(|n| n.ceil())
                .and_then(|n| n.checked_mul(*price))
                .ok_or_else(overflow),
            PriceModel::Commitment {
                committed,
                unit_price,
            } => {
                let over = q
                    .checked_sub(*committed)
                    .ok_or_else(overflow)?
                    .max(Decimal::ZERO);
                over.checked_mul(*unit_price).ok_or_else(overflow)
            }
        }
    }

    /// The units above the commitment (zero for other models).
    pub fn overage_quantity(&self, q: Decimal) -> Decimal {
        match self {
            PriceModel::Commitment { committed, .. } => q
                .checked_sub(*committed)
                .unwrap_or(Decimal::ZERO)
                .max(Decimal::ZERO),
            _ => Decimal::ZERO,
        }
    }

    /// The unit price shown on an invoice line, where the model has a single one.
    pub fn unit_price(&self) -> Option<Decimal> {
        match self {
            PriceModel::FlatFee { fee, .. } => Some(*fee),
            PriceModel::PerUnit { unit_price } | PriceModel::Commitment { unit_price, .. } => {
                Some(*unit_price)
            }
            PriceModel::Package { .. }
            | PriceModel::Graduated { .. }
            | PriceModel::Volume { .. } => None,
        }
    }
}

/// A percentage 0..=100 off one item's amount, applied to the price written on the item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "Decimal", into = "Decimal")]
pub struct Rebate(Decimal);

impl Rebate {
    /// Validates a percentage.
    ///
    /// # Errors
    /// [`PricingError::Invalid`] outside 0..=100.
    ///
    /// # Examples
    ///
    /// ```
    /// use plock_core::pricing::Rebate;
    /// use rust_decimal::dec;
    ///
    /// let rebate = Rebate::percent(dec!(12.5))?;
    /// assert_eq!(rebate.apply(dec!(400.00))?, dec!(350.00));
    /// assert!(Rebate::percent(dec!(101)).is_err());
    /// # Ok::<(), plock_core::pricing::PricingError>(())
    /// ```
    pub fn percent(value: Decimal) -> Result<Rebate, PricingError> {
        if value < Decimal::ZERO || value > Decimal::ONE_HUNDRED {
            Err(invalid(
                "rebate",
                value,
                "must be a percentage from 0 to 100",
            ))
        } else {
            Ok(Rebate(value))
        }
    }

    /// The percentage.
    pub fn value(self) -> Decimal {
        self.0
    }

    /// `amount x (100 - percent) / 100`, exact.
    ///
    /// # Errors
    /// [`PricingError::Overflow`].
    pub fn apply(self, amount: Decimal) -> Result<Decimal, PricingError> {
        Decimal::ONE_HUNDRED
            .checked_sub(self.0)
            .and_then(|keep| amount.checked_mul(keep))
            .and_then(|x| x.checked_div(Decimal::ONE_HUNDRED))
            .ok_or(PricingError::Overflow { quantity: amount })
    }
}

impl TryFrom<Decimal> for Rebate {
    type Error = PricingError;
    fn try_from(value: Decimal) -> Result<Rebate, PricingError> {
        Rebate::percent(value)
    }
}
impl From<Rebate> for Decimal {
    fn from(r: Rebate) -> Decimal {
        r.0
    }
}

#[cfg(test)]
mod tests;
