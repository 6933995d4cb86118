//! A usage import in blocks: records come back exactly as the blocks held them, an import
//! dropped uncommitted writes nothing, and a key no account holds is refused.

use chrono::{TimeZone, Utc};
use plock_core::import::UsageBlock;
use plock_core::{id::*, money::*, store::*, usage::*};
use rust_decimal::Decimal;

use crate::support::{account, fresh_store, record, server};

fn records() -> Vec<UsageRecord> {
    let mut records = vec![
        record("key-a", 3, Decimal::new(1250, 2), Some("r1")),
        record("key-b", 4, Decimal::new(7, 0), None),
    ];
    let at = Utc
        .with_ymd_and_hms(2025, 1, 31, 23, 59, 59)
        .unwrap()
        .checked_add_signed(chrono::Duration::nanoseconds(123_456_789))
        .unwrap();
    let odd = AccountKey::new("key,\"b\"").unwrap();
    records.push(
        UsageRecord::new(
            odd,
            MetricId::new("calls").unwrap(),
            at,
            Decimal::new(1, 28),
            None,
        )
        .unwrap(),
    );
    records
}

#[test]
fn usage_imported_in_blocks_comes_back_exactly_and_only_once_committed() {
    let Some(server) =
        server("usage_imported_in_blocks_comes_back_exactly_and_only_once_committed")
    else {
        return;
    };
    let mut store = fresh_store(&server);
    let accounts = [("a", "key-a"), ("b", "key-b"), ("c", "key,\"b\"")];
    let changes = accounts
        .iter()
        .map(|(id, key)| Change::AddAccount {
            account: account(id, key, Currency::EUR),
        })
        .collect();
    store.apply(Batch { changes }).unwrap();
    let records = records();
    let (first, second) = records.split_at(1);
    let blocks = [
        UsageBlock::from_records(first),
        UsageBlock::from_records(second),
    ];

    let mut import = store.usage_import().unwrap();
    import.add(blocks[0].clone()).unwrap();
    drop(import);
    assert!(store.company().unwrap().usage.is_empty());

    let mut import = store.usage_import().unwrap();
    for block in &blocks {
        import.add(block.clone()).unwrap();
    }
    assert_eq!(import.commit().unwrap(), 3);
    let mut stored = store.company().unwrap().usage;
    stored.sort();
    let mut expected = records;
    expected.sort();
    assert_eq!(stored, expected);
    for (s, e) in stored.iter().zip(&expected) {
        assert_eq!(
            (s.timestamp(), s.quantity().scale()),
            (e.timestamp(), e.quantity().scale())
        );
    }

    let ghost = [record("ghost", 5, Decimal::ONE, None)];
    let mut import = store.usage_import().unwrap();
    // The block is written while the caller goes on: the refusal comes by the commit.
    let refused = import
        .add(UsageBlock::from_records(&ghost))
        .and_then(|()| import.commit().map(drop))
        .unwrap_err();
    assert!(
        matches!(&refused, StoreError::NotFound { id, .. } if id == "ghost"),
        "{refused}"
    );
    assert_eq!(store.company().unwrap().usage.len(), 3);
}

/// Records of `key-a` with ids in the form the import makes up, of one chunk.
fn made_up(quantity: i64) -> Vec<UsageRecord> {
    (1..=3)
        .map(|line| {
            let id = format!("file-00ab-{line}");
            record("key-a", line, Decimal::new(quantity, 0), Some(&id))
        })
        .collect()
}

#[test]
fn a_chunk_imported_twice_is_billed_once_and_read_by_key_and_period() {
    let Some(server) = server("a_chunk_imported_twice_is_billed_once_and_read_by_key_and_period")
    else {
        return;
    };
    let mut store = fresh_store(&server);
    let changes = [("a", "key-a"), ("b", "key-b")]
        .iter()
        .map(|(id, key)| Change::AddAccount {
            account: account(id, key, Currency::EUR),
        })
        .collect();
    store.apply(Batch { changes }).unwrap();
    let chunk = made_up(5);
    let other = [record("key-b", 2, Decimal::ONE, Some("file-00cd-1"))];
    for blocks in [vec![&chunk[..], &other[..]], vec![&chunk[..]]] {
        let mut import = store.usage_import().unwrap();
        for records in blocks {
            import.add(UsageBlock::from_records(records)).unwrap();
        }
        import.commit().unwrap();
    }
    // The chunk's ids are held twice and read as stored, so each record counts once; the
    // other chunk's id is held once and left out, which changes nothing.
    let mut once: Vec<UsageRecord> = chunk.clone();
    once.push(record("key-b", 2, Decimal::ONE, None));
    assert_eq!(
        store.usage_table().unwrap(),
        UsageTable::from_records(&once).unwrap()
    );
    let (_, billed) = store.run_input().unwrap();
    assert_eq!(billed, UsageTable::from_records(&once).unwrap());

    let key = AccountKey::new("key-a").unwrap();
    let january = plock_core::period::Period::new(
        chrono::NaiveDate::from_ymd_opt(2025, 1, 2).unwrap(),
        chrono::NaiveDate::from_ymd_opt(2025, 1, 4).unwrap(),
    )
    .unwrap();
    let read = store.usage(std::slice::from_ref(&key), &january).unwrap();
    let mut expected: Vec<UsageRecord> = [&chunk[1], &chunk[1], &chunk[2], &chunk[2]]
        .into_iter()
        .cloned()
        .collect();
    expected.sort();
    assert_eq!(read, expected);
}
