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
    fill(SqliteStore::in_memory().unwrap(), rows, blocks)
}

/// `store` with what [`store_with`] adds.
fn fill(mut store: SqliteStore, rows: &[UsageRecord], blocks: &[Vec<UsageRecord>]) -> SqliteStore {
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

/// The header of the chunks the checker reads.
const HEADER: &str = "account_key,metric,timestamp,quantity,record_id";

/// A row of a chunk: `None` for a blank row, else (key-b?, day, quantity, record id cell).
type ChunkRow = Option<(bool, u32, i64, String)>;

/// The block a usage import makes of a chunk of `rows`, and the records `parse_usage` reads
/// from the chunk (the ids it makes up included).
fn chunk(book: &AccountBook, rows: &[ChunkRow]) -> (import::UsageBlock, Vec<UsageRecord>) {
    let lines: Vec<String> = rows
        .iter()
        .map(|row| match row {
            None => ",,,,".to_owned(),
            Some((b, day, quantity, id)) => {
                let key = if *b { "key-b" } else { "key-a" };
                format!("{key},calls,2025-01-{day:02}T13:30:00Z,{quantity},{id}")
            }
        })
        .collect();
    let numbered: Vec<(u64, &[u8])> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| (i as u64 + 2, l.as_bytes()))
        .collect();
    let block = import::UsageChecker::new(HEADER, book)
        .check(&numbered)
        .unwrap();
    let text = format!("{HEADER}\n{}\n", lines.join("\n"));
    let records = import::parse_usage(text.as_bytes(), book).unwrap();
    (block, records)
}

/// Records as comparable text, in a fixed order.
fn sorted(records: &[UsageRecord]) -> Vec<String> {
    let mut out: Vec<String> = records.iter().map(|r| format!("{r:?}")).collect();
    out.sort();
    out
}

/// What a test adds to a store, in turn.
#[derive(Debug, Clone)]
enum Source {
    /// A chunk of a file, imported as the checker makes it.
    Chunk(Vec<ChunkRow>),
    /// An earlier chunk imported again (the `n`th chunk, counted round).
    Again(usize),
    /// Records imported as a block of their own, ids in the text.
    Records(Vec<(bool, u32, i64, u8)>),
}

/// A record id cell of a chunk's row: made up (empty), given, or given looking like a
/// made-up id of an earlier chunk (`fingerprints`), plain or quoted.
fn id_cell(choice: u8, fingerprints: &[u64]) -> String {
    let earlier = |n: usize| fingerprints.get(n % fingerprints.len().max(1)).copied();
    match choice {
        0..=4 => String::new(),
        5 => format!("r-{choice}"),
        _ => earlier(usize::from(choice)).map_or_else(
            || "r-x".to_owned(),
            |fp| format!("file-{fp:016x}-{}", choice % 4 + 2),
        ),
    }
}

/// A record id of a record imported on its own: none, given, or one of an earlier chunk's
/// made-up ids, plain or inside a quoted id.
fn record_id(choice: u8, fingerprints: &[u64]) -> Option<String> {
    let fp = fingerprints.get(usize::from(choice) % fingerprints.len().max(1));
    match (choice % 4, fp) {
        (0, _) | (_, None) => None,
        (1, _) => Some(format!("r-{choice}")),
        (2, Some(fp)) => Some(format!("file-{fp:016x}-{}", choice % 5 + 2)),
        (_, Some(fp)) => Some(format!("q,file-{fp:016x}-{}", choice % 5 + 2)),
    }
}

/// A store holding `sources` imported in turn (each its own import), and the records put in.
fn store_of(sources: &[Source]) -> (SqliteStore, Vec<UsageRecord>) {
    store_in(SqliteStore::in_memory().unwrap(), sources)
}

