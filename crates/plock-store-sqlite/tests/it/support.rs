//! What the tests share: a temporary folder, a raw view of the tables, and the small domain
//! values of plock-core's contract fixtures.

use rusqlite::Connection;
use std::path::Path;

pub use plock_core::contract::fixtures::{account, aid, date, record, subscription};

/// A folder removed when the test ends, whatever its outcome.
pub fn temp_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("plock-store-sqlite-")
        .tempdir()
        .unwrap()
}

/// Every row of every table, as text, in a fixed order: what "unchanged" means for the file.
pub fn dump(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    let mut out = Vec::new();
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM {table}")).unwrap();
        let columns = stmt.column_count();
        let mut rows: Vec<String> = stmt
            .query_map([], |row| {
                let mut cells = Vec::new();
                for i in 0..columns {
                    let value: rusqlite::types::Value = row.get(i)?;
                    cells.push(format!("{value:?}"));
                }
                Ok(format!("{table}: {}", cells.join(" | ")))
            })
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        rows.sort();
        out.extend(rows);
    }
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .unwrap();
    out.push(format!("user_version: {version}"));
    out
}

/// Triggers that log every write to `tables` in a `writes` table, read by [`writes`].
pub fn log_writes(path: &Path, tables: &[&str]) {
    let mut sql = String::from("CREATE TABLE writes (what TEXT);");
    for table in tables {
        for event in ["INSERT", "UPDATE", "DELETE"] {
            sql.push_str(&format!(
                "CREATE TRIGGER log_{table}_{event} AFTER {event} ON {table} \
                 BEGIN INSERT INTO writes VALUES ('{event} {table}'); END;"
            ));
        }
    }
    Connection::open(path).unwrap().execute_batch(&sql).unwrap();
}

/// The writes logged since the last call, in order (`INSERT accounts`, …), then forgotten.
pub fn writes(path: &Path) -> Vec<String> {
    let conn = Connection::open(path).unwrap();
    let out = conn
        .prepare("SELECT what FROM writes ORDER BY rowid")
        .unwrap()
        .query_map([], |row| row.get(0))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    conn.execute("DELETE FROM writes", []).unwrap();
    out
}
