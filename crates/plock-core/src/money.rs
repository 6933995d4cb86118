//! Money and currencies (docs/domain.md, section 2).
//!
//! Amounts are exact [`Decimal`]s. Every arithmetic step is checked: overflow and currency
//! mismatch are error values, never panics and never silent conversions.
//!
//! A [`Money`] is an exact amount and its [`Currency`]. Sums, differences and products are
//! `checked_*` methods that return a [`MoneyError`] instead of wrapping or panicking, and two
//! currencies never mix. An amount is rounded once, to its currency's minor units, midpoint away
//! from zero ([`Currency::round`]).
//!
//! ```
//! use plock_core::money::{Currency, Money, MoneyError};
//! use rust_decimal::dec;
//!
//! let licence = Money::new(dec!(405.00), Currency::EUR);
//! let calls = Money::new(dec!(25.005), Currency::EUR);
//! let total = licence.checked_add(calls)?;
//! assert_eq!(total.amount(), dec!(430.005));
//! assert_eq!(total.rounded().to_string(), "430.01 EUR");
//!
//! // Euros and kronor never add up.
//! let kronor = Money::new(dec!(100), Currency::SEK);
//! assert!(matches!(
//!     total.checked_add(kronor),
//!     Err(MoneyError::CurrencyMismatch { left: Currency::EUR, right: Currency::SEK })
//! ));
//! # Ok::<(), MoneyError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

pub(crate) mod text;

/// An ISO 4217 currency that plock knows the minor units of.
///
/// The enum is closed on purpose: a new currency does not compile until its minor units are
/// stated in [`Currency::minor_units`].
///
/// ```
/// use plock_core::Currency;
/// use plock_core::money::MoneyError;
///
/// let sek: Currency = "SEK".parse()?;
/// assert_eq!((sek.code(), sek.minor_units()), ("SEK", 2));
/// assert_eq!(Currency::KWD.minor_units(), 3);
/// // Codes are upper case; a guess is never made.
/// let refused = "sek".parse::<Currency>().unwrap_err();
/// assert_eq!(refused, MoneyError::UnknownCurrency { code: "sek".into() });
/// # Ok::<(), MoneyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Currency {
    /// Swedish krona.
    SEK,
    /// Euro.
    EUR,
    /// US dollar.
    USD,
    /// Pound sterling.
    GBP,
    /// Norwegian krone.
    NOK,
    /// Danish krone.
    DKK,
    /// Japanese yen (no minor unit).
    JPY,
    /// Kuwaiti dinar (three minor digits).
    KWD,
    /// Bahraini dinar (three minor digits).
    BHD,
}

impl Currency {
    /// Every supported currency, in code order of declaration.
    pub const ALL: [Currency; 9] = [
        Currency::SEK,
        Currency::EUR,
        Currency::USD,
        Currency::GBP,
        Currency::NOK,
        Currency::DKK,
        Currency::JPY,
        Currency::KWD,
        Currency::BHD,
    ];

    /// The number of decimal digits of the currency's minor unit (ISO 4217 exponent).
    pub const fn minor_units(self) -> u32 {
        match self {
            Currency::SEK
            | Currency::EUR
            | Currency::USD
            | Currency::GBP
            | Currency::NOK
            | Currency::DKK => 2,
            Currency::JPY => 0,
            Currency::KWD | Currency::BHD => 3,
        }
    }

    /// The three-letter ISO 4217 code.
    pub const fn code(self) -> &'static str {
        match self {
            Currency::SEK => "SEK",
            Currency::EUR => "EUR",
            Currency::USD => "USD",
            Currency::GBP => "GBP",
            Currency::NOK => "NOK",
            Currency::DKK => "DKK",
            Currency::JPY => "JPY",
            Currency::KWD => "KWD",
            Currency::BHD => "BHD",
        }
    }

    /// Rounds an exact amount to this currency's minor units: the one rounding rule of plock,
    /// midpoint away from zero (2.345 EUR -> 2.35, -2.345 EUR -> -2.35).
    ///
    /// ```
    /// use plock_core::Currency;
    /// use rust_decimal::dec;
    ///
    /// assert_eq!(Currency::EUR.round(dec!(2.345)), dec!(2.35));
    /// assert_eq!(Currency::EUR.round(dec!(-2.345)), dec!(-2.35));
    /// // Not banker's rounding: 2.5 yen is 3, not 2.
    /// assert_eq!(Currency::JPY.round(dec!(2.5)), dec!(3));
    /// assert_eq!(Currency::BHD.round(dec!(1.0005)), dec!(1.001));
    /// ```
    pub fn round(self, amount: Decimal) -> Decimal {
        round_fixed(amount, self.minor_units()).unwrap_or_else(|| {
            amount
                .round_dp_with_strategy(self.minor_units(), RoundingStrategy::MidpointAwayFromZero)
        })
    }
}

