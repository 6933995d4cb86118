//! The database file: created, reopened, refused, and untouched by a refused batch.

use plock_core::account::*;
use plock_core::id::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::store::*;
use plock_core::usage::*;
use plock_store_sqlite::{SCHEMA_VERSION, SqliteStore};
use rusqlite::Connection;
use rust_decimal::Decimal;

use crate::support::{account, aid, dump, log_writes, record, subscription, temp_dir, writes};

/// A store with a recorded billing run, so every table holds rows.
fn billed_store(store: &mut SqliteStore) {
    plock_core::contract::billing_runs(store);
    store
        .apply(Batch {
            changes: vec![
                Change::AddAccount {
                    account: account("x", "key-x", Currency::SEK),
                },
                Change::Tag {
                    id: aid("x"),
                    tag: Tag::new("Nordic").unwrap(),
                },
                Change::SetExternalId {
                    id: aid("x"),
                    system: ExternalSystem::Other("pipedrive".into()),
                    external_id: ExternalId::new("p-1").unwrap(),
                },
                Change::PutSubscription {
                    subscription: subscription("s-x", "x", Currency::SEK, true),
                },
                Change::AddUsage {
                    records: vec![record("key-x", 3, Decimal::new(150, 2), Some("r-1"))],
                },
            ],
        })
        .unwrap();
}

fn everything(store: &SqliteStore) -> (CompanySnapshot, Vec<Invoice>, u64) {
    (
        store.company().unwrap(),
        store.list_invoices(&InvoiceQuery::default()).unwrap().items,
        store.next_invoice_number().unwrap(),
    )
}

#[test]
fn a_closed_and_reopened_file_holds_the_same_company() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    billed_store(&mut store);
    let before = everything(&store);
    assert!(!before.1.is_empty());
    drop(store);
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(everything(&store), before);
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    store.check().unwrap();
}

#[test]
fn create_refuses_an_existing_file_and_open_a_missing_one() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let missing = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(missing, StoreError::Backend { .. }), "{missing}");
    assert!(!path.exists(), "open created the file it refused");
    std::fs::write(&path, b"precious").unwrap();
    let err = SqliteStore::create(&path).unwrap_err();
    assert!(err.to_string().contains("company.plock"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
}

#[test]
fn a_database_from_a_newer_plock_is_refused_untouched() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    billed_store(&mut SqliteStore::create(&path).unwrap());
    let newer = SCHEMA_VERSION + 1;
    Connection::open(&path)
        .unwrap()
        .pragma_update(None, "user_version", newer)
        .unwrap();
    let before = dump(&path);
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("made by a newer plock"), "{message}");
    assert!(message.contains(&newer.to_string()), "{message}");
    assert_eq!(dump(&path), before);
}

#[test]
fn a_foreign_sqlite_file_is_refused() {
    let dir = temp_dir();
    let path = dir.path().join("other.db");
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE notes (text TEXT);")
        .unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(err.to_string().contains("not a plock database"), "{err}");
}

#[test]
fn a_refused_batch_leaves_the_file_unchanged() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    billed_store(&mut store);
    let before = dump(&path);
    let invoice = store.invoice(1).unwrap().unwrap();
    let err = store
        .apply(Batch {
            changes: vec![
                Change::AddAccount {
                    account: account("y", "key-y", Currency::EUR),
                },
                Change::Untag {
                    id: aid("x"),
                    tag: Tag::new("nordic").unwrap(),
                },
                Change::RemoveExternalId {
                    id: aid("x"),
                    system: ExternalSystem::Other("pipedrive".into()),
                },
                Change::PutMetric {
                    metric: Metric {
                        id: MetricId::new("seats").unwrap(),
                        aggregation: Aggregation::Max,
                    },
                },
                Change::AddUsage {
                    records: vec![record("key-y", 4, Decimal::ONE, None)],
                },
                Change::PutSubscription {
                    subscription: subscription("s-y", "y", Currency::EUR, true),
                },
                // Refused: invoice 1 exists.
                Change::RecordRun {
                    invoices: vec![invoice],
                    billed: vec![],
                    billed_usage: vec![],
                },
            ],
        })
        .unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                index: 6,
                what: "invoice",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(dump(&path), before);
}

