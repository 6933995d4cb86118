//! Integer arithmetic on `Decimal` mantissas, shared by the fast sums of invoices and the
//! fast usage prices: powers of ten looked up, and products of 64-bit values in one
//! multiplication.

/// `10^n` for the scales `Decimal` has (0 to 28), looked up: a loop of multiplications
/// per value cost more than the `Decimal` addition it replaces.
#[allow(
    clippy::indexing_slicing,
    reason = "evaluated when building: an index out of range fails the build"
)]
pub(crate) const POWERS_OF_TEN: [i128; 29] = {
    let mut powers = [1i128; 29];
    let mut n = 1;
    while n < powers.len() {
        powers[n] = powers[n - 1] * 10;
        n += 1;
    }
    powers
};

/// `a x b`; a product of two 64-bit values is one machine multiplication, never an overflow
/// (under 2^126), where `i128::checked_mul` calls a routine.
pub(crate) fn product(a: i128, b: i128) -> Option<i128> {
    match (i64::try_from(a), i64::try_from(b)) {
        (Ok(a), Ok(b)) => Some(i128::from(a).wrapping_mul(i128::from(b))),
        _ => a.checked_mul(b),
    }
}

#[cfg(test)]
mod tests {
    use super::{POWERS_OF_TEN, product};
    use proptest::prelude::*;

    #[test]
    fn powers_of_ten_are_those_of_checked_pow() {
        for (n, power) in (0u32..).zip(POWERS_OF_TEN) {
            assert_eq!(Some(power), 10i128.checked_pow(n));
        }
    }

    proptest! {
        /// One multiplication or the checked one: the same product, the same overflow.
        #[test]
        fn product_is_checked_mul(a in any::<i128>(), b in any::<i128>(), narrow in any::<bool>()) {
            let (a, b) = if narrow { (a >> 65, b >> 65) } else { (a, b) };
            prop_assert_eq!(product(a, b), a.checked_mul(b));
        }
    }
}