/// `amount` rounded to `units` decimals, midpoint away from zero, on its mantissa as an
/// integer: one division, where `Decimal`'s rounding divides limb by limb (a billing run
/// rounds every line, and that was 8% of its instructions). The result is the one
/// `round_dp_with_strategy` gives, to the scale (a proptest checks it); `None` leaves zero
/// and the rare case it does not cover to it.
fn round_fixed(amount: Decimal, units: u32) -> Option<Decimal> {
    let scale = amount.scale();
    if scale <= units {
        return Some(amount);
    }
    // Zero's sign is Decimal's business.
    if amount.is_zero() {
        return None;
    }
    let mantissa = amount.mantissa();
    let divisor = *crate::mantissa::POWERS_OF_TEN.get(scale.checked_sub(units)? as usize)?;
    // Most amounts fit in 64 bits: one machine division, where an `i128` division calls a
    // routine (a quarter of the rounding's instructions).
    if let (Ok(mantissa), Ok(divisor)) = (i64::try_from(mantissa), i64::try_from(divisor)) {
        let rounded = half_away_from_zero_64(mantissa, divisor)?;
        return Decimal::try_new(rounded, units).ok();
    }
    let rounded = half_away_from_zero(mantissa, divisor)?;
    Decimal::try_from_i128_with_scale(rounded, units).ok()
}

/// Defines `$name`: `value / divisor` (a power of ten above 1) on `$int`s rounded to an
/// integer, midpoint away from zero; `None` where a step would overflow. One definition for
/// both widths, so the `i64` path (one machine division) cannot drift from the `i128` one.
macro_rules! half_away_from_zero {
    ($name:ident, $int:ty) => {
        fn $name(value: $int, divisor: $int) -> Option<$int> {
            let quotient = value.checked_div(divisor)?;
            let remainder = value.checked_rem(divisor)?;
            if remainder.unsigned_abs().checked_mul(2)? >= divisor.unsigned_abs() {
                quotient.checked_add(value.signum())
            } else {
                Some(quotient)
            }
        }
    };
}

half_away_from_zero!(half_away_from_zero, i128);
half_away_from_zero!(half_away_from_zero_64, i64);

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl FromStr for Currency {
    type Err = MoneyError;

    /// Parses an upper-case ISO 4217 code. Surrounding white space is ignored; lower case is
    /// rejected rather than guessed.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let code = s.trim();
        Currency::ALL
            .into_iter()
            .find(|c| c.code() == code)
            .ok_or_else(|| MoneyError::UnknownCurrency {
                code: crate::id::shown(s),
            })
    }
}

/// Why a money operation was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// A currency code plock does not know.
    #[error(
        "unknown currency code {code:?}: expected one of SEK, EUR, USD, GBP, NOK, DKK, JPY, KWD, BHD"
    )]
    UnknownCurrency {
        /// The code as it was given, cut to its first 100 characters.
        code: String,
    },
    /// Two amounts of different currencies met; plock never converts.
    #[error("currency mismatch: cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// The currency of the left operand.
        left: Currency,
        /// The currency of the right operand.
        right: Currency,
    },
    /// The exact result does not fit in a `Decimal`.
    #[error("amount overflow in {operation} of {left} and {right}")]
    Overflow {
        /// What was being computed (`"addition"`, `"multiplication"`, ...).
        operation: &'static str,
        /// The left operand.
        left: Decimal,
        /// The right operand.
        right: Decimal,
    },
}

/// An exact amount in one currency.
///
/// `Money` has no `Add` impl on purpose: addition can fail (overflow, mismatch), so it is
/// [`Money::checked_add`].
///
/// ```
/// use plock_core::{Currency, Money};
/// use rust_decimal::dec;
///
/// let fees = [
///     Money::new(dec!(405.00), Currency::EUR),
///     Money::new(dec!(405.00), Currency::EUR),
///     Money::new(dec!(25.00), Currency::EUR),
/// ];
/// let total = Money::sum(Currency::EUR, fees)?;
/// assert_eq!(total.to_string(), "835.00 EUR");
/// // A tenth of it, exact until it is rounded.
/// let share = total.checked_mul(dec!(0.1))?;
/// assert_eq!(share.amount(), dec!(83.5));
/// assert_eq!(share.rounded().amount(), dec!(83.50));
/// # Ok::<(), plock_core::money::MoneyError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    #[serde(serialize_with = "text::serialize")]
    amount: Decimal,
    currency: Currency,
}

