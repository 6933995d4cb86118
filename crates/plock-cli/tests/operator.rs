//! The data file as an operator meets it: `plock check` and `plock backup`, long usage
//! imports, permissions and links.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

#[path = "support/folder.rs"]
mod folder;

use std::path::Path;

use folder::Folder;

fn folder(name: &str) -> Folder {
    Folder::new("plock-op", name)
}

fn sql(dir: &Folder, query: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.path("plock.data")).unwrap();
    conn.query_row(query, [], |row| row.get(0)).unwrap()
}

fn files(dir: &Folder) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&dir.0)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn damaged(dir: &Folder, how: &str) {
    let (_, stderr) = dir.run(&["check"], 6);
    assert!(stderr.contains("is damaged"), "{how}: {stderr}");
}

#[test]
fn check_passes_a_sound_file_and_finds_each_kind_of_damage() {
    let dir = folder("check");
    dir.run(&["demo", "--save"], 0);
    let (stdout, _) = dir.run(&["check"], 0);
    assert!(stdout.contains(": ok"), "{stdout}");
    let conn = || rusqlite::Connection::open(dir.path("plock.data")).unwrap();

    // An invoice whose total is not the sum of its lines.
    let total: String = conn()
        .query_row("SELECT total FROM invoices WHERE number = 1", [], |r| {
            r.get(0)
        })
        .unwrap();
    conn()
        .execute(
            "UPDATE invoices SET total = '999999.99' WHERE number = 1",
            [],
        )
        .unwrap();
    damaged(&dir, "invoice total");
    conn()
        .execute("UPDATE invoices SET total = ?1 WHERE number = 1", [&total])
        .unwrap();
    dir.run(&["check"], 0);

    // An account that is its own master: the account book's rules.
    conn()
        .execute(
            "UPDATE accounts SET master = id WHERE id = (SELECT min(id) FROM accounts)",
            [],
        )
        .unwrap();
    damaged(&dir, "account book");
    conn()
        .execute("UPDATE accounts SET master = NULL WHERE master = id", [])
        .unwrap();
    dir.run(&["check"], 0);

    // Bytes overwritten in every page but the first (the schema): SQLite's own check.
    let path = dir.path("plock.data");
    let mut bytes = std::fs::read(&path).unwrap();
    for page in bytes.chunks_mut(4096).skip(1) {
        for b in page.iter_mut().skip(8).take(3000) {
            *b = 0x5a;
        }
    }
    std::fs::write(&path, &bytes).unwrap();
    let out = dir.plock(&["check"]);
    assert_eq!(out.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("damaged") || stderr.contains("malformed"),
        "{stderr}"
    );
}

#[test]
fn a_backup_is_a_sound_copy_and_never_overwrites() {
    let dir = folder("backup");
    dir.run(&["demo", "--save"], 0);
    dir.run(&["backup", "copy.data"], 0);
    dir.run(&["--data", "copy.data", "check"], 0);
    let (invoices, _) = dir.run(&["invoice", "list"], 0);
    let (copied, _) = dir.line("--data copy.data invoice list", 0);
    assert_eq!(invoices, copied);
    std::fs::write(dir.path("taken"), b"mine").unwrap();
    dir.run(&["backup", "taken"], 5);
    assert_eq!(std::fs::read(dir.path("taken")).unwrap(), b"mine");
}

/// A usage file of `rows` rows over the sample company's accounts; `bad` rows get a
/// negative quantity.
fn usage_file(rows: usize, bad: &[usize]) -> String {
    let mut text = String::from("account_key,metric,timestamp,quantity,record_id\n");
    for row in 0..rows {
        let quantity = if bad.contains(&row) { "-1" } else { "3.5" };
        let day = row % 28 + 1;
        text.push_str(&format!(
            "dentist-johnson,emails,2025-01-{day:02}T10:00:00Z,{quantity},r{row}\n"
        ));
    }
    text
}

