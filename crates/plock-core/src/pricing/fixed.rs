//! Usage prices on mantissas as integers, where that gives `Decimal`'s own result.
//!
//! A billing run prices every usage line, most of them per unit or by tiers, with a handful of
//! `Decimal` operations each (compare, min, subtract, multiply, add per tier). Here the same
//! operations run on an `i128` mantissa and a scale, in the same order, each giving the
//! `Decimal` its counterpart gives, to the scale. Wherever `Decimal` would do something else
//! than exact arithmetic (round past scale 28 or 96 bits, fail, or pick a zero's scale and
//! sign), the fast path answers `None` and the model is priced as `Decimal`, errors included.

use std::cmp::Ordering;

use rust_decimal::Decimal;

use super::{PriceModel, Tier, Tiers};
use crate::mantissa::{POWERS_OF_TEN, product};

/// `Decimal`'s largest mantissa plus one.
const MANTISSA_LIMIT: u128 = 1 << 96;

/// `Decimal`'s largest scale.
const MAX_SCALE: u32 = 28;

/// A decimal as its mantissa and scale, never a negative zero.
#[derive(Clone, Copy)]
struct Fixed {
    mantissa: i128,
    scale: u32,
}

impl Fixed {
    const ZERO: Fixed = Fixed {
        mantissa: 0,
        scale: 0,
    };

    /// `None` for a negative zero, which `Decimal` treats apart.
    fn of(value: Decimal) -> Option<Fixed> {
        let mantissa = value.mantissa();
        (mantissa != 0 || !value.is_sign_negative()).then_some(Fixed {
            mantissa,
            scale: value.scale(),
        })
    }

    fn of_or_zero(value: Option<Decimal>) -> Option<Fixed> {
        value.map_or(Some(Fixed::ZERO), Fixed::of)
    }

    fn decimal(self) -> Option<Decimal> {
        Decimal::try_from_i128_with_scale(self.mantissa, self.scale).ok()
    }

    fn is_zero(self) -> bool {
        self.mantissa == 0
    }

    /// Both mantissas at the larger scale, and that scale.
    fn aligned(self, other: Fixed) -> Option<(i128, i128, u32)> {
        let up = |m: i128, by: u32| product(m, *POWERS_OF_TEN.get(by as usize)?);
        match self.scale.cmp(&other.scale) {
            Ordering::Equal => Some((self.mantissa, other.mantissa, self.scale)),
            Ordering::Less => Some((
                up(self.mantissa, other.scale.checked_sub(self.scale)?)?,
                other.mantissa,
                other.scale,
            )),
            Ordering::Greater => Some((
                self.mantissa,
                up(other.mantissa, self.scale.checked_sub(other.scale)?)?,
                self.scale,
            )),
        }
    }

    fn compare(self, other: Fixed) -> Option<Ordering> {
        let (a, b, _) = self.aligned(other)?;
        Some(a.cmp(&b))
    }

    /// `Decimal::min`: `self` unless `other` is smaller.
    fn min(self, other: Fixed) -> Option<Fixed> {
        Some(match self.compare(other)? {
            Ordering::Greater => other,
            _ => self,
        })
    }

    /// `checked_add`: a zero side gives the other unchanged; otherwise the exact sum at the
    /// larger scale, while both sides and the sum fit in 96 bits there and the sum is not
    /// zero.
    fn add(self, other: Fixed) -> Option<Fixed> {
        if self.is_zero() {
            return Some(other);
        }
        if other.is_zero() {
            return Some(self);
        }
        let (a, b, scale) = self.aligned(other)?;
        let fits = |m: i128| m.unsigned_abs() < MANTISSA_LIMIT;
        let sum = a.checked_add(b)?;
        (fits(a) && fits(b) && fits(sum) && sum != 0).then_some(Fixed {
            mantissa: sum,
            scale,
        })
    }

    /// `checked_sub` for the non-negative values of a price: `self` when `other` is zero.
    fn sub(self, other: Fixed) -> Option<Fixed> {
        // Zero minus a value is that value negated; prices never ask for it.
        if self.is_zero() {
            return None;
        }
        self.add(Fixed {
            mantissa: other.mantissa.checked_neg()?,
            scale: other.scale,
        })
    }

    /// `checked_mul`: zero (scale 0) when a side is zero, otherwise the exact product while
    /// its scale and mantissa fit.
    fn mul(self, other: Fixed) -> Option<Fixed> {
        if self.is_zero() || other.is_zero() {
            return Some(Fixed::ZERO);
        }
        let mantissa = product(self.mantissa, other.mantissa)?;
        let scale = self.scale.checked_add(other.scale)?;
        (scale <= MAX_SCALE && mantissa.unsigned_abs() < MANTISSA_LIMIT)
            .then_some(Fixed { mantissa, scale })
    }
}

/// `units x unit price + flat fee`, as [`Tier::charge`] computes it.
fn charge(tier: &Tier, units: Fixed) -> Option<Fixed> {
    units
        .mul(Fixed::of_or_zero(tier.unit_price)?)?
        .add(Fixed::of_or_zero(tier.flat_fee)?)
}

