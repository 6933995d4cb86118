//! Tests of subscriptions: their states, items and billing.

use super::*;
use crate::id::{MetricId, ProductId};
use crate::pricing::{Tier, Tiers};
use rust_decimal::dec;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

pub(crate) fn spec() -> SubscriptionSpec {
    SubscriptionSpec {
        id: SubscriptionId::new("sub-1").unwrap(),
        account: AccountId::new("acme").unwrap(),
        start: d(2025, 1, 1),
        end: None,
        interval: BillingInterval::MONTHLY,
        mode: PeriodMode::Calendar,
        anchor: None,
        practice: BillingPractice::InAdvance,
        currency: Currency::EUR,
        items: vec![Item::flat_fee(
            ProductId::new("licence").unwrap(),
            dec!(450),
            dec!(1),
        )],
        minimum_invoice_amount: None,
    }
}

#[test]
fn validation_rules() {
    assert!(Subscription::new(spec(), Currency::EUR).is_ok());
    let err = Subscription::new(spec(), Currency::SEK).unwrap_err();
    assert_eq!(
        err.to_string(),
        "subscription \"sub-1\" is in EUR but its account bills in SEK"
    );
    let mut s = spec();
    s.end = Some(s.start);
    assert!(matches!(
        Subscription::new(s, Currency::EUR),
        Err(SubscriptionError::Schedule { .. })
    ));
    let mut s = spec();
    s.anchor = Some(d(2025, 3, 1));
    assert!(matches!(
        Subscription::new(s, Currency::EUR),
        Err(SubscriptionError::Schedule { .. })
    ));
    let mut s = spec();
    s.items.clear();
    assert!(
        Subscription::new(s, Currency::EUR)
            .unwrap_err()
            .to_string()
            .contains("at least one item")
    );
    let mut s = spec();
    s.items = vec![s.items[0].clone(); MAX_ITEMS];
    assert!(Subscription::new(s.clone(), Currency::EUR).is_ok());
    s.items.push(s.items[0].clone());
    assert!(Subscription::new(s, Currency::EUR).is_err());
    let mut s = spec();
    s.minimum_invoice_amount = Some(dec!(-0.01));
    assert!(
        Subscription::new(s, Currency::EUR)
            .unwrap_err()
            .to_string()
            .contains("must not be negative")
    );
    let mut s = spec();
    s.items = vec![Item {
        metric: None,
        ..Item::usage(
            ProductId::new("api").unwrap(),
            MetricId::new("calls").unwrap(),
            PriceModel::PerUnit {
                unit_price: dec!(1),
            },
        )
    }];
    assert!(
        Subscription::new(s, Currency::EUR)
            .unwrap_err()
            .to_string()
            .contains("needs the metric")
    );
    let mut s = spec();
    s.items = vec![Item::usage(
        ProductId::new("api").unwrap(),
        MetricId::new("calls").unwrap(),
        PriceModel::Package {
            size: dec!(0),
            price: dec!(1),
        },
    )];
    assert!(matches!(
        Subscription::new(s, Currency::EUR),
        Err(SubscriptionError::Price { .. })
    ));
}

#[test]
fn transitions() {
    let mut s = Subscription::new(spec(), Currency::EUR).unwrap();
    assert_eq!(s.state(), SubscriptionState::Draft);
    assert!(s.pause(d(2025, 2, 1)).is_err());
    assert!(s.end(d(2025, 2, 1)).is_err());
    s.activate().unwrap();
    assert!(s.activate().is_err());
    assert!(s.resume(d(2025, 2, 1)).is_err());
    s.pause(d(2025, 2, 1)).unwrap();
    let err = s.resume(d(2025, 1, 31)).unwrap_err();
    assert_eq!(
        err.to_string(),
        "subscription \"sub-1\" is Paused since 2025-02-01: cannot resume"
    );
    s.resume(d(2025, 3, 1)).unwrap();
    assert_eq!(s.state(), SubscriptionState::Active);
    assert!(
        s.end(d(2025, 1, 1)).is_err(),
        "end on the start day is refused"
    );
    s.end(d(2025, 6, 15)).unwrap();
    assert_eq!(s.state(), SubscriptionState::Ended);
    assert_eq!(s.schedule().end(), Some(d(2025, 6, 15)));
    assert!(s.end(d(2025, 7, 1)).is_err());
    assert!(s.pause(d(2025, 7, 1)).is_err());
}

#[test]
fn timing_per_item() {
    let licence = Item::flat_fee(ProductId::new("l").unwrap(), dec!(1), dec!(1));
    assert_eq!(
        licence.fixed_timing(BillingPractice::InArrears),
        BillingPractice::InArrears
    );
    let own = licence.clone().with_practice(BillingPractice::InAdvance);
    assert_eq!(
        own.fixed_timing(BillingPractice::InArrears),
        BillingPractice::InAdvance
    );
    let commit = Item::usage(
        ProductId::new("c").unwrap(),
        MetricId::new("users").unwrap(),
        PriceModel::Commitment {
            committed: dec!(100),
            unit_price: dec!(5),
        },
    );
    assert_eq!(
        commit.fixed_timing(BillingPractice::InArrears),
        BillingPractice::InAdvance
    );
    let tiers = Tiers::new(vec![Tier::unit(None, dec!(1))]).unwrap();
    assert!(!PriceModel::Graduated { tiers }.is_fixed());
}

#[test]
fn serde_round_trip_keeps_state_and_validates() {
    let mut s = Subscription::new(spec(), Currency::EUR).unwrap();
    s.activate().unwrap();
    s.pause(d(2025, 2, 1)).unwrap();
    let json = serde_json::to_string(&s).unwrap();
    assert_eq!(serde_json::from_str::<Subscription>(&json).unwrap(), s);
    let broken = json.replace("\"items\":[", "\"items\":[],\"x\":[");
    assert!(serde_json::from_str::<Subscription>(&broken).is_err());
}

#[test]
fn an_item_takes_120_bytes_and_its_changes_are_written_as_a_list() {
    // Items are held by the million: their price changes are one thin pointer, allocated only
    // once there is a change. A larger item shows here first.
    #[cfg(target_pointer_width = "64")]
    assert_eq!(std::mem::size_of::<Item>(), 120);
    let licence = ProductId::new("licence").unwrap();
    let mut sub = Subscription::new(spec(), Currency::EUR).unwrap();
    let unchanged = serde_json::to_value(&sub.items()[0]).unwrap();
    assert!(unchanged.get("changes").is_none());
    sub.change_item(
        &licence,
        Item::flat_fee(licence.clone(), dec!(500), dec!(1)),
        d(2025, 3, 1),
    )
    .unwrap();
    let item = &sub.items()[0];
    assert_eq!(item.changes.len(), 1);
    let json = serde_json::to_value(item).unwrap();
    assert_eq!(json["changes"].as_array().map(Vec::len), Some(1));
    assert_eq!(json["changes"][0]["from"], "2025-03-01");
    let read: Item = serde_json::from_value(json).unwrap();
    assert_eq!(&read, item);
    assert_eq!(PriceChanges::from(Vec::new()), PriceChanges::default());
}
