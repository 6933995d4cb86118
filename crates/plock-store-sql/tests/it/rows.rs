//! What each column of a row holds.

use plock_core::contract::fixtures::{aid, date, subscription};
use plock_core::money::Currency;
use plock_store_sql::SqlValue;
use plock_store_sql::rows::{Row, SubscriptionRow};
use rust_decimal::Decimal;

#[test]
fn a_paused_subscription_row_holds_its_state_and_fields_by_column() {
    let mut paused = subscription("s", "a", Currency::SEK, true);
    paused.pause(date(2025, 3, 1)).unwrap();
    let owner = aid("m");
    let row = SubscriptionRow {
        subscription: &paused,
        owner: &owner,
        stored: false,
    };
    let values = row
        .values(&[
            "owner",
            "state",
            "paused_since",
            "interval_months",
            "minimum_invoice_amount",
            "ends_on",
        ])
        .unwrap();
    assert_eq!(
        values,
        [
            SqlValue::Text("m".into()),
            SqlValue::Text("paused".into()),
            SqlValue::Text("2025-03-01".into()),
            SqlValue::Int(1),
            SqlValue::Decimal(Decimal::new(500, 2)),
            SqlValue::Null,
        ]
    );
}
