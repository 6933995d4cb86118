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
