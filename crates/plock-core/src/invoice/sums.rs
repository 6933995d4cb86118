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
    // `Decimal` adds a zero by keeping the other side, scale and sign included.
    let mut values = values.into_iter().filter(|v| !v.is_zero());
    let first = values.next()?;
    // Zero plus one value is that value itself: most of an invoice's products have one line.
    let Some(second) = values.next() else {
        return Some(first);
    };
    let (mut sum, mut scale) = (first.mantissa(), first.scale());
    // The sum of the magnitudes at the current scale: it bounds every partial sum, so no
    // step of the `Decimal` fold overflows (or rounds) while it stays under the limit.
    let mut magnitude = sum.unsigned_abs();
    for value in std::iter::once(second).chain(values) {
        let mut mantissa = value.mantissa();
        let value_scale = value.scale();
        // Most values have the sum's scale (amounts in minor units): no multiplication.
        if value_scale > scale {
            let up = *POWERS_OF_TEN.get(value_scale.checked_sub(scale)? as usize)?;
            sum = product(sum, up)?;
            magnitude = magnitude.checked_mul(up.unsigned_abs())?;
            scale = value_scale;
        } else if value_scale < scale {
            let up = *POWERS_OF_TEN.get(scale.checked_sub(value_scale)? as usize)?;
            mantissa = product(mantissa, up)?;
        }
        sum = sum.checked_add(mantissa)?;
        magnitude = magnitude.checked_add(mantissa.unsigned_abs())?;
        // A partial sum of zero takes a scale and sign of `Decimal`'s choosing, and the next
        // value replaces it whole.
        if magnitude >= MANTISSA_LIMIT || sum == 0 {
            return None;
        }
    }
    Decimal::try_from_i128_with_scale(sum, scale).ok()
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