/// `store` with accounts `key-a` and `key-b` and `sources`, as [`store_of`] says.
fn store_in(store: SqliteStore, sources: &[Source]) -> (SqliteStore, Vec<UsageRecord>) {
    let mut store = fill(store, &[], &[]);
    let book = store.account_book().unwrap();
    let mut chunks: Vec<(import::UsageBlock, Vec<UsageRecord>)> = Vec::new();
    let mut fingerprints = Vec::new();
    let mut put = Vec::new();
    for source in sources {
        let mut import = store.usage_import().unwrap();
        match source {
            Source::Chunk(rows) => {
                let rows: Vec<ChunkRow> = rows
                    .iter()
                    .map(|row| {
                        row.clone().map(|(b, day, q, id)| {
                            (b, day, q, id_cell(id.len() as u8, &fingerprints))
                        })
                    })
                    .collect();
                let (block, records) = chunk(&book, &rows);
                if let Some(made_up) = block.made_up_ids() {
                    fingerprints.push(made_up.fingerprint());
                }
                import.add_block(&block).unwrap();
                put.extend(records.iter().cloned());
                chunks.push((block, records));
            }
            Source::Again(n) if !chunks.is_empty() => {
                let (block, records) = &chunks[n % chunks.len()];
                import.add_block(block).unwrap();
                put.extend(records.iter().cloned());
            }
            Source::Again(_) => {}
            Source::Records(records) => {
                let records: Vec<UsageRecord> = records
                    .iter()
                    .map(|(b, day, q, id)| {
                        let key = if *b { "key-b" } else { "key-a" };
                        let id = record_id(*id, &fingerprints);
                        record(key, *day, Decimal::new(*q, 0), id.as_deref())
                    })
                    .collect();
                import.add(&records).unwrap();
                put.extend(records);
            }
        }
        import.commit().unwrap();
    }
    (store, put)
}

