//! Exact sums of an invoice's decimals on their mantissas as integers.
//!
//! An invoice adds every line's amount for its total, and every line's quantity and amount
//! again for its product view: a billing run adds each line three times, and one `Decimal`
//! addition costs about ten times an `i128` one. The sum here is the `Decimal` a fold of
//! `checked_add` from zero gives, to the scale; where it cannot be sure of that (a partial sum
//! of zero, whose scale and sign are `Decimal`'s business, or one near `Decimal`'s 96 bits,
//! where `Decimal` would round) it gives `None` and the caller adds as `Decimal` does, errors
//! included.

use rust_decimal::Decimal;

use crate::mantissa::{POWERS_OF_TEN, product};

/// `Decimal`'s largest mantissa plus one: every partial sum stays below it.
const MANTISSA_LIMIT: u128 = 1 << 96;

/// The sum of `values` as `Decimal::ZERO` plus each in turn: the exact sum at the largest
/// scale among the values that are not zero. `None` when every value or a partial sum is
/// zero, and for magnitudes near the limit.
pub(super) fn exact_sum(values: impl IntoIterator<Item = Decimal>) -> Option<Decimal> {
    let mut sum = ExactSum::default();
    for value in values {
        sum.add(value)?;
    }
    sum.finish()
}

/// [`exact_sum`] a value at a time, for a caller adding several sums in one pass.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct ExactSum {
    /// The sum's mantissa and scale; zero plus one value is that value itself, so the first
    /// value that is not zero is taken whole.
    sum: i128,
    /// The sum of the magnitudes at the current scale: it bounds every partial sum, so no
    /// step of the `Decimal` fold overflows (or rounds) while it stays under the limit.
    magnitude: u128,
    scale: u32,
    /// Whether a value other than zero was added.
    started: bool,
}

impl ExactSum {
    /// Adds `value`; `None` where the sum can no longer be sure of the fold's result, after
    /// which the caller adds as `Decimal` does.
    pub(super) fn add(&mut self, value: Decimal) -> Option<()> {
        // `Decimal` adds a zero by keeping the other side, scale and sign included.
        if value.is_zero() {
            return Some(());
        }
        let mut mantissa = value.mantissa();
        let value_scale = value.scale();
        if !self.started {
            self.sum = mantissa;
            self.scale = value_scale;
            self.magnitude = mantissa.unsigned_abs();
            self.started = true;
            return Some(());
        }
        // Most values have the sum's scale (amounts in minor units): no multiplication.
        if value_scale > self.scale {
            let up = *POWERS_OF_TEN.get(value_scale.checked_sub(self.scale)? as usize)?;
            self.sum = product(self.sum, up)?;
            self.magnitude = self.magnitude.checked_mul(up.unsigned_abs())?;
            self.scale = value_scale;
        } else if value_scale < self.scale {
            let up = *POWERS_OF_TEN.get(self.scale.checked_sub(value_scale)? as usize)?;
            mantissa = product(mantissa, up)?;
        }
        self.sum = self.sum.checked_add(mantissa)?;
        self.magnitude = self.magnitude.checked_add(mantissa.unsigned_abs())?;
        // A partial sum of zero takes a scale and sign of `Decimal`'s choosing, and the next
        // value replaces it whole.
        if self.magnitude >= MANTISSA_LIMIT || self.sum == 0 {
            return None;
        }
        Some(())
    }

