//! What the command needs beyond the port: the run's input, dry runs, chunked usage imports,
//! backups, and the files beside a database.

use plock_core::period::Period;
use plock_core::store::{Batch, Change, StoreError};
use plock_core::*;
use plock_store_sqlite::SqliteStore;
use rust_decimal::Decimal;

use crate::support::{account, dump, record, subscription, temp_dir};

/// A store holding usage with and without record ids, re-sent ids and several scales.
fn with_usage(store: &mut SqliteStore) {
    store
        .apply(Batch {
            changes: vec![
                Change::AddAccount {
                    account: account("a", "key-a", Currency::EUR),
                },
                Change::AddAccount {
                    account: account("b", "key-b", Currency::EUR),
                },
                Change::PutSubscription {
                    subscription: subscription("s-a", "a", Currency::EUR, true),
                },
            ],
        })
        .unwrap();
    let mut records = Vec::new();
    for day in 1..=28 {
        records.push(record(
            "key-a",
            day,
            Decimal::new(i64::from(day) * 15, 1),
            None,
        ));
        records.push(record("key-b", day, Decimal::new(7, 0), Some("same")));
        records.push(record(
            "key-b",
            day,
            Decimal::new(12_345, 3),
            Some(&format!("r{day}")),
        ));
    }
    store
        .apply(Batch::one(Change::AddUsage { records }))
        .unwrap();
}

#[test]
fn the_run_input_is_the_company_packed_without_records_in_between() {
    let mut store = SqliteStore::in_memory().unwrap();
    with_usage(&mut store);
    let company = store.company().unwrap();
    let packed = company.usage_table().unwrap();
    let (input, usage) = store.run_input().unwrap();
    assert_eq!(usage, packed);
    assert_eq!(usage.len(), packed.len());
    assert!(input.usage.is_empty());
    assert_eq!(input.accounts, company.accounts);
    assert_eq!(input.subscriptions, company.subscriptions);
    assert_eq!(input.metrics, company.metrics);
}

#[test]
fn a_dry_run_refuses_as_apply_does_and_writes_nothing() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    with_usage(&mut store);
    let before = dump(&path);
    let good = Batch::one(Change::AddAccount {
        account: account("c", "key-c", Currency::EUR),
    });
    store.dry_run(&good).unwrap();
    assert_eq!(dump(&path), before);
    let bad = Batch {
        changes: vec![
            Change::AddAccount {
                account: account("d", "key-d", Currency::EUR),
            },
            Change::AddAccount {
                account: account("d", "key-d", Currency::EUR),
            },
        ],
    };
    assert!(matches!(
        store.dry_run(&bad),
        Err(StoreError::Account { index: 1, .. })
    ));
    assert_eq!(dump(&path), before);
}

#[test]
fn a_usage_import_is_written_on_commit_only() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    with_usage(&mut store);
    let before = dump(&path);
    {
        let mut import = store.usage_import().unwrap();
        import
            .add(&[record("key-a", 3, Decimal::ONE, None)])
            .unwrap();
        // Dropped uncommitted.
    }
    assert_eq!(dump(&path), before);
    let mut import = store.usage_import().unwrap();
    for _ in 0..3 {
        import
            .add(&[record("key-a", 3, Decimal::ONE, Some("x"))])
            .unwrap();
    }
    assert_eq!(import.commit().unwrap(), 3);
    assert_eq!(store.company().unwrap().usage.len(), 28 * 3 + 3);
    // A key that names no account is refused at the commit, and nothing is written.
    let before = dump(&path);
    let mut import = store.usage_import().unwrap();
    import
        .add(&[
            record("key-a", 4, Decimal::ONE, None),
            record("nobody", 4, Decimal::ONE, None),
        ])
        .unwrap();
    assert!(import.commit().is_err());
    assert_eq!(dump(&path), before);
}

#[test]
fn a_backup_is_a_whole_copy_in_a_new_private_file() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    with_usage(&mut store);
    let copy = dir.path().join("copy.plock");
    store.backup_to(&copy).unwrap();
    assert_eq!(dump(&copy), dump(&path));
    let reopened = SqliteStore::open(&copy).unwrap();
    reopened.check().unwrap();
    assert_eq!(reopened.company().unwrap(), store.company().unwrap());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&copy).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    // An existing file is refused and left as it was.
    std::fs::write(dir.path().join("taken"), b"mine").unwrap();
    assert!(store.backup_to(&dir.path().join("taken")).is_err());
    assert_eq!(std::fs::read(dir.path().join("taken")).unwrap(), b"mine");
}

#[cfg(unix)]
#[test]
fn a_backup_never_writes_through_a_planted_link() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    with_usage(&mut store);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    let link = dir.path().join("backup.plock");
    std::os::unix::fs::symlink(&victim, &link).unwrap();
    assert!(store.backup_to(&link).is_err());
    assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
    // A dangling link is refused too: nothing is created where it points.
    let nowhere = dir.path().join("nowhere");
    let dangling = dir.path().join("dangling.plock");
    std::os::unix::fs::symlink(&nowhere, &dangling).unwrap();
    assert!(store.backup_to(&dangling).is_err());
    assert!(!nowhere.exists());
}