fn source() -> impl Strategy<Value = Source> {
    // The id choice of a chunk's row is the length of its string (see `id_cell`).
    let row = prop::option::weighted(0.9, (any::<bool>(), 1..28u32, 1..50i64, "[a-z]{0,9}"));
    prop_oneof![
        4 => prop::collection::vec(row, 1..8).prop_map(Source::Chunk),
        1 => (0..8usize).prop_map(Source::Again),
        1 => prop::collection::vec((any::<bool>(), 1..28u32, 1..50i64, any::<u8>()), 1..5)
            .prop_map(Source::Records),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    /// Chunks stored without their made-up ids, beside chunks imported twice, ids given by
    /// a file (made-up-looking ones too, plain or quoted) and blocks of records: the run's
    /// table is the records' own, and the store reads back the records put in.
    #[test]
    fn blocks_without_made_up_ids_read_as_their_records(
        sources in prop::collection::vec(source(), 1..7)
    ) {
        let (store, put) = store_of(&sources);
        check_run_usage(&store);
        prop_assert_eq!(sorted(&store.company().unwrap().usage), sorted(&put));
    }
}

#[test]
fn a_file_without_ids_is_stored_without_them_and_read_with_them() {
    let rows: Vec<ChunkRow> = (1..=4)
        .map(|day| Some((day % 2 == 0, day, 10, String::new())))
        .collect();
    let dir = crate::support::temp_dir();
    let path = dir.path().join("company.plock");
    let sources = [
        Source::Chunk(rows.clone()),
        Source::Chunk(rows[1..].to_vec()),
    ];
    let (store, put) = store_in(SqliteStore::create(&path).unwrap(), &sources);
    let texts = store_rows(&path);
    assert_eq!(texts.len(), 2);
    for (text, fingerprint, first) in &texts {
        assert!(text.lines().all(|l| l.ends_with(',')), "{text}");
        assert!(fingerprint.is_some());
        assert_eq!(*first, Some(2));
    }
    assert_eq!(sorted(&store.company().unwrap().usage), sorted(&put));
    // One account's usage, read from the blocks holding its key, with the ids too.
    let key = AccountKey::new("key-b").unwrap();
    let january = plock_core::period::Period::new(
        crate::support::date(2025, 1, 1),
        crate::support::date(2025, 2, 1),
    )
    .unwrap();
    let of_b: Vec<UsageRecord> = put
        .iter()
        .filter(|r| r.account() == &key)
        .cloned()
        .collect();
    assert_eq!(
        sorted(&store.usage(&[key], &january).unwrap()),
        sorted(&of_b)
    );
    assert_eq!(check_run_usage(&store).len(), 7);
    // The same chunk twice: counted once, the run's table as the records say.
    let (twice, _) = store_of(&[Source::Chunk(rows.clone()), Source::Again(0)]);
    assert_eq!(check_run_usage(&twice).len(), 4);
}

/// The text and made-up id columns of every block, in order.
fn store_rows(path: &std::path::Path) -> Vec<(String, Option<String>, Option<i64>)> {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.prepare("SELECT csv, made_up_fingerprint, made_up_first FROM usage_blocks ORDER BY id")
        .unwrap()
        .query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap()
}

/// Writes the made-up ids of every block stored without them back into its text and drops
/// their columns, marking the database version 7, as a plock of that version left it.
pub fn to_version_7(conn: &rusqlite::Connection) {
    let blocks: Vec<(i64, String, Option<String>, Option<i64>)> = conn
        .prepare("SELECT id, csv, made_up_fingerprint, made_up_first FROM usage_blocks")
        .unwrap()
        .query_map([], |row| {
            Ok((row.get(0)?, row.get(1)?, row.get(2)?, row.get(3)?))
        })
        .unwrap()
        .collect::<Result<_, _>>()
        .unwrap();
    for (id, text, fingerprint, first) in blocks {
        let (Some(fingerprint), Some(first)) = (fingerprint, first) else {
            continue;
        };
        let fingerprint = u64::from_str_radix(&fingerprint, 16).unwrap();
        let made_up = import::MadeUpIds::new(fingerprint, first as u64);
        let mut out = Vec::new();
        made_up.write_into(text.as_bytes(), &mut out);
        conn.execute(
            "UPDATE usage_blocks SET csv = ?2 WHERE id = ?1",
            rusqlite::params![id, String::from_utf8(out).unwrap()],
        )
        .unwrap();
    }
    conn.execute_batch(
        "ALTER TABLE usage_blocks DROP COLUMN made_up_first;
         ALTER TABLE usage_blocks DROP COLUMN made_up_fingerprint;
         PRAGMA user_version = 7;",
    )
    .unwrap();
}

#[test]
fn a_version_7_database_with_ids_in_its_blocks_bills_the_same() {
    let dir = crate::support::temp_dir();
    let path = dir.path().join("company.plock");
    let rows: Vec<ChunkRow> = (1..=5)
        .map(|day| Some((day % 2 == 0, day, 10, String::new())))
        .collect();
    let given = vec![(false, 3, 7, 2), (true, 4, 8, 1)];
    let sources = [
        Source::Chunk(rows.clone()),
        Source::Chunk(rows[2..].to_vec()),
        Source::Records(given),
    ];
    let (store, put) = store_in(SqliteStore::create(&path).unwrap(), &sources);
    let table = check_run_usage(&store);
    drop(store);
    to_version_7(&rusqlite::Connection::open(&path).unwrap());
    let store = SqliteStore::open(&path).unwrap();
    let stored = store_rows(&path);
    assert!(stored.iter().all(|(text, fingerprint, first)| {
        fingerprint.is_none() && first.is_none() && !text.lines().any(|l| l.ends_with(','))
    }));
    assert_eq!(check_run_usage(&store), table);
    assert_eq!(sorted(&store.company().unwrap().usage), sorted(&put));
    // The first chunk imported again, now beside its copy with ids in the text.
    let mut store = store;
    let book = store.account_book().unwrap();
    let (block, again) = chunk(&book, &rows);
    assert!(block.made_up_ids().is_some());
    let mut import = store.usage_import().unwrap();
    import.add_block(&block).unwrap();
    import.commit().unwrap();
    assert_eq!(check_run_usage(&store), table);
    let mut all = put;
    all.extend(again);
    assert_eq!(sorted(&store.company().unwrap().usage), sorted(&all));
    store.check().unwrap();
}
