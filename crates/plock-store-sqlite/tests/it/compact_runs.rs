//! A billing run's records as migration 7 keeps them: invoices' JSON as zlib streams (what the
//! sqlite3 shell's `sqlar_uncompress` reads), billed usage a column per field; and a version 6
//! database, which kept both as JSON text, carried over.

use std::io::Read;

use plock_core::store::{InvoiceQuery, Store, StoreError};
use plock_store_sqlite::{SCHEMA_VERSION, SqliteStore};
use rusqlite::Connection;
use rusqlite::types::Value;

use crate::support::temp_dir;

/// A store with recorded billing runs: invoices and billed usage stored.
fn billed_store(path: &std::path::Path) -> SqliteStore {
    let mut store = SqliteStore::create(path).unwrap();
    plock_core::contract::billing_runs(&mut store);
    store
}

/// Every invoice the store holds, in number order.
fn all_invoices(store: &SqliteStore) -> Vec<plock_core::Invoice> {
    store.list_invoices(&InvoiceQuery::default()).unwrap().items
}

/// What sqlar_uncompress does: a zlib stream inflated, or the value as it is when its length
/// is `json_bytes` already.
fn shell_json(json_bytes: i64, stored: &Value) -> String {
    match stored {
        Value::Blob(stream) if stream.len() as i64 != json_bytes => {
            let mut json = String::new();
            flate2::read::ZlibDecoder::new(stream.as_slice())
                .read_to_string(&mut json)
                .unwrap();
            json
        }
        Value::Blob(bytes) => String::from_utf8(bytes.clone()).unwrap(),
        Value::Text(json) => json.clone(),
        other => panic!("{other:?} where an invoice's JSON belongs"),
    }
}

fn stored_invoices(conn: &Connection) -> Vec<(i64, i64, Value)> {
    conn.prepare("SELECT number, json_bytes, invoice FROM invoices ORDER BY number")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Rewrites a database of today's schema into version 6's layout of invoices and billed
/// usage (each as JSON text) and marks it version 6, as a plock of that version left it.
pub fn to_version_6(conn: &Connection) {
    crate::made_up_ids::to_version_7(conn);
    let invoices: Vec<(i64, String)> = stored_invoices(conn)
        .into_iter()
        .map(|(number, bytes, stored)| (number, shell_json(bytes, &stored)))
        .collect();
    conn.execute_batch(
        "CREATE TABLE invoices_v6 (number INTEGER PRIMARY KEY NOT NULL, owner TEXT NOT NULL, \
             currency TEXT NOT NULL, total TEXT NOT NULL, period_start TEXT NOT NULL, \
             period_end TEXT NOT NULL, invoice TEXT NOT NULL) STRICT;
         INSERT INTO invoices_v6 SELECT number, owner, currency, total, period_start, \
             period_end, '' FROM invoices;
         DROP TABLE invoices;
         ALTER TABLE invoices_v6 RENAME TO invoices;
         CREATE INDEX invoices_by_owner ON invoices (owner, number);
         CREATE TABLE billed_usage_v6 (subscription TEXT NOT NULL, product TEXT NOT NULL, \
             period_start TEXT NOT NULL, row TEXT NOT NULL, \
             PRIMARY KEY (subscription, product, period_start)) STRICT, WITHOUT ROWID;
         INSERT INTO billed_usage_v6 SELECT subscription, product, period_start, \
             CASE WHEN skipped THEN json_set(r, '$.skipped', json('true')) ELSE r END \
             FROM (SELECT *, json_object('subscription', subscription, 'product', product, \
                 'period', json_object('start', period_start, 'end', period_end), \
                 'records', records, 'quantity', quantity, 'amount', amount) AS r \
                 FROM billed_usage);
         DROP TABLE billed_usage;
         ALTER TABLE billed_usage_v6 RENAME TO billed_usage;
         PRAGMA user_version = 6;",
    )
    .unwrap();
    for (number, json) in invoices {
        conn.execute(
            "UPDATE invoices SET invoice = ?2 WHERE number = ?1",
            rusqlite::params![number, json],
        )
        .unwrap();
    }
}

#[test]
fn invoices_are_zlib_streams_the_sqlite3_shell_reads() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let store = billed_store(&path);
    let invoices = all_invoices(&store);
    let stored = stored_invoices(&Connection::open(&path).unwrap());
    assert_eq!(stored.len(), invoices.len());
    assert!(
        stored.iter().any(|(_, _, v)| matches!(v, Value::Blob(_))),
        "no invoice is compressed: {stored:?}"
    );
    for ((number, bytes, value), invoice) in stored.iter().zip(&invoices) {
        assert_eq!(*number, invoice.number() as i64);
        let json = shell_json(*bytes, value);
        assert_eq!(json.len() as i64, *bytes);
        assert_eq!(
            json,
            serde_json::to_string(&invoice.without_products()).unwrap()
        );
        assert!(!json.contains("\"products\""), "{json}");
    }
}

