//! SIGKILL at random instants during imports, billing runs and small writes: the data file
//! then opens and holds exactly the state before the command or after it. And eight
//! processes writing at once, with readers beside them: no update lost, no reader refused.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
#![cfg(unix)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const PLOCK: &str = env!("CARGO_BIN_EXE_plock");
/// Kills per kind of command: imports, billing runs, small writes.
const KILLS_PER_KIND: usize = 70;

fn plock(dir: &Path, data: &str, args: &[&str]) -> Command {
    let mut command = Command::new(PLOCK);
    command
        .args(["--data", data])
        .args(args)
        .current_dir(dir)
        .env_remove("PLOCK_DATA")
        .env_remove("PLOCK_STORE")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    command
}

fn ok(dir: &Path, data: &str, args: &[&str]) {
    let out = plock(dir, data, args).output().unwrap();
    assert!(
        out.status.success(),
        "plock {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A small, fixed pseudo-random sequence, so a failure is reproduced by running again.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// What the commands change, read with SQLite itself: the file opens, and its rows say
/// which state it is in.
fn state(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    let one = |sql: &str| -> String {
        conn.query_row(sql, [], |row| row.get::<_, Option<String>>(0))
            .unwrap_or_else(|e| panic!("{}: {e}: {sql}", path.display()))
            .unwrap_or_default()
    };
    [
        "SELECT count(*) || '/' || coalesce(max(id), 0) || '/' || coalesce(sum(records), 0) \
         || '/' || coalesce(sum(length(csv)), 0) FROM usage_blocks",
        "SELECT group_concat(account_key || ':' || blocks, ',') FROM \
         (SELECT * FROM usage_key_blocks ORDER BY account_key, first_block)",
        "SELECT (SELECT count(*) FROM usage) || ' ' || \
         (SELECT coalesce(max(rowid), 0) FROM usage)",
        "SELECT group_concat(number || ':' || owner || ':' || total, ',') FROM \
         (SELECT * FROM invoices ORDER BY number)",
        "SELECT group_concat(subscription || ':' || coalesce(in_advance, '') || ':' || \
         coalesce(in_arrears, ''), ',') FROM (SELECT * FROM subscription_watermarks \
         ORDER BY subscription)",
        "SELECT group_concat(id || ':' || name, ',') FROM (SELECT * FROM accounts ORDER BY id)",
        "SELECT CAST(value AS TEXT) FROM meta WHERE name = 'next_invoice_number'",
    ]
    .iter()
    .map(|sql| one(sql))
    .collect::<Vec<_>>()
    .join("\n")
}

/// Copies the data file and its log (no process is using them) to `to`.
fn copy_data(dir: &Path, from: &str, to: &str) {
    for suffix in ["", "-wal"] {
        let source = dir.join(format!("{from}{suffix}"));
        let target = dir.join(format!("{to}{suffix}"));
        let _ = std::fs::remove_file(&target);
        if source.exists() {
            std::fs::copy(&source, &target).unwrap();
        }
    }
    let _ = std::fs::remove_file(dir.join(format!("{to}-shm")));
}

fn usage_file(dir: &Path, n: usize, month: usize) -> String {
    let mut text = String::from("account_key,metric,timestamp,quantity,record_id\n");
    let (year, month) = (2025 + month / 12, month % 12 + 1);
    for row in 0..200 {
        text.push_str(&format!(
            "globex-nordics,emails,{year}-{month:02}-{:02}T08:00:00Z,{}.5,imp{n}-{row}\n",
            row % 28 + 1,
            row % 90 + 10
        ));
    }
    let name = format!("usage-{n}.csv");
    std::fs::write(dir.join(&name), text).unwrap();
    name
}

fn sample_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("plock-crash-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let docs = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/csv");
    for file in ["accounts.csv", "subscriptions.csv"] {
        std::fs::copy(docs.join(file), dir.join(file)).unwrap();
    }
    ok(&dir, "plock.data", &["init"]);
    ok(&dir, "plock.data", &["import", "accounts", "accounts.csv"]);
    ok(
        &dir,
        "plock.data",
        &["import", "subscriptions", "subscriptions.csv"],
    );
    dir
}

/// The `n`th command: an import, a billing run or a small write, in turn.
fn command_args(dir: &Path, n: usize) -> Vec<String> {
    let round = n / 3;
    match n % 3 {
        0 => vec!["import".into(), "usage".into(), usage_file(dir, n, round)],
        1 => {
            let (year, month) = (2025 + (round + 1) / 12, (round + 1) % 12 + 1);
            vec![
                "bill".into(),
                "--date".into(),
                format!("{year}-{month:02}-01"),
            ]
        }
        _ => vec![
            "account".into(),
            "edit".into(),
            "globex".into(),
            "--name".into(),
            format!("Globex {n}"),
        ],
    }
}

#[test]
fn sigkill_at_random_instants_leaves_the_state_before_or_after() {
    let dir = sample_dir("kill");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // How long each kind takes when let be, to spread the kills over its whole run.
    let mut took = [Duration::ZERO; 3];
    let (mut before_kept, mut after_kept) = (0, 0);
    let mut kills = 0;
    let mut n = 0;
    while kills < KILLS_PER_KIND * 3 {
        n += 1;
        let args = command_args(&dir, n);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let before = state(&dir.join("plock.data"));
        copy_data(&dir, "plock.data", "spare.data");
        let kind = n % 3;
        let started = Instant::now();
        let mut child = plock(&dir, "plock.data", &args).spawn().unwrap();
        // A kind not yet timed runs to its end, to learn how long it takes on this machine now.
        let wait = took[kind].mul_f64(rng.below(1200) as f64 / 1000.0);
        if took[kind] > Duration::ZERO {
            std::thread::sleep(wait);
            let _ = child.kill();
            kills += 1;
        }
        let status = child.wait().unwrap();
        if status.success() {
            took[kind] = started.elapsed();
        } else {
            // Not finished, then only because it was killed.
            use std::os::unix::process::ExitStatusExt;
            let mut stderr = String::new();
            if let Some(mut e) = child.stderr.take() {
                std::io::Read::read_to_string(&mut e, &mut stderr).unwrap();
            }
            assert_eq!(status.signal(), Some(9), "command {n} {args:?}: {stderr}");
        }
        let now = state(&dir.join("plock.data"));
        if now == before {
            before_kept += 1;
        } else {
            // Whatever survived must be what the whole command makes: finish it on the copy.
            ok(&dir, "spare.data", &args);
            let after = state(&dir.join("spare.data"));
            assert_eq!(now, after, "command {n} {args:?} killed after {wait:?}");
            after_kept += 1;
        }
    }
    eprintln!("{before_kept} kills left the state before, {after_kept} the state after");
    ok(&dir, "plock.data", &["check"]);
    // Both outcomes happened, so the kills landed before and after commits.
    assert!(
        before_kept > 20 && after_kept > 20,
        "{before_kept} {after_kept}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn eight_writers_lose_nothing_and_readers_are_never_refused() {
    let dir = sample_dir("writers");
    let writers: Vec<_> = (0..8)
        .map(|w| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                for t in 0..6 {
                    // The same account for all: each write reads it and adds a tag.
                    ok(
                        &dir,
                        "plock.data",
                        &["account", "tag", "globex", &format!("w{w}-t{t}")],
                    );
                    ok(
                        &dir,
                        "plock.data",
                        &[
                            "account",
                            "add",
                            "--key",
                            &format!("w{w}-{t}"),
                            "--name",
                            "Writer",
                            "--currency",
                            "EUR",
                        ],
                    );
                }
            })
        })
        .collect();
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let dir = dir.clone();
            std::thread::spawn(move || {
                let mut reads = 0;
                let started = Instant::now();
                while started.elapsed() < Duration::from_secs(2) {
                    ok(&dir, "plock.data", &["account", "show", "globex"]);
                    ok(&dir, "plock.data", &["account", "list"]);
                    reads += 1;
                }
                reads
            })
        })
        .collect();
    for w in writers {
        w.join().unwrap();
    }
    for r in readers {
        assert!(r.join().unwrap() > 0);
    }
    let out = plock(&dir, "plock.data", &["--json", "account", "show", "globex"])
        .stdout(Stdio::piped())
        .output()
        .unwrap();
    let account: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let tags = account["tags"].as_array().unwrap();
    let written = tags
        .iter()
        .filter(|t| t.as_str().unwrap().starts_with('w'))
        .count();
    assert_eq!(written, 8 * 6, "{tags:?}");
    let conn = rusqlite::Connection::open(dir.join("plock.data")).unwrap();
    let added: i64 = conn
        .query_row(
            "SELECT count(*) FROM accounts WHERE key LIKE 'w%'",
            [],
            |row| row.get(0),
        )
        .unwrap();
    assert_eq!(added, 8 * 6);
    ok(&dir, "plock.data", &["check"]);
    let _ = std::fs::remove_dir_all(&dir);
}
