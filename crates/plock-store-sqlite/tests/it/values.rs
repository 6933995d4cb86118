//! Values that must come back exactly as written.

use chrono::{DateTime, TimeZone, Utc};
use plock_core::account::*;
use plock_core::id::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::store::*;
use plock_core::usage::*;
use plock_store_sqlite::SqliteStore;
use rust_decimal::Decimal;

use plock_core::contract::fixtures::account_with_usage;

use crate::support::{account, aid, date, subscription};

fn check_usage_round_trip(timestamp: DateTime<Utc>, quantity: &str) {
    let mut store = SqliteStore::in_memory().unwrap();
    let quantity = Decimal::from_str_exact(quantity).unwrap();
    let record = UsageRecord::new(
        AccountKey::new("key-a").unwrap(),
        MetricId::new("calls").unwrap(),
        timestamp,
        quantity,
        Some(RecordId::new("r").unwrap()),
    )
    .unwrap();
    store
        .apply(account_with_usage(vec![record.clone()]))
        .unwrap();
    let back = store.company().unwrap().usage;
    assert_eq!(back, vec![record.clone()], "{timestamp} {quantity}");
    let kept = &back[0];
    assert_eq!(kept.quantity().scale(), quantity.scale(), "{quantity}");
    assert_eq!(kept.timestamp(), timestamp);
    let day = timestamp.date_naive();
    let period = Period::new(day, day.succ_opt().unwrap()).unwrap();
    let found = store
        .usage(&[AccountKey::new("key-a").unwrap()], &period)
        .unwrap();
    assert_eq!(found, vec![record], "found by its day");
}

#[test]
fn usage_keeps_its_exact_quantity_and_time() {
    let cases = [
        (
            Utc.with_ymd_and_hms(2025, 1, 31, 23, 59, 59).unwrap(),
            "1.50",
        ),
        (Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap(), "0"),
        (
            Utc.with_ymd_and_hms(1969, 12, 31, 23, 0, 0).unwrap(),
            "0.000",
        ),
        (Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap(), "1"),
        (Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap(), "2"),
        (Utc.with_ymd_and_hms(12_000, 6, 1, 0, 0, 0).unwrap(), "3"),
        (
            Utc.timestamp_opt(1_700_000_000, 123_456_789).unwrap(),
            // The largest quantity a record may have, and 28 significant digits below it.
            "9223372036854775807",
        ),
        (
            Utc.timestamp_opt(1_700_000_000, 7).unwrap(),
            "9223372036854775806.999999999",
        ),
        (
            Utc.timestamp_opt(1_700_000_000, 1).unwrap(),
            "0.0000000000000000000000000001",
        ),
    ];
    for (timestamp, quantity) in cases {
        check_usage_round_trip(timestamp, quantity);
    }
}

#[test]
fn accounts_and_subscriptions_keep_every_field() {
    let mut store = SqliteStore::in_memory().unwrap();
    let contact = Contact::new(&ContactInput {
        email: Some("billing@acme.se"),
        phone: Some("+46 8 123 45"),
        address_lines: vec!["Storgatan 1", "111 22 Stockholm"],
        country: Some("se"),
        organisation_number: Some("556677-8899"),
    })
    .unwrap();
    let mut paused = subscription("s-paused", "a", Currency::SEK, true);
    paused.pause(date(2025, 3, 1)).unwrap();
    let mut ended = subscription("s-ended", "a", Currency::SEK, true);
    ended.end(date(2025, 6, 1)).unwrap();
    let draft = subscription("s-draft", "a", Currency::SEK, false);
    store
        .apply(Batch {
            changes: vec![
                Change::AddAccount {
                    account: account("a", "key-a", Currency::SEK),
                },
                Change::EditAccount {
                    id: aid("a"),
                    name: None,
                    contact: Some(contact.clone()),
                    currency: None,
                },
                Change::Tag {
                    id: aid("a"),
                    tag: Tag::new("Dental").unwrap(),
                },
                Change::SetExternalId {
                    id: aid("a"),
                    system: ExternalSystem::Other("pipedrive".into()),
                    external_id: ExternalId::new("P 7").unwrap(),
                },
                Change::PutSubscription {
                    subscription: paused.clone(),
                },
                Change::PutSubscription {
                    subscription: ended.clone(),
                },
                Change::PutSubscription {
                    subscription: draft.clone(),
                },
                Change::AddDiscovered {
                    account: account("p", "key-p", Currency::EUR),
                },
            ],
        })
        .unwrap();
    let a = store.account(&aid("a")).unwrap().unwrap();
    assert_eq!(a.contact(), &contact);
    assert_eq!(a.tags().iter().next().unwrap().as_str(), "Dental");
    assert_eq!(
        store
            .account_by_external_id(
                &ExternalSystem::Other("pipedrive".into()),
                &ExternalId::new("P 7").unwrap()
            )
            .unwrap()
            .unwrap(),
        a
    );
    assert_eq!(
        store.account(&aid("p")).unwrap().unwrap().state(),
        AccountState::Pending
    );
    for expected in [paused, ended, draft] {
        let back = store.subscription(expected.id()).unwrap().unwrap();
        assert_eq!(back, expected);
        assert_eq!(back.state(), expected.state());
    }
}
