//! A usage file imported twice is stored once.

use chrono::NaiveDate;
use plock_core::account::{AccountName, Contact};
use plock_core::import::parse_usage;
use plock_core::store::{Batch, Change, Store};
use plock_core::{Account, AccountId, AccountKey, Currency};
use plock_store_memory::MemoryStore;

#[test]
fn usage_imported_twice_is_stored_once() {
    let mut store = MemoryStore::new();
    let account = Account::new(
        AccountId::new("acme").unwrap(),
        AccountKey::new("acme").unwrap(),
        AccountName::new("Acme").unwrap(),
        Contact::default(),
        Currency::EUR,
        NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
    );
    store
        .apply(Batch::one(Change::AddAccount { account }))
        .unwrap();
    let file = "account_key,metric,timestamp,quantity,record_id\n\
                acme,calls,2025-01-10T10:00:00Z,250,r1\n\
                acme,calls,2025-01-11T10:00:00Z,100,\n\
                acme,calls,2025-01-11T10:00:00Z,100,\n";
    for _ in 0..2 {
        let records = parse_usage(file.as_bytes(), store.book()).unwrap();
        store
            .apply(Batch::one(Change::AddUsage { records }))
            .unwrap();
    }
    assert_eq!(store.usage_count(), 3);
    // A correction re-sent under the same id is kept beside it: billing keeps the later.
    let corrected = "account_key,metric,timestamp,quantity,record_id\n\
                     acme,calls,2025-01-10T11:00:00Z,260,r1\n";
    let records = parse_usage(corrected.as_bytes(), store.book()).unwrap();
    store
        .apply(Batch::one(Change::AddUsage { records }))
        .unwrap();
    assert_eq!(store.usage_count(), 4);
}
