use chrono::{TimeZone, Utc};
use plock_core::id::RecordId;
use plock_core::import::UsageBlock;
use plock_core::store::StoreError;
use plock_core::{AccountKey, MetricId, UsageRecord};
use rust_decimal::Decimal;

use super::{HOLD_BYTES, KeyBlocks, Row};
use crate::owners::Owners;

fn record(key: &str, second: u32, id: Option<&str>) -> UsageRecord {
    UsageRecord::new(
        AccountKey::new(key).unwrap(),
        MetricId::new("api_calls").unwrap(),
        Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, second).unwrap(),
        Decimal::new(150, 2),
        id.map(|id| RecordId::new(id).unwrap()),
    )
    .unwrap()
}

fn owners() -> Owners {
    let mut owners = Owners::with_capacity(4);
    owners.insert("plain".into(), "o-plain".into());
    owners.insert("a,\"quoted\" key".into(), "o-quoted".into());
    owners
}

/// The rows written, as (owner, key, records read back from the row's lines).
fn rows_of(blocks: &[UsageBlock]) -> Vec<(String, String, Vec<UsageRecord>)> {
    let owners = owners();
    let mut keys = KeyBlocks::default();
    let mut rows = Vec::new();
    let mut write = |row: Row<'_>| {
        let text = String::from_utf8(row.lines.to_vec()).unwrap();
        let block = UsageBlock::from_stored(text, usize::try_from(row.records).unwrap(), None);
        let mut records = Vec::new();
        block.for_each_record(|r| {
            records.push(
                UsageRecord::new(
                    AccountKey::new(r.account).unwrap(),
                    MetricId::new(r.metric).unwrap(),
                    r.timestamp,
                    r.quantity,
                    r.record_id.map(|id| RecordId::new(id).unwrap()),
                )
                .unwrap(),
            );
            Ok::<(), StoreError>(())
        })?;
        assert_eq!(records.len(), block.len());
        rows.push((row.owner.to_owned(), row.key.to_owned(), records));
        Ok(())
    };
    for block in blocks {
        keys.add(&owners, block.clone(), &mut write).unwrap();
    }
    keys.flush(&mut write).unwrap();
    rows.sort_by(|a, b| a.1.cmp(&b.1));
    rows
}

#[test]
fn each_keys_records_go_to_one_row_under_its_owner_quoted_keys_included() {
    let quoted = "a,\"quoted\" key";
    let first = [
        record("plain", 1, Some("file-ab-1")),
        record(quoted, 2, Some("id, \"with\" quotes")),
        record("plain", 3, None),
    ];
    let second = [record(quoted, 4, None), record("plain", 5, Some("x"))];
    let rows = rows_of(&[
        UsageBlock::from_records(&first),
        UsageBlock::from_records(&second),
    ]);
    let [(o1, k1, r1), (o2, k2, r2)] = rows.as_slice() else {
        panic!("two rows expected: {rows:?}");
    };
    assert_eq!((o1.as_str(), k1.as_str()), ("o-quoted", quoted));
    assert_eq!(r1, &[first[1].clone(), second[0].clone()]);
    assert_eq!((o2.as_str(), k2.as_str()), ("o-plain", "plain"));
    assert_eq!(r2, &[first[0].clone(), first[2].clone(), second[1].clone()]);
}

#[test]
fn a_key_no_account_holds_is_not_found() {
    let block = UsageBlock::from_records(&[record("nobody", 1, None)]);
    let mut keys = KeyBlocks::default();
    let err = keys
        .add(&owners(), block, &mut |_row: Row<'_>| Ok(()))
        .unwrap_err();
    assert!(
        matches!(err, StoreError::NotFound { ref id, .. } if id == "nobody"),
        "{err:?}"
    );
}

#[test]
fn held_lines_are_written_when_the_hold_is_full_and_each_key_keeps_its_order() {
    let records: Vec<UsageRecord> = (0..2_000).map(|n| record("plain", n % 60, None)).collect();
    let block = UsageBlock::from_records(&records);
    let blocks = HOLD_BYTES / block.text().len() + 1;
    let mut keys = KeyBlocks::default();
    let written = std::cell::RefCell::new((Vec::<u32>::new(), String::new()));
    let mut write = |row: Row<'_>| {
        let mut written = written.borrow_mut();
        written.0.push(row.records);
        written.1.push_str(std::str::from_utf8(row.lines).unwrap());
        Ok(())
    };
    for _ in 0..blocks {
        keys.add(&owners(), block.clone(), &mut write).unwrap();
    }
    let rows = written.borrow().0.len();
    assert_eq!(rows, 1, "one row once the hold is full");
    keys.flush(&mut write).unwrap();
    keys.flush(&mut write).unwrap();
    let (rows, texts) = written.into_inner();
    assert_eq!(rows.iter().sum::<u32>() as usize, 2_000 * blocks);
    assert_eq!(texts, block.text().repeat(blocks));
}