#[cfg(unix)]
#[test]
fn a_link_planted_beside_the_database_is_refused() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    with_usage(&mut store);
    drop(store);
    let victim = dir.path().join("victim");
    std::fs::write(&victim, b"precious").unwrap();
    for suffix in ["-wal", "-shm", "-journal"] {
        let link = dir.path().join(format!("company.plock{suffix}"));
        std::os::unix::fs::symlink(&victim, &link).unwrap();
        let refused = SqliteStore::open(&path).unwrap_err().to_string();
        assert!(refused.contains("symbolic link"), "{refused}");
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        std::fs::remove_file(&link).unwrap();
    }
    SqliteStore::open(&path).unwrap();
}

#[cfg(unix)]
#[test]
fn a_database_reached_through_a_link_is_one_database() {
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mut store = SqliteStore::create(&path).unwrap();
    with_usage(&mut store);
    drop(store);
    let link = dir.path().join("link.plock");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let mut through_link = SqliteStore::open(&link).unwrap();
    through_link
        .apply(Batch::one(Change::AddAccount {
            account: account("c", "key-c", Currency::EUR),
        }))
        .unwrap();
    drop(through_link);
    // The write went to the file itself; the link is still a link.
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
    let direct = SqliteStore::open(&path).unwrap();
    assert_eq!(direct.company().unwrap().accounts.len(), 3);
}

#[cfg(unix)]
#[test]
fn permissions_of_a_database_are_kept_and_a_new_one_is_private() {
    use std::os::unix::fs::PermissionsExt;
    let dir = temp_dir();
    let path = dir.path().join("company.plock");
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    let store = SqliteStore::create(&path).unwrap();
    drop(store);
    assert_eq!(mode(&path), 0o600);
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    let mut store = SqliteStore::open(&path).unwrap();
    with_usage(&mut store);
    // While open, the log and shared memory beside it are no more open than the file.
    for side in ["company.plock-wal", "company.plock-shm"] {
        let side = dir.path().join(side);
        if side.exists() {
            assert_eq!(mode(&side) & !0o640, 0, "{}", side.display());
        }
    }
    drop(store);
    assert_eq!(mode(&path), 0o640);
    // No other file is left in the folder: nothing at a guessable temporary name.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["company.plock"]);
}

/// Two stores with the same accounts; `records` applied as a batch to one, imported in two
/// blocks into the other.
fn applied_and_imported(records: &[UsageRecord]) -> (SqliteStore, SqliteStore) {
    let mut applied = SqliteStore::in_memory().unwrap();
    let mut imported = SqliteStore::in_memory().unwrap();
    for store in [&mut applied, &mut imported] {
        store
            .apply(Batch {
                changes: vec![
                    Change::AddAccount {
                        account: account("a", "key-a", Currency::EUR),
                    },
                    Change::AddDiscovered {
                        account: account("b", "key-b", Currency::EUR),
                    },
                ],
            })
            .unwrap();
    }
    applied
        .apply(Batch::one(Change::AddUsage {
            records: records.to_vec(),
        }))
        .unwrap();
    let (first, second) = records.split_at(records.len() / 2);
    let mut import = imported.usage_import().unwrap();
    import.add(first).unwrap();
    import.add(second).unwrap();
    import.commit().unwrap();
    (applied, imported)
}

#[test]
fn imported_blocks_read_as_the_same_records_as_rows() {
    let mut records = Vec::new();
    for day in 1..=20 {
        records.push(record("key-a", day, Decimal::new(i64::from(day), 2), None));
        // The same record id in both blocks: counted once either way.
        records.push(record("key-b", day, Decimal::new(5, 0), Some("again")));
        records.push(record(
            "key-a",
            day,
            Decimal::new(17, 1),
            Some(&format!("id,{day}")),
        ));
    }
    let (applied, imported) = applied_and_imported(&records);
    assert_eq!(imported.company().unwrap(), applied.company().unwrap());
    let (_, from_rows) = applied.run_input().unwrap();
    let (_, from_blocks) = imported.run_input().unwrap();
    assert_eq!(from_blocks, from_rows);
    assert_eq!(
        from_blocks,
        imported.company().unwrap().usage_table().unwrap()
    );
    let period = Period::new(
        crate::support::date(2025, 1, 5),
        crate::support::date(2025, 1, 9),
    )
    .unwrap();
    let keys = [AccountKey::new("key-a").unwrap()];
    let read = imported.usage(&keys, &period).unwrap();
    assert_eq!(read, applied.usage(&keys, &period).unwrap());
    assert_eq!(read.len(), 8);
}

#[test]
fn an_account_with_imported_usage_is_not_dismissed() {
    let (_, mut imported) = applied_and_imported(&[record("key-b", 2, Decimal::ONE, None)]);
    let refused = imported.apply(Batch::one(Change::Dismiss {
        id: crate::support::aid("b"),
    }));
    assert!(
        matches!(refused, Err(StoreError::Conflict { index: 0, .. })),
        "{refused:?}"
    );
}
