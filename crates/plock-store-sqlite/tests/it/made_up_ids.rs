//! A run's usage leaves out the made-up record ids no two records share, and resolves every
//! re-sent record as the records themselves resolve: the table `run_input` reads equals the
//! one packed from `company()`'s records, whatever the ids, blocks and rows.

use plock_core::store::{Batch, Change};
use plock_core::*;
use plock_store_sqlite::SqliteStore;
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::support::{account, record};

/// A store with accounts `key-a` and `key-b`, `rows` written as a batch, and each of
/// `blocks` imported as one block.
fn store_with(rows: &[UsageRecord], blocks: &[Vec<UsageRecord>]) -> SqliteStore {
    let mut store = SqliteStore::in_memory().unwrap();
    let mut changes = vec![
        Change::AddAccount {
            account: account("a", "key-a", Currency::EUR),
        },
        Change::AddAccount {
            account: account("b", "key-b", Currency::EUR),
        },
    ];
    if !rows.is_empty() {
        changes.push(Change::AddUsage {
            records: rows.to_vec(),
        });
    }
    store.apply(Batch { changes }).unwrap();
    let mut import = store.usage_import().unwrap();
    for block in blocks {
        import.add(block).unwrap();
    }
    import.commit().unwrap();
    store
}

/// The run's table, checked against the records' own.
fn check_run_usage(store: &SqliteStore) -> UsageTable {
    let (_, usage) = store.run_input().unwrap();
    let packed = store.company().unwrap().usage_table().unwrap();
    assert_eq!(usage, packed);
    usage
}

fn made_up(line: u32, day: u32, quantity: i64) -> UsageRecord {
    let id = format!("file-00000000000000a1-{line}");
    record("key-a", day, Decimal::new(quantity, 0), Some(&id))
}

#[test]
fn a_chunk_imported_twice_is_counted_once() {
    let chunk: Vec<UsageRecord> = (1..=5).map(|n| made_up(n, n, 10)).collect();
    let once = check_run_usage(&store_with(&[], std::slice::from_ref(&chunk)));
    let twice = check_run_usage(&store_with(&[], &[chunk.clone(), chunk]));
    assert_eq!(twice, once);
    assert_eq!(twice.len(), 5);
}

#[test]
fn a_made_up_id_written_by_a_batch_and_imported_is_counted_once() {
    let rows = [made_up(3, 3, 10)];
    let blocks = [vec![made_up(2, 2, 10), made_up(3, 3, 20)]];
    let usage = check_run_usage(&store_with(&rows, &blocks));
    assert_eq!(usage.len(), 2);
}

#[test]
fn a_made_up_id_twice_in_one_block_is_counted_once() {
    let blocks = [vec![
        made_up(1, 1, 10),
        made_up(2, 2, 10),
        made_up(1, 1, 30),
    ]];
    let usage = check_run_usage(&store_with(&[], &blocks));
    assert_eq!(usage.len(), 2);
}

/// A record id from a small pool, so that ids meet: none, made up (two fingerprints, the
/// first also written without its leading zeros), or given by a file.
fn id(choice: u8) -> Option<String> {
    match choice {
        0 => None,
        1..=3 => Some(format!("file-00000000000000a1-{choice}")),
        4 | 5 => Some(format!("file-b2-{choice}")),
        6 => Some("file-a1-1".to_owned()),
        _ => Some(format!("r-{choice}")),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_run_reads_what_the_records_hold(
        records in prop::collection::vec((0..4usize, any::<bool>(), 1..28u32, 1..50i64, 0..8u8), 1..40)
    ) {
        let mut sources: [Vec<UsageRecord>; 4] = Default::default();
        for (source, b, day, quantity, choice) in records {
            let key = if b { "key-b" } else { "key-a" };
            let r = record(key, day, Decimal::new(quantity, 1), id(choice).as_deref());
            sources[source].push(r);
        }
        let [rows, blocks @ ..] = sources;
        check_run_usage(&store_with(&rows, &blocks));
    }
}