#[test]
fn each_account_change_writes_only_its_rows() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    billed_store(&mut store);
    log_writes(
        &path,
        &["accounts", "account_tags", "external_ids", "dismissed_keys"],
    );
    let cases: Vec<(Change, Vec<&str>)> = vec![
        (
            Change::Tag {
                id: aid("m"),
                tag: Tag::new("vip").unwrap(),
            },
            vec!["INSERT account_tags"],
        ),
        // Present in another case: nothing to write.
        (
            Change::Tag {
                id: aid("m"),
                tag: Tag::new("VIP").unwrap(),
            },
            vec![],
        ),
        (
            Change::Untag {
                id: aid("m"),
                tag: Tag::new("Vip").unwrap(),
            },
            vec!["DELETE account_tags"],
        ),
        (
            Change::SetExternalId {
                id: aid("m"),
                system: ExternalSystem::Fortnox,
                external_id: ExternalId::new("2002").unwrap(),
            },
            vec!["INSERT external_ids"],
        ),
        (
            Change::SetExternalId {
                id: aid("m"),
                system: ExternalSystem::Fortnox,
                external_id: ExternalId::new("2003").unwrap(),
            },
            vec!["DELETE external_ids", "INSERT external_ids"],
        ),
        (
            Change::EditAccount {
                id: aid("c1"),
                name: Some(AccountName::new("Renamed").unwrap()),
                contact: None,
                currency: None,
            },
            vec!["UPDATE accounts"],
        ),
        (Change::Unlink { child: aid("c2") }, vec!["UPDATE accounts"]),
        (
            Change::Dismiss { id: aid("p") },
            vec!["DELETE accounts", "INSERT dismissed_keys"],
        ),
        (
            Change::PutMetric {
                metric: Metric {
                    id: MetricId::new("seats").unwrap(),
                    aggregation: Aggregation::Max,
                },
            },
            vec![],
        ),
    ];
    for (change, expected) in cases {
        let label = format!("{change:?}");
        store.apply(Batch::one(change)).unwrap();
        assert_eq!(writes(&path), expected, "{label}");
    }
    store.check().unwrap();
}

#[test]
fn the_tables_read_plainly() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    billed_store(&mut store);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let text = |sql: &str| -> String { conn.query_row(sql, [], |row| row.get(0)).unwrap() };
    assert_eq!(
        text("SELECT quantity FROM usage WHERE record_id = 'r-1'"),
        "1.50"
    );
    assert_eq!(
        text("SELECT timestamp FROM usage WHERE record_id = 'r-1'"),
        "2025-01-03T13:30:00Z"
    );
    assert_eq!(text("SELECT state FROM accounts WHERE id = 'p'"), "pending");
    assert_eq!(
        text("SELECT tag FROM account_tags WHERE account = 'x'"),
        "Nordic"
    );
    assert_eq!(
        text("SELECT external_id FROM external_ids WHERE system = 'fortnox'"),
        "1001"
    );
    assert_eq!(
        text("SELECT in_advance FROM subscription_watermarks WHERE subscription = 's-m'"),
        "2025-03-01"
    );
    assert_eq!(
        text("SELECT typeof(total) || ' ' || currency FROM invoices WHERE number = 1"),
        "text EUR"
    );
    assert_eq!(text("SELECT journal_mode FROM pragma_journal_mode"), "wal");
    let id: i32 = conn
        .query_row(
            "SELECT application_id FROM pragma_application_id",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(id, plock_store_sqlite::APPLICATION_ID);
    let next: i64 = conn
        .query_row(
            "SELECT value FROM meta WHERE name = 'next_invoice_number'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert!(next > 1);
}

#[test]
fn a_tampered_invoice_total_is_refused_on_read() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    billed_store(&mut store);
    let conn = Connection::open(&path).unwrap();
    // The invoice's JSON as text, a form the store reads as well as its zlib stream.
    let json = serde_json::to_value(store.invoice(1).unwrap().unwrap()).unwrap();
    let write_json = |json: &serde_json::Value| {
        let json = json.to_string();
        conn.execute(
            "UPDATE invoices SET invoice = ?1, json_bytes = ?2 WHERE number = 1",
            rusqlite::params![json, json.len() as i64],
        )
        .unwrap();
    };
    let mut tampered = json.clone();
    tampered["total"]["amount"] = "0.01".into();
    write_json(&tampered);
    let err = store.invoice(1).unwrap_err();
    assert!(matches!(err, StoreError::Backend { .. }), "{err}");
    assert!(store.check().is_err());
    write_json(&json);
    store.invoice(1).unwrap().unwrap();
    conn.execute("UPDATE invoices SET total = '0.01' WHERE number = 1", [])
        .unwrap();
    assert!(store.invoice(1).is_err(), "the total column disagrees");
}