impl Money {
    /// An amount of `currency`, kept at full precision.
    ///
    /// ```
    /// use plock_core::{Currency, Money};
    /// use rust_decimal::dec;
    ///
    /// let price = Money::new(dec!(0.0025), Currency::USD);
    /// // Kept at full precision; shown with all its digits.
    /// assert_eq!(price.amount(), dec!(0.0025));
    /// assert_eq!(price.to_string(), "0.0025 USD");
    /// assert_eq!(Money::new(dec!(7), Currency::JPY).to_string(), "7 JPY");
    /// ```
    pub const fn new(amount: Decimal, currency: Currency) -> Money {
        Money { amount, currency }
    }

    /// Zero in `currency`.
    pub const fn zero(currency: Currency) -> Money {
        Money::new(Decimal::ZERO, currency)
    }

    /// The exact amount.
    pub const fn amount(&self) -> Decimal {
        self.amount
    }

    /// The currency.
    pub const fn currency(&self) -> Currency {
        self.currency
    }

    /// This amount rounded to the currency's minor units, midpoint away from zero.
    pub fn rounded(&self) -> Money {
        Money::new(self.currency.round(self.amount), self.currency)
    }

    /// Is the amount exactly zero?
    pub fn is_zero(&self) -> bool {
        self.amount.is_zero()
    }

    /// Is the amount below zero?
    pub fn is_negative(&self) -> bool {
        self.amount.is_sign_negative() && !self.amount.is_zero()
    }

    /// `self + other`.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ, [`MoneyError::Overflow`]
    /// when the sum does not fit.
    pub fn checked_add(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_add(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow {
                operation: "addition",
                left: self.amount,
                right: other.amount,
            })
    }

    /// `self - other`.
    ///
    /// # Errors
    /// As [`Money::checked_add`].
    pub fn checked_sub(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        self.amount
            .checked_sub(other.amount)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow {
                operation: "subtraction",
                left: self.amount,
                right: other.amount,
            })
    }

    /// `self x factor`, exact.
    ///
    /// # Errors
    /// [`MoneyError::Overflow`] when the product does not fit.
    pub fn checked_mul(&self, factor: Decimal) -> Result<Money, MoneyError> {
        self.amount
            .checked_mul(factor)
            .map(|amount| Money::new(amount, self.currency))
            .ok_or(MoneyError::Overflow {
                operation: "multiplication",
                left: self.amount,
                right: factor,
            })
    }

    /// The larger of two amounts.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ.
    pub fn max(&self, other: Money) -> Result<Money, MoneyError> {
        self.same_currency(other)?;
        Ok(if other.amount > self.amount {
            other
        } else {
            *self
        })
    }

    /// Compares two amounts of the same currency.
    ///
    /// # Errors
    /// [`MoneyError::CurrencyMismatch`] when the currencies differ.
    pub fn checked_cmp(&self, other: Money) -> Result<std::cmp::Ordering, MoneyError> {
        self.same_currency(other)?;
        Ok(self.amount.cmp(&other.amount))
    }

    /// Sums amounts that must all be in `currency`.
    ///
    /// # Errors
    /// The first mismatch or overflow met.
    pub fn sum<I: IntoIterator<Item = Money>>(
        currency: Currency,
        items: I,
    ) -> Result<Money, MoneyError> {
        items
            .into_iter()
            .try_fold(Money::zero(currency), |acc, m| acc.checked_add(m))
    }

    fn same_currency(&self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }
}

impl fmt::Display for Money {
    /// `1234.50 SEK`: the amount at the currency's minor units when it has no more digits,
    /// else at full precision (a unit price may carry more).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let units = self.currency.minor_units();
        let mut shown = self.amount.normalize();
        if shown.scale() < units {
            shown.rescale(units);
        }
        write!(f, "{shown} {}", self.currency)
    }
}