#[test]
fn an_invoice_stored_with_its_product_totals_reads_the_same() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let store = billed_store(&path);
    let invoices = all_invoices(&store);
    drop(store);
    let conn = Connection::open(&path).unwrap();
    let stored = stored_invoices(&conn);
    // Every invoice rewritten in the full form, with its per-product totals: half as zlib
    // streams, half as text, as older plocks stored them.
    for (i, invoice) in invoices.iter().enumerate() {
        let json = serde_json::to_string(invoice).unwrap();
        assert!(json.contains("\"products\":[{"), "{json}");
        let value = if i % 2 == 0 {
            let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
            std::io::Write::write_all(&mut zlib, json.as_bytes()).unwrap();
            Value::Blob(zlib.finish().unwrap())
        } else {
            Value::Text(json.clone())
        };
        conn.execute(
            "UPDATE invoices SET json_bytes = ?2, invoice = ?3 WHERE number = ?1",
            rusqlite::params![invoice.number() as i64, json.len() as i64, value],
        )
        .unwrap();
    }
    assert_ne!(stored_invoices(&conn), stored);
    drop(conn);
    let store = SqliteStore::open(&path).unwrap();
    let read = all_invoices(&store);
    assert_eq!(read, invoices);
    for (read, invoice) in read.iter().zip(&invoices) {
        assert_eq!(read.products(), invoice.products());
        assert_eq!(
            store.invoice(invoice.number()).unwrap().as_ref(),
            Some(invoice)
        );
    }
}

/// A billed usage row's columns, in the table's order.
type Columns = (String, String, String, String, i64, String, String, bool);

#[test]
fn billed_usage_is_a_column_per_field() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let store = billed_store(&path);
    let billed = store.company().unwrap().billed_usage;
    assert!(!billed.is_empty());
    let conn = Connection::open(&path).unwrap();
    let rows: Vec<Columns> = conn
        .prepare(
            "SELECT subscription, product, period_start, period_end, records, quantity, amount, \
             skipped FROM billed_usage ORDER BY subscription, product, period_start",
        )
        .unwrap()
        .query_map([], |r| {
            Ok((
                r.get(0)?,
                r.get(1)?,
                r.get(2)?,
                r.get(3)?,
                r.get(4)?,
                r.get(5)?,
                r.get(6)?,
                r.get(7)?,
            ))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let expected: Vec<_> = billed
        .iter()
        .map(|b| {
            (
                b.subscription.to_string(),
                b.product.to_string(),
                b.period.start().to_string(),
                b.period.end().to_string(),
                b.records as i64,
                b.quantity.to_string(),
                b.amount.to_string(),
                b.skipped,
            )
        })
        .collect();
    assert_eq!(rows, expected);
}

#[test]
fn a_version_6_database_is_carried_over() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let store = billed_store(&path);
    let company = store.company().unwrap();
    let invoices = all_invoices(&store);
    assert!(!company.billed_usage.is_empty() && !invoices.is_empty());
    drop(store);
    to_version_6(&Connection::open(&path).unwrap());
    let store = SqliteStore::open(&path).unwrap();
    assert_eq!(store.schema_version().unwrap(), SCHEMA_VERSION);
    assert_eq!(store.company().unwrap(), company);
    assert_eq!(all_invoices(&store), invoices);
    store.check().unwrap();
    // Carried over as text, each with its length.
    let stored = stored_invoices(&Connection::open(&path).unwrap());
    assert!(stored.iter().all(|(_, bytes, v)| match v {
        Value::Text(json) => json.len() as i64 == *bytes,
        _ => false,
    }));
}

#[test]
fn a_damaged_invoice_stream_is_refused_naming_the_invoice() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let store = billed_store(&path);
    let conn = Connection::open(&path).unwrap();
    let (number, bytes, _) = stored_invoices(&conn)
        .into_iter()
        .find(|(_, _, v)| matches!(v, Value::Blob(_)))
        .unwrap();
    let damage = |sql: &str| {
        conn.execute(sql, [number]).unwrap();
        let err = store.invoice(number as u64).unwrap_err();
        assert!(
            matches!(&err, StoreError::Backend { message }
                if message.contains(&format!("invoice {number}"))),
            "{err}"
        );
        assert!(store.check().is_err());
    };
    damage("UPDATE invoices SET json_bytes = json_bytes + 1 WHERE number = ?1");
    damage("UPDATE invoices SET json_bytes = json_bytes - 2 WHERE number = ?1");
    damage("UPDATE invoices SET json_bytes = 1 << 40 WHERE number = ?1");
    conn.execute(
        "UPDATE invoices SET json_bytes = ?2 WHERE number = ?1",
        [number, bytes],
    )
    .unwrap();
    store.invoice(number as u64).unwrap().unwrap();
    damage(
        "UPDATE invoices SET invoice = substr(invoice, 1, length(invoice) - 3) WHERE number = ?1",
    );
}
