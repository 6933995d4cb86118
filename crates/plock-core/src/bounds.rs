//! The limits on numbers where data enters (usage records, prices, item quantities), chosen so
//! that no single record or price can overflow a billing run: a quantity of at most
//! [`MAX_QUANTITY`] times a price of at most [`MAX_PRICE`] is below 10^28, and `Decimal` holds
//! up to about 7.9 x 10^28. A value past a limit is refused by name where it enters (the CSV
//! imports, [`UsageRecord::new`](crate::UsageRecord::new), [`PriceModel::validate`](crate::PriceModel::validate),
//! [`Tiers::new`](crate::pricing::Tiers::new), and so every store write), never later in a run.

use rust_decimal::Decimal;

/// The largest quantity a usage record, an item (licences, a commitment, a package size) or a
/// tier bound may have: 9,223,372,036,854,775,807 (2^63 - 1), the usage table's range.
pub const MAX_QUANTITY: Decimal = Decimal::from_parts(0xFFFF_FFFF, 0x7FFF_FFFF, 0, false, 0);

/// The largest price: a flat fee, a unit price, a package price or a tier's fee may be at
/// most 1,000,000,000 (in the currency's major unit).
pub const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000_000, 0, 0, false, 0);

/// Why `quantity` is refused, if it is above [`MAX_QUANTITY`].
pub(crate) fn quantity_too_large(quantity: Decimal) -> Option<&'static str> {
    (quantity > MAX_QUANTITY).then_some("is above the largest quantity, 9223372036854775807")
}

/// Why `price` is refused, if it is above [`MAX_PRICE`].
pub(crate) fn price_too_large(price: Decimal) -> Option<&'static str> {
    (price > MAX_PRICE).then_some("is above the largest price, 1000000000")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_are_what_they_say_and_their_product_fits() {
        assert_eq!(MAX_QUANTITY.to_string(), i64::MAX.to_string());
        assert_eq!(MAX_PRICE.to_string(), "1000000000");
        let product = MAX_QUANTITY.checked_mul(MAX_PRICE).unwrap();
        assert!(product < Decimal::MAX / Decimal::from(7));
        assert_eq!(quantity_too_large(MAX_QUANTITY), None);
        assert!(quantity_too_large(MAX_QUANTITY + Decimal::new(5, 1)).is_some());
        assert_eq!(price_too_large(MAX_PRICE), None);
        assert!(price_too_large(MAX_PRICE + Decimal::new(1, 2)).is_some());
    }
}
