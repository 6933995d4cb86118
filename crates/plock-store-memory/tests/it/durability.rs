//! Crash safety, locking and corruption handling of the data file, with real processes.
//!
//! The child processes are this test binary itself, re-run on one test with an environment
//! variable that turns that test into a writer; run alone, each such test is an ordinary test.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use plock_store_memory::{DataFile, DataFileError, LockWait};

const ENTRIES: usize = 2_000;

/// A fresh folder in the temp directory, removed with its guard.
struct Scratch(PathBuf);

impl std::ops::Deref for Scratch {
    type Target = Path;
    fn deref(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("plock-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    Scratch(dir)
}

/// A state whose every entry carries the save counter: a torn or mixed file cannot pass.
fn state(counter: u64) -> Vec<String> {
    (0..ENTRIES)
        .map(|i| format!("entry-{counter}-{i}"))
        .collect()
}

fn counter_of(entries: &[String]) -> u64 {
    assert_eq!(entries.len(), ENTRIES, "a state has {ENTRIES} entries");
    let counter: u64 = entries[0].split('-').nth(1).unwrap().parse().unwrap();
    assert!(
        entries == state(counter).as_slice(),
        "entries of different saves are mixed"
    );
    counter
}

fn save_next(path: &Path) -> u64 {
    let mut file = DataFile::open(path, LockWait::Timeout(Duration::from_secs(30))).unwrap();
    let current = file
        .load::<Vec<String>>()
        .unwrap()
        .map_or(0, |s| counter_of(&s));
    file.save(&state(current + 1)).unwrap();
    current + 1
}

fn child(test: &str, env: &[(&str, &Path)]) -> Command {
    let mut cmd = Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", test, "--nocapture", "--test-threads", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd
}

/// With PLOCK_TEST_WRITER set: saves forever until killed. Alone: 30 saves, counted.
#[test]
fn writer_loop() {
    if let Some(path) = std::env::var_os("PLOCK_TEST_WRITER") {
        loop {
            save_next(Path::new(&path));
        }
    }
    let dir = scratch("writer");
    let path = dir.join("plock.data");
    for _ in 0..30 {
        save_next(&path);
    }
    let mut file = DataFile::open(&path, LockWait::NoWait).unwrap();
    assert_eq!(
        counter_of(&file.load::<Vec<String>>().unwrap().unwrap()),
        30
    );
}

#[test]
fn killed_writers_never_leave_a_broken_file() {
    let dir = scratch("crash");
    let path = dir.join("plock.data");
    let mut seen = 0;
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut advanced = 0;
    for _ in 0..200 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let mut writer = child("durability::writer_loop", &[("PLOCK_TEST_WRITER", &path)])
            .spawn()
            .unwrap();
        // From a few hundred microseconds (before the first save) to tens of milliseconds.
        std::thread::sleep(Duration::from_micros(300 + seed % 30_000));
        writer.kill().unwrap(); // SIGKILL on Unix
        writer.wait().unwrap();
        let mut file = DataFile::open(&path, LockWait::Timeout(Duration::from_secs(5))).unwrap();
        if let Some(entries) = file.load::<Vec<String>>().unwrap() {
            let counter = counter_of(&entries);
            assert!(
                counter >= seen,
                "the file went back from save {seen} to {counter}"
            );
            if counter > seen {
                advanced += 1;
            }
            seen = counter;
        }
    }
    assert!(
        advanced > 20,
        "writers were killed before saving too often to test anything ({advanced})"
    );
}

/// Adds one account through the lock: open (waiting), load the store, apply, save.
fn add_account(path: &Path, key: &str) {
    use plock_core::account::{AccountName, Contact};
    use plock_core::store::{Batch, Change};
    use plock_core::{Account, AccountId, AccountKey, Currency, Store};
    let mut file = DataFile::open(path, LockWait::Timeout(Duration::from_secs(60))).unwrap();
    let mut store = plock_store_memory::MemoryStore::load(&mut file).unwrap();
    let account = Account::new(
        AccountId::new(key).unwrap(),
        AccountKey::new(key).unwrap(),
        AccountName::new(key).unwrap(),
        Contact::default(),
        Currency::EUR,
        chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
    );
    store
        .apply(Batch::one(Change::AddAccount { account }))
        .unwrap();
    store.save(&mut file).unwrap();
}

fn account_count(path: &Path) -> usize {
    let mut file = DataFile::open(path, LockWait::NoWait).unwrap();
    plock_store_memory::MemoryStore::load(&mut file)
        .unwrap()
        .book()
        .len()
}

/// With PLOCK_TEST_ADDER set: adds 200 accounts, one locked load-apply-save each. Alone: 5.
#[test]
fn adder() {
    let mut solo = None;
    let (path, prefix, n) = match (
        std::env::var_os("PLOCK_TEST_ADDER"),
        std::env::var("PLOCK_TEST_PREFIX"),
    ) {
        (Some(path), Ok(prefix)) => (PathBuf::from(path), prefix, 200),
        _ => {
            let dir = solo.insert(scratch("adder"));
            (dir.join("plock.data"), "solo".to_owned(), 5)
        }
    };
    for i in 0..n {
        add_account(&path, &format!("{prefix}-{i}"));
    }
    if prefix == "solo" {
        assert_eq!(account_count(&path), 5);
    }
}

#[test]
fn two_processes_adding_200_accounts_each_lose_none() {
    let dir = scratch("concurrent");
    let path = dir.join("plock.data");
    let mut children: Vec<_> = ["a", "b"]
        .iter()
        .map(|prefix| {
            let mut cmd = child("durability::adder", &[("PLOCK_TEST_ADDER", &path)]);
            cmd.env("PLOCK_TEST_PREFIX", prefix);
            cmd.spawn().unwrap()
        })
        .collect();
    for c in &mut children {
        assert!(c.wait().unwrap().success());
    }
    assert_eq!(account_count(&path), 400, "accounts were lost");
}

#[test]
fn a_held_lock_is_reported_in_use_or_times_out() {
    let dir = scratch("lock");
    let path = dir.join("plock.data");
    let _held = DataFile::open(&path, LockWait::NoWait).unwrap();
    let err = DataFile::open(&path, LockWait::NoWait).unwrap_err();
    assert!(matches!(err, DataFileError::InUse { .. }));
    assert!(
        err.to_string()
            .contains("is in use by another plock process"),
        "{err}"
    );
    let err = DataFile::open(&path, LockWait::Timeout(Duration::from_millis(50))).unwrap_err();
    assert!(matches!(err, DataFileError::LockTimeout { .. }), "{err}");
}

#[test]
fn a_corrupt_truncated_or_newer_file_is_refused_and_never_overwritten() {
    let dir = scratch("refuse");
    let path = dir.join("plock.data");
    let good = plock_store_memory::encode(&state(7)).unwrap();
    let newer = String::from_utf8(good.clone())
        .unwrap()
        .replacen("version 1", "version 9", 1)
        .into_bytes();
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("truncated", good[..good.len() - 10].to_vec()),
        ("corrupt", {
            let mut b = good.clone();
            let last = b.len() - 3;
            b[last] ^= 1;
            b
        }),
        ("newer", newer),
        ("garbage", b"hello".to_vec()),
    ];
    for (what, bytes) in cases {
        std::fs::write(&path, &bytes).unwrap();
        let mut file = DataFile::open(&path, LockWait::NoWait).unwrap();
        let err = file.load::<Vec<String>>().unwrap_err();
        let message = err.to_string();
        match what {
            "truncated" => assert!(matches!(err, DataFileError::Truncated { .. }), "{message}"),
            "newer" => assert!(
                message.contains("format version 9, newer than the 1"),
                "{message}"
            ),
            _ => assert!(matches!(err, DataFileError::Corrupt { .. }), "{message}"),
        }
        assert!(
            file.save(&state(8)).is_err(),
            "{what}: save after a failed load was allowed"
        );
        assert_eq!(
            std::fs::read(&path).unwrap(),
            bytes,
            "{what}: the file was overwritten"
        );
    }
}