#[test]
fn a_long_usage_import_is_all_or_nothing_with_problems_at_the_file_lines() {
    let dir = folder("import");
    dir.run(&["init"], 0);
    std::fs::write(
        dir.path("accounts.csv"),
        "key,name,currency\ndentist-johnson,Dentist Johnson,SEK\n",
    )
    .unwrap();
    dir.run(&["import", "accounts", "accounts.csv"], 0);
    // Problems in the first, a middle and the last chunk; line 1 is the header.
    let rows = 25_000;
    std::fs::write(dir.path("bad.csv"), usage_file(rows, &[0, 12_345, 24_999])).unwrap();
    let (_, stderr) = dir.run(&["import", "usage", "bad.csv"], 3);
    assert!(stderr.contains("3 problem(s)"), "{stderr}");
    for line in [2, 12_347, 25_001] {
        assert!(
            stderr.contains(&format!("line {line}, column quantity")),
            "{line}: {stderr}"
        );
    }
    assert_eq!(
        sql(&dir, "SELECT coalesce(sum(records), 0) FROM usage_blocks"),
        0
    );
    std::fs::write(dir.path("good.csv"), usage_file(rows, &[])).unwrap();
    let (stdout, _) = dir.line("import usage good.csv --dry-run", 0);
    assert!(stdout.contains("25000 row(s) valid"), "{stdout}");
    assert_eq!(
        sql(&dir, "SELECT coalesce(sum(records), 0) FROM usage_blocks"),
        0
    );
    let (stdout, _) = dir.run(&["import", "usage", "good.csv"], 0);
    assert!(stdout.contains("25000 row(s) imported"), "{stdout}");
    assert_eq!(
        sql(&dir, "SELECT coalesce(sum(records), 0) FROM usage_blocks"),
        25_000
    );
}

#[cfg(unix)]
#[test]
fn permissions_are_kept_and_nothing_else_is_left_in_the_folder() {
    use std::os::unix::fs::PermissionsExt;
    let dir = folder("modes");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    dir.run(&["init"], 0);
    let data = dir.path("plock.data");
    assert_eq!(mode(&data), 0o600, "a new data file is its owner's only");
    std::fs::set_permissions(&data, std::fs::Permissions::from_mode(0o640)).unwrap();
    dir.line("account add --key acme --name Acme --currency EUR", 0);
    dir.line("account tag acme vip", 0);
    assert_eq!(mode(&data), 0o640);
    assert_eq!(files(&dir), ["plock.data"]);
}

#[cfg(unix)]
#[test]
fn links_are_never_written_through_unless_the_data_file_is_one() {
    let dir = folder("links");
    let victim = dir.path("victim");
    std::fs::write(&victim, b"precious").unwrap();
    // init over a planted link: refused, the link's target untouched.
    std::os::unix::fs::symlink(&victim, dir.path("plock.data")).unwrap();
    dir.run(&["init"], 5);
    dir.run(&["demo", "--save"], 5);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    std::fs::remove_file(dir.path("plock.data")).unwrap();
    // A link planted where SQLite keeps its log: the data file is refused, not written.
    dir.run(&["init"], 0);
    std::os::unix::fs::symlink(&victim, dir.path("plock.data-wal")).unwrap();
    dir.run(&["account", "list"], 6);
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    std::fs::remove_file(dir.path("plock.data-wal")).unwrap();
    // A data file the operator reaches through a link: one database, however reached.
    std::os::unix::fs::symlink(dir.path("plock.data"), dir.path("linked.data")).unwrap();
    dir.line(
        "--data linked.data account add --key acme --name Acme --currency EUR",
        0,
    );
    dir.line("account add --key beta --name Beta --currency EUR", 0);
    let (through_link, _) = dir.line("--data linked.data account list", 0);
    let (direct, _) = dir.run(&["account", "list"], 0);
    assert_eq!(through_link, direct);
    assert!(
        direct.contains("acme") && direct.contains("beta"),
        "{direct}"
    );
    assert!(
        std::fs::symlink_metadata(dir.path("linked.data"))
            .unwrap()
            .file_type()
            .is_symlink()
    );
}
