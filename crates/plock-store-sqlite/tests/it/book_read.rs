//! The account book read back whole, as an import reads it: every field as written, and a
//! damaged list refused by name.

use plock_core::account::*;
use plock_core::id::*;
use plock_core::money::*;
use plock_core::store::*;
use plock_core::{Account, AccountBook};
use plock_store_sqlite::SqliteStore;

use crate::support::{account, aid, date, temp_dir};

/// Accounts with text JSON must escape, every contact part, tags, external ids, a master and
/// its child, other terms and states, and a dismissed key.
fn batch() -> Batch {
    let contact = Contact::new(&ContactInput {
        email: Some("ap@globex.example"),
        phone: Some("+46 8 \"123\" 45"),
        address_lines: vec!["Storgatan 1 \\ \"B\"", "111 22 Stockholm, Sverige ✓"],
        country: Some("SE"),
        organisation_number: Some("556677-8899"),
    })
    .unwrap();
    let master = Account::new(
        aid("globex"),
        AccountKey::new("globex").unwrap(),
        AccountName::new("Globex \"Nordic\" AB \\ Ü").unwrap(),
        contact,
        Currency::SEK,
        date(2024, 12, 31),
    )
    .with_payment_terms(PaymentTerms::new(10).unwrap());
    let pending = account("cafe", "cafe", Currency::EUR).with_state(AccountState::Pending);
    let changes = vec![
        Change::AddAccount { account: master },
        Change::AddAccount {
            account: account("globex-uk", "globex-uk", Currency::SEK),
        },
        Change::AddDiscovered { account: pending },
        Change::AddDiscovered {
            account: account("gone", "gone", Currency::EUR).with_state(AccountState::Pending),
        },
        Change::Link {
            child: aid("globex-uk"),
            master: aid("globex"),
        },
        Change::SetGroupBilling {
            master: aid("globex"),
            on: true,
        },
        Change::Tag {
            id: aid("globex"),
            tag: Tag::new("VIP \"gold\"").unwrap(),
        },
        Change::Tag {
            id: aid("globex"),
            tag: Tag::new("nordic").unwrap(),
        },
        Change::SetExternalId {
            id: aid("globex"),
            system: "fortnox".parse().unwrap(),
            external_id: ExternalId::new("F-1\"2").unwrap(),
        },
        Change::Dismiss { id: aid("gone") },
    ];
    Batch { changes }
}

#[test]
fn the_book_reads_back_as_applied() {
    let mut store = SqliteStore::in_memory().unwrap();
    let batch = batch();
    let mut expected = AccountBook::new();
    for (index, change) in batch.changes.iter().enumerate() {
        apply_to_book(&mut expected, index, change).unwrap();
    }
    store.apply(batch).unwrap();
    let book = store.account_book().unwrap();
    let accounts: Vec<&Account> = book.iter().collect();
    assert_eq!(accounts, expected.iter().collect::<Vec<_>>());
    assert_eq!(accounts.len(), 3);
    assert!(book.is_dismissed(&AccountKey::new("gone").unwrap()));
    // A batch's neighbourhood is read the same way: a change that needs the master's
    // stored fields sees them.
    store
        .apply(Batch::one(Change::Tag {
            id: aid("globex-uk"),
            tag: Tag::new("uk").unwrap(),
        }))
        .unwrap();
    assert_eq!(
        store.account_book().unwrap().get(&aid("globex")),
        expected.get(&aid("globex"))
    );
}

#[test]
fn a_damaged_list_is_refused_by_name() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    store.apply(batch()).unwrap();
    drop(store);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute(
        "UPDATE accounts SET address_lines = '[\"Storgatan 1\"], \"x\"' WHERE id = 'globex'",
        [],
    )
    .unwrap();
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let error = store.account_book().unwrap_err().to_string();
    assert!(error.contains("reading an account's lists"), "{error}");
}