    /// The sum; `None` when no value was other than zero.
    pub(super) fn finish(&self) -> Option<Decimal> {
        if !self.started {
            return None;
        }
        Decimal::try_from_i128_with_scale(self.sum, self.scale).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::exact_sum;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    /// The fold the sums stand for.
    fn folded(values: &[Decimal]) -> Option<Decimal> {
        values
            .iter()
            .try_fold(Decimal::ZERO, |sum, v| sum.checked_add(*v))
    }

    fn any_decimal() -> impl Strategy<Value = Decimal> {
        prop_oneof![
            // Zeros of any scale and sign, and sums that cancel.
            (-2i64..=2, 0u32..=6, any::<bool>()).prop_map(|(m, s, negative)| {
                let mut d = Decimal::new(m, s);
                d.set_sign_negative(negative ^ d.is_sign_negative());
                d
            }),
            // Amounts and quantities as a run makes them.
            (-1_000_000_000i64..1_000_000_000, 0u32..=6).prop_map(|(m, s)| Decimal::new(m, s)),
            // Anything Decimal holds, near its limits too.
            (
                any::<u32>(),
                any::<u32>(),
                any::<u32>(),
                any::<bool>(),
                0u32..=28
            )
                .prop_map(|(lo, mid, hi, negative, s)| Decimal::from_parts(
                    lo, mid, hi, negative, s
                )),
        ]
    }

    proptest! {
        /// Where the sum answers, it is the fold's result to the scale and the sign, as text
        /// too; it answers for every list of a run's amounts whose sum is not zero.
        #[test]
        fn exact_sum_is_the_decimal_fold(values in prop::collection::vec(any_decimal(), 0..12)) {
            let fold = folded(&values);
            if let Some(sum) = exact_sum(values.iter().copied()) {
                let fold = fold.unwrap();
                prop_assert_eq!(sum.to_string(), fold.to_string());
                prop_assert_eq!((sum.scale(), sum.is_sign_negative()), (fold.scale(), fold.is_sign_negative()));
                prop_assert_eq!(sum.mantissa(), fold.mantissa());
            }
        }

        /// A run's amounts (small, scale up to 6) are always summed here unless they add to 0.
        #[test]
        fn small_values_take_the_integer_path(
            values in prop::collection::vec((-1_000_000_000i64..1_000_000_000, 0u32..=6), 1..12),
        ) {
            let values: Vec<Decimal> = values.into_iter().map(|(m, s)| Decimal::new(m, s)).collect();
            let fold = folded(&values).unwrap();
            // A partial sum of zero after a value that is not.
            let cancels = values
                .iter()
                .scan((Decimal::ZERO, false), |(sum, seen), v| {
                    *sum += *v;
                    *seen |= !v.is_zero();
                    Some(*seen && sum.is_zero())
                })
                .any(|zero| zero);
            prop_assert_eq!(exact_sum(values.iter().copied()).is_some(), !fold.is_zero() && !cancels);
        }
    }

    #[test]
    fn zero_and_overflow_are_left_to_decimal() {
        assert_eq!(exact_sum([]), None);
        assert_eq!(exact_sum([Decimal::new(0, 2), Decimal::new(0, 3)]), None);
        // One value is itself, whatever zeros come with it.
        let one = Decimal::new(-1500, 3);
        assert_eq!(
            exact_sum([Decimal::new(0, 5), one, Decimal::ZERO]).map(|d| d.to_string()),
            Some(one.to_string())
        );
        // A zero keeps the other side's scale: 1.5 + 0.00 is 1.5.
        let zero = Decimal::new(0, 2);
        assert_eq!(
            exact_sum([Decimal::new(15, 1), zero]).map(|d| d.to_string()),
            Some("1.5".to_owned())
        );
        assert_eq!(
            exact_sum([Decimal::new(150, 2), Decimal::new(-15, 1)]),
            None
        );
        assert_eq!(exact_sum([Decimal::MAX, Decimal::ONE]), None);
        // Partial sums past the limit: the fold fails or rounds even where the end fits.
        assert_eq!(exact_sum([Decimal::MAX, Decimal::MAX, Decimal::MIN]), None);
        let big = Decimal::from_parts(u32::MAX, u32::MAX, u32::MAX >> 1, false, 2);
        assert_eq!(exact_sum([big, big, -big]), None);
        assert_eq!(
            exact_sum([Decimal::new(150, 2), Decimal::new(2, 0)]).map(|d| d.to_string()),
            Some("3.50".to_owned())
        );
    }
}
