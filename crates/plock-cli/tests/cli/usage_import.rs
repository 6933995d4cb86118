//! `plock import usage` of files longer than one chunk: records written whole or not at all,
//! problems at the file's lines with their column and value, the dry run writing nothing,
//! and a quoted cell past the first chunk read by the CSV reader from there.

use super::folder::Folder;

/// Rows a chunk of the import holds.
const CHUNK_ROWS: usize = 10_000;

/// A data file with the accounts `894` and `a b`.
fn company(name: &str) -> Folder {
    let dir = Folder::new("plock-usage-import", name);
    ok(&dir, &["init"]);
    for key in ["894", "a b"] {
        ok(
            &dir,
            &[
                "account",
                "add",
                "--key",
                key,
                "--name",
                "N",
                "--currency",
                "EUR",
            ],
        );
    }
    dir
}

fn run(dir: &Folder, args: &[&str]) -> (i32, String) {
    let out = dir.plock(args);
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn ok(dir: &Folder, args: &[&str]) -> String {
    let (code, text) = run(dir, args);
    assert_eq!(code, 0, "plock {args:?}: {text}");
    text
}

/// `rows` rows in plock's four columns, the row on `line` (the header is line 1) replaced by
/// `odd`, if any.
fn usage(dir: &Folder, name: &str, rows: usize, odd: Option<(usize, &str)>) -> String {
    let mut text = String::from("account_key,metric,timestamp,quantity\n");
    for i in 0..rows {
        match odd {
            Some((line, row)) if line == i + 2 => text.push_str(row),
            _ => text.push_str(&format!(
                "894,calls,2025-03-13T11:16:{:02}.{:03}Z,{}.5",
                i % 60,
                i % 1000,
                i % 7
            )),
        }
        text.push('\n');
    }
    std::fs::write(dir.0.join(name), text).unwrap();
    name.to_owned()
}

/// Records and blocks stored.
fn stored(dir: &Folder) -> (i64, i64) {
    let db = rusqlite::Connection::open(dir.0.join("plock.data")).unwrap();
    db.query_row(
        "SELECT coalesce(sum(records), 0), count(*) FROM usage_blocks",
        [],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )
    .unwrap()
}

#[test]
fn a_file_of_many_chunks_is_written_whole_or_not_at_all() {
    let dir = company("chunks");
    let rows = 2 * CHUNK_ROWS + 3;
    let bad_line = 2 * CHUNK_ROWS + 2;
    let bad = usage(
        &dir,
        "bad.csv",
        rows,
        Some((bad_line, "ghost,calls,2025-03-13T11:16:10Z,-4")),
    );
    let (code, text) = run(&dir, &["import", "usage", &bad]);
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains(&format!(
            "line {bad_line}, column account_key: no account has this key (value \"ghost\")"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "line {bad_line}, column quantity: quantities are never negative"
        )),
        "{text}"
    );
    assert_eq!(stored(&dir), (0, 0));

    let good = usage(
        &dir,
        "good.csv",
        rows,
        Some((5, "a b,calls,2025-03-13T11:16:10.000Z,007.50")),
    );
    let text = ok(&dir, &["import", "usage", &good, "--dry-run"]);
    assert!(text.contains(&format!("{rows} row(s)")), "{text}");
    assert_eq!(stored(&dir), (0, 0));
    ok(&dir, &["import", "usage", &good]);
    assert_eq!(stored(&dir), (rows as i64, 3));
    // The block text is canonical, the ids the rows' chunk gives them left out and noted:
    // the chunk's fingerprint and its first record's line.
    let db = rusqlite::Connection::open(dir.0.join("plock.data")).unwrap();
    let (first, fingerprint, first_line): (String, String, i64) = db
        .query_row(
            "SELECT csv, made_up_fingerprint, made_up_first FROM usage_blocks ORDER BY id LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap();
    let line = first.lines().nth(3).unwrap();
    assert_eq!(line, "a b,calls,2025-03-13T11:16:10Z,7.50,");
    assert_eq!(first_line, 2);
    assert_eq!(fingerprint.len(), 16);
}

#[test]
fn a_quoted_cell_past_the_first_chunk_is_read_by_the_csv_reader_from_there() {
    let dir = company("quoted");
    let rows = CHUNK_ROWS + 50;
    // A quoted cell holding a line end spans lines 10,010 and 10,011: the row after it is
    // on line 10,012 of the file.
    let quoted = "894,\"cal\nls\",2025-03-13T11:16:10Z,1";
    let bad = usage(&dir, "bad.csv", rows, Some((CHUNK_ROWS + 10, quoted)));
    let text = std::fs::read_to_string(dir.0.join(&bad)).unwrap();
    let after = text.lines().nth(CHUNK_ROWS + 11).unwrap().to_owned();
    std::fs::write(
        dir.0.join(&bad),
        text.replacen(&after, "894,calls,never,1", 1),
    )
    .unwrap();
    let (code, out) = run(&dir, &["import", "usage", &bad]);
    assert_eq!(code, 3, "{out}");
    let metric = format!(
        "line {}, column metric: must not contain control characters",
        CHUNK_ROWS + 10
    );
    assert!(out.contains(&metric), "{out}");
    let time = format!(
        "line {}, column timestamp: not a timestamp",
        CHUNK_ROWS + 12
    );
    assert!(out.contains(&time), "{out}");
    assert_eq!(stored(&dir), (0, 0));

    let good = usage(
        &dir,
        "good.csv",
        rows,
        Some((CHUNK_ROWS + 10, "894,\"calls\",2025-03-13T11:16:10Z,1")),
    );
    ok(&dir, &["import", "usage", &good]);
    assert_eq!(stored(&dir), (rows as i64, 2));
}