/// `amount` as `amount.to_string()` writes it, without `core::fmt` for any amount whose
/// mantissa fits 64 bits: stores write every billed amount and quantity as text.
///
/// ```
/// use plock_core::money::decimal_text;
/// use rust_decimal::dec;
///
/// assert_eq!(decimal_text(dec!(-0.050)), "-0.050");
/// assert_eq!(decimal_text(dec!(1234.5)), dec!(1234.5).to_string());
/// ```
pub fn decimal_text(amount: Decimal) -> String {
    text::string(amount)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use rust_decimal::dec;

    #[test]
    fn minor_units_follow_iso_4217() {
        let units: Vec<(&str, u32)> = Currency::ALL
            .iter()
            .map(|c| (c.code(), c.minor_units()))
            .collect();
        assert_eq!(
            units,
            vec![
                ("SEK", 2),
                ("EUR", 2),
                ("USD", 2),
                ("GBP", 2),
                ("NOK", 2),
                ("DKK", 2),
                ("JPY", 0),
                ("KWD", 3),
                ("BHD", 3)
            ]
        );
    }

    #[test]
    fn parse_rejects_unknown_and_lower_case() {
        assert_eq!("SEK".parse::<Currency>(), Ok(Currency::SEK));
        assert_eq!(" EUR ".parse::<Currency>(), Ok(Currency::EUR));
        let err = "sek".parse::<Currency>().unwrap_err();
        assert_eq!(err, MoneyError::UnknownCurrency { code: "sek".into() });
        assert!("XXX".parse::<Currency>().is_err());
        assert!("".parse::<Currency>().is_err());
    }

    #[test]
    fn rounding_is_midpoint_away_from_zero() {
        assert_eq!(Currency::EUR.round(dec!(2.345)), dec!(2.35));
        assert_eq!(Currency::EUR.round(dec!(2.355)), dec!(2.36));
        assert_eq!(Currency::EUR.round(dec!(-2.345)), dec!(-2.35));
        assert_eq!(Currency::JPY.round(dec!(0.5)), dec!(1));
        assert_eq!(Currency::KWD.round(dec!(1.0005)), dec!(1.001));
    }

    #[test]
    fn mixing_currencies_is_an_error() {
        let sek = Money::new(dec!(1), Currency::SEK);
        let eur = Money::new(dec!(1), Currency::EUR);
        assert_eq!(
            sek.checked_add(eur),
            Err(MoneyError::CurrencyMismatch {
                left: Currency::SEK,
                right: Currency::EUR
            })
        );
        assert!(sek.checked_sub(eur).is_err());
        assert!(sek.checked_cmp(eur).is_err());
        assert!(Money::sum(Currency::SEK, [sek, eur]).is_err());
    }

    #[test]
    fn overflow_is_an_error_not_a_panic() {
        let big = Money::new(Decimal::MAX, Currency::USD);
        assert!(matches!(
            big.checked_add(big),
            Err(MoneyError::Overflow { .. })
        ));
        assert!(matches!(
            big.checked_mul(dec!(2)),
            Err(MoneyError::Overflow { .. })
        ));
    }

    #[test]
    fn display_shows_minor_units() {
        assert_eq!(
            Money::new(dec!(1234.5), Currency::SEK).to_string(),
            "1234.50 SEK"
        );
        assert_eq!(Money::new(dec!(7), Currency::JPY).to_string(), "7 JPY");
        assert_eq!(
            Money::new(dec!(0.12345), Currency::EUR).to_string(),
            "0.12345 EUR"
        );
    }

    #[test]
    fn serde_keeps_scale() {
        let m = Money::new(dec!(12.30), Currency::EUR);
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(json, r#"{"amount":"12.30","currency":"EUR"}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).unwrap(), m);
    }

    proptest! {
        /// The integer rounding is Decimal's, to the scale and the sign of zero.
        #[test]
        fn fixed_rounding_is_decimals(
            negative_zero in any::<bool>(),
            mantissa in prop_oneof![
                // Midpoints: ...5 at the first dropped digit, and one past them.
                (-100_000i128..100_000).prop_map(|k| k * 10 + 5),
                (-100_000i128..100_000).prop_map(|k| k * 100 + 50),
                -10_000i128..10_000, any::<i64>().prop_map(i128::from), (-(1i128 << 95))..(1i128 << 95)],
            scale in 0u32..=28,
            units in 0u32..=3,
        ) {
            let mut amount = Decimal::from_i128_with_scale(mantissa, scale);
            if negative_zero && mantissa == 0 {
                amount.set_sign_negative(true);
            }
            let expected = amount.round_dp_with_strategy(units, RoundingStrategy::MidpointAwayFromZero);
            let fast = round_fixed(amount, units);
            if let Some(fast) = fast {
                prop_assert_eq!(fast.to_string(), expected.to_string());
                prop_assert_eq!(fast.is_sign_negative(), expected.is_sign_negative());
            }
        }
    }

    proptest! {
        /// Rounding is idempotent, lands on the minor units and moves the amount by at most
        /// half a minor unit.
        #[test]
        fn rounding_moves_at_most_half_a_minor_unit(mantissa in any::<i64>(), scale in 0u32..=10, c in 0usize..9) {
            let currency = Currency::ALL[c];
            let amount = Decimal::new(mantissa, scale);
            let rounded = currency.round(amount);
            prop_assert_eq!(currency.round(rounded), rounded);
            prop_assert!(rounded.scale() <= currency.minor_units());
            let half = Decimal::new(5, currency.minor_units() + 1);
            prop_assert!((rounded - amount).abs() <= half);
        }
    }
}