/// [`Tiers::graduated`], step by step.
fn graduated(tiers: &Tiers, q: Fixed) -> Option<Fixed> {
    let mut total = Fixed::ZERO;
    let mut lower = Fixed::ZERO;
    for tier in tiers.tiers() {
        let this = lower;
        let up_to = tier.up_to.map(Fixed::of);
        if let Some(bound) = up_to {
            lower = bound?;
        }
        if q.compare(this)? != Ordering::Greater {
            break;
        }
        let top = match up_to {
            Some(bound) => bound?.min(q)?,
            None => q,
        };
        total = total.add(charge(tier, top.sub(this)?)?)?;
    }
    Some(total)
}

/// [`Tiers::volume`], step by step.
fn volume(tiers: &Tiers, q: Fixed) -> Option<Fixed> {
    if q.is_zero() {
        return Some(Fixed::ZERO);
    }
    for tier in tiers.tiers() {
        let reaches = match tier.up_to {
            None => true,
            Some(bound) => q.compare(Fixed::of(bound)?)? != Ordering::Greater,
        };
        if reaches {
            return charge(tier, q);
        }
    }
    Some(Fixed::ZERO)
}

/// The usage amount of `model` for `q` on integers, when that is exactly what `Decimal`
/// gives; `None` leaves it to `Decimal`.
pub(super) fn usage_amount(model: &PriceModel, q: Decimal) -> Option<Decimal> {
    let q = Fixed::of(q).filter(|q| q.mantissa >= 0)?;
    let amount = match model {
        PriceModel::PerUnit { unit_price } => q.mul(Fixed::of(*unit_price)?)?,
        PriceModel::Graduated { tiers } => graduated(tiers, q)?,
        PriceModel::Volume { tiers } => volume(tiers, q)?,
        _ => return None,
    };
    amount.decimal()
}

#[cfg(test)]
mod tests {
    use super::usage_amount;
    use crate::pricing::{PriceModel, Tier, Tiers};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    fn small_decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            (0i64..2_000_000, 0u32..=6).prop_map(|(m, s)| Decimal::new(m, s)),
            (0i64..3, 0u32..=3).prop_map(|(m, s)| Decimal::new(m, s)),
            (
                0u32..=u32::MAX,
                0u32..=u32::MAX,
                0u32..=u32::MAX >> 8,
                0u32..=28
            )
                .prop_map(|(lo, mid, hi, s)| Decimal::from_parts(lo, mid, hi, false, s)),
        ]
    }

    fn any_tiers() -> impl Strategy<Value = Tiers> {
        prop::collection::vec(
            (
                1i64..50_000,
                0u32..=3,
                prop::option::of(small_decimal()),
                prop::option::of(small_decimal()),
            ),
            1..6,
        )
        .prop_filter_map("valid tiers", |steps| {
            let mut bound = Decimal::ZERO;
            let last = steps.len().saturating_sub(1);
            let tiers = steps
                .into_iter()
                .enumerate()
                .map(|(i, (step, scale, unit_price, flat_fee))| {
                    bound += Decimal::new(step, scale);
                    Tier {
                        up_to: (i != last).then_some(bound),
                        unit_price,
                        flat_fee,
                    }
                })
                .collect();
            Tiers::new(tiers).ok()
        })
    }

    fn any_model() -> impl Strategy<Value = PriceModel> {
        prop_oneof![
            small_decimal().prop_map(|unit_price| PriceModel::PerUnit { unit_price }),
            any_tiers().prop_map(|tiers| PriceModel::Graduated { tiers }),
            any_tiers().prop_map(|tiers| PriceModel::Volume { tiers }),
        ]
    }

    proptest! {
        /// Where the integer path answers, it is `Decimal`'s amount to the scale, as text
        /// too; for a run's small quantities and prices it always answers.
        #[test]
        fn integer_prices_are_decimal_prices(model in any_model(), q in small_decimal()) {
            let by_decimal = model.usage_amount_by_decimal(q);
            if let Some(amount) = usage_amount(&model, q) {
                let expected = by_decimal.unwrap();
                prop_assert_eq!(amount.to_string(), expected.to_string());
                prop_assert_eq!(amount.scale(), expected.scale());
            }
        }

        #[test]
        fn small_quantities_take_the_integer_path(
            m in 0i64..10_000_000,
            s in 0u32..=6,
            price in 0i64..1_000_000,
        ) {
            let q = Decimal::new(m, s);
            let model = PriceModel::PerUnit { unit_price: Decimal::new(price, 6) };
            prop_assert!(usage_amount(&model, q).is_some());
            // Tiers as a price list writes them: bounds and prices to six places.
            let tiers = Tiers::new(vec![
                Tier { up_to: Some(Decimal::new(1_000_000_000, 6)), unit_price: Some(Decimal::new(price, 6)), flat_fee: None },
                Tier { up_to: Some(Decimal::new(10_000_000_000, 6)), unit_price: Some(Decimal::new(price / 2, 6)), flat_fee: Some(Decimal::new(500, 2)) },
                Tier::unit(None, Decimal::new(price / 4, 6)),
            ]).unwrap();
            let graduated = PriceModel::Graduated { tiers: tiers.clone() };
            let volume = PriceModel::Volume { tiers };
            prop_assert!(usage_amount(&graduated, q).is_some());
            prop_assert!(usage_amount(&volume, q).is_some());
        }
    }

    #[test]
    fn a_negative_zero_is_left_to_decimal() {
        let model = PriceModel::PerUnit {
            unit_price: Decimal::ONE,
        };
        assert_eq!(usage_amount(&model, -Decimal::ZERO), None);
    }
}
