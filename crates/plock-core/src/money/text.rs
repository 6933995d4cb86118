//! Decimals written as `rust_decimal` writes them (its `Display`, and its serde's string),
//! without dividing the 96-bit mantissa by ten a digit at a time.
//!
//! A run's invoices at M carry about two million decimals (each line's quantity, unit price
//! and amount, each invoice's total), and the billed usage rows recorded with them two for
//! each row; `rust_decimal`'s writer took 6% of the processor time of recording them. A
//! mantissa that fits 64 bits (every amount and quantity short of 1.8e19 units of its last
//! digit) is written here from its integer digits; any other value, and a negative zero, is
//! left to `rust_decimal`.

use rust_decimal::Decimal;
use serde::{Serialize, Serializer};

/// Room for the longest text written here: a sign, `0.`, and 28 digits (a scale of 28).
const ROOM: usize = 32;

/// A decimal's text, on the stack.
pub(crate) struct DecimalText {
    bytes: [u8; ROOM],
    len: usize,
}

impl DecimalText {
    /// `amount`'s text, or `None` where `rust_decimal` writes it (a mantissa beyond 64 bits,
    /// a negative zero).
    pub(crate) fn new(amount: Decimal) -> Option<DecimalText> {
        let mantissa = u64::try_from(amount.mantissa().unsigned_abs()).ok()?;
        let negative = amount.is_sign_negative();
        if mantissa == 0 && negative {
            return None;
        }
        let scale = usize::try_from(amount.scale()).ok()?;
        let (digits, count) = digits(mantissa);
        let digits = digits.get(digits.len().saturating_sub(count)..)?;
        let mut text = DecimalText {
            bytes: [0; ROOM],
            len: 0,
        };
        if negative {
            text.push(b"-");
        }
        match digits.len().checked_sub(scale) {
            _ if scale == 0 => text.push(if digits.is_empty() { b"0" } else { digits }),
            Some(whole) if whole > 0 => {
                let (whole, fraction) = digits.split_at(whole);
                text.push(whole);
                text.push(b".");
                text.push(fraction);
            }
            _ => {
                text.push(b"0.");
                for _ in digits.len()..scale {
                    text.push(b"0");
                }
                text.push(digits);
            }
        }
        Some(text)
    }

    /// The text.
    pub(crate) fn as_str(&self) -> &str {
        self.bytes
            .get(..self.len)
            .and_then(|bytes| std::str::from_utf8(bytes).ok())
            .unwrap_or_default()
    }

    /// Appends `bytes`; never past [`ROOM`], which the longest text fits.
    fn push(&mut self, bytes: &[u8]) {
        for byte in bytes {
            if let Some(slot) = self.bytes.get_mut(self.len) {
                *slot = *byte;
                self.len = self.len.saturating_add(1);
            }
        }
    }
}

/// `n`'s decimal digits at the end of the array, and how many they are (none for zero).
fn digits(mut n: u64) -> ([u8; 20], usize) {
    let mut digits = [b'0'; 20];
    let mut count: usize = 0;
    for slot in digits.iter_mut().rev() {
        if n == 0 {
            break;
        }
        *slot = b'0'.saturating_add(u8::try_from(n % 10).unwrap_or(0));
        n /= 10;
        count = count.saturating_add(1);
    }
    (digits, count)
}

/// `amount` as `amount.to_string()` writes it.
pub(crate) fn string(amount: Decimal) -> String {
    match DecimalText::new(amount) {
        Some(text) => text.as_str().to_owned(),
        None => amount.to_string(),
    }
}

/// Serialises `amount` as `rust_decimal`'s serde does: its text as a string.
pub(crate) fn serialize<S: Serializer>(amount: &Decimal, serializer: S) -> Result<S::Ok, S::Error> {
    match DecimalText::new(*amount) {
        Some(text) => serializer.serialize_str(text.as_str()),
        None => Serialize::serialize(amount, serializer),
    }
}

/// [`serialize`] for an optional decimal, as serde writes an `Option`.
pub(crate) fn serialize_option<S: Serializer>(
    amount: &Option<Decimal>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match amount {
        Some(amount) => serializer.serialize_some(&Text(*amount)),
        None => serializer.serialize_none(),
    }
}

/// A decimal serialised by [`serialize`].
struct Text(Decimal);

impl Serialize for Text {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn check(amount: Decimal) {
        assert_eq!(string(amount), amount.to_string(), "{amount:?}");
        let ours = serde_json::to_string(&Text(amount)).unwrap();
        assert_eq!(ours, serde_json::to_string(&amount).unwrap(), "{amount:?}");
    }

    #[test]
    fn edges_are_written_as_rust_decimal_writes_them() {
        for (lo, mid, hi) in [(0, 0, 0), (1, 0, 0), (u32::MAX, u32::MAX, 0), (0, 0, 1)] {
            for scale in [0, 1, 2, 6, 19, 20, 21, 28] {
                for negative in [false, true] {
                    check(Decimal::from_parts(lo, mid, hi, negative, scale));
                }
            }
        }
        check(Decimal::MAX);
        check(Decimal::MIN);
        check(-Decimal::ZERO);
        assert!(DecimalText::new(Decimal::new(-12345, 2)).is_some());
        assert_eq!(string(Decimal::new(-12345, 2)), "-123.45");
        assert_eq!(string(Decimal::new(5, 3)), "0.005");
    }

    proptest! {
        #[test]
        fn decimals_are_written_as_rust_decimal_writes_them(
            lo in any::<u32>(),
            mid in any::<u32>(),
            hi in prop_oneof![Just(0u32), any::<u32>()],
            negative in any::<bool>(),
            scale in 0u32..=28,
        ) {
            check(Decimal::from_parts(lo, mid, hi, negative, scale));
        }
    }
}
