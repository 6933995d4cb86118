//! The checker gives what `parse_usage` of the chunk gives: the same block text, or the same
//! problems in the same words, at the rows' lines in the file.

use proptest::prelude::*;

use super::usage_check::reference;
use super::{UsageBlock, UsageChecker, UsageRow, parse_usage};
use crate::account::{AccountName, Contact};
use crate::book::AccountBook;
use crate::id::{AccountId, AccountKey};
use crate::money::Currency;

fn book() -> AccountBook {
    let mut book = AccountBook::new();
    for (id, key) in [("a1", "894"), ("a2", "a b"), ("a3", "'=x"), ("a4", "=x")] {
        book.add(crate::account::Account::new(
            AccountId::new(id).unwrap(),
            AccountKey::new(key).unwrap(),
            AccountName::new(id).unwrap(),
            Contact::default(),
            Currency::EUR,
            chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        ))
        .unwrap();
    }
    book
}

fn check(header: &str, rows: &[String]) -> Result<(), TestCaseError> {
    let book = book();
    // The chunk starts on line 40 of its file; a blank line sits between rows 1 and 2.
    let rows: Vec<UsageRow<'_>> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (40 + i as u64 + u64::from(i > 0), r.as_bytes()))
        .collect();
    let found = UsageChecker::new(header, &book).check(&rows);
    let expected = reference(header, &rows, &book);
    match (&found, &expected) {
        (Ok(a), Ok(b)) => {
            prop_assert_eq!(a, b);
            keys_index_lines(a, &book)?;
        }
        (Err(a), Err(b)) => {
            prop_assert_eq!(a.errors(), b.errors());
            prop_assert_eq!(a.total(), b.total());
        }
        _ => prop_assert!(false, "{:?} against {:?}", found, expected),
    }
    Ok(())
}

/// The keys a block notes name lines of its text holding them, and a text that leaves ids
/// out has every id cell empty.
fn keys_index_lines(block: &UsageBlock, book: &AccountBook) -> Result<(), TestCaseError> {
    let text = block.text();
    if let Some(keys) = block.keys() {
        let all: Vec<&str> = book.keys().map(|k| k.as_str()).collect();
        for (place, offset) in keys.places() {
            prop_assert!(offset == 0 || text.as_bytes()[offset - 1] == b'\n');
            let key = text[offset..].split(',').next().unwrap();
            prop_assert_eq!(key, all[place as usize]);
        }
    }
    if block.made_up_ids().is_some() {
        prop_assert!(text.lines().all(|l| l.ends_with(',')), "{}", text);
    }
    Ok(())
}

const HEADERS: [&str; 4] = [
    "account_key,metric,timestamp,quantity",
    "account_key,metric,timestamp,quantity,record_id",
    "metric,account_key,timestamp,quantity",
    "account_key,metric,timestamp,quantity,bogus",
];

fn cell(choices: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(choices).prop_map(str::to_owned)
}

fn row() -> impl Strategy<Value = String> {
    let key = cell(&["894", "894", " 894", "895", "a b", "'=x", "=x", "'894", ""]);
    let metric = cell(&["calls", "calls", " calls", "'calls", "", "sms", "\u{200B}m"]);
    let time = cell(&[
        "2025-03-13T11:16:10.320Z",
        "2025-03-13T11:16:10.000Z",
        "2025-03-13T11:16:10Z",
        "2025-03-13T11:16:10.5Z",
        "2025-03-13T11:16:10.123456789Z",
        "2025-03-13 11:16:10",
        "2025-03-13",
        "2025-03-13T11:16:10+01:00",
        "2025-02-29T00:00:00Z",
        "0999-01-01T00:00:00Z",
        "yesterday",
        "",
    ]);
    let quantity = cell(&[
        "44.383738",
        "7",
        "007.50",
        "0",
        "0.000",
        "-1",
        "-0",
        "1e3",
        "5.",
        ".5",
        " 3",
        "99999999999999999999",
        "9223372036854775808",
        "123456789012345678",
        "",
    ]);
    let id = cell(&["", "", "r1", "r1", " r1", "'r", "'=r", "x y"]);
    let extra = cell(&["", "", "", ",", ",more", "drop"]);
    (key, metric, time, quantity, id, extra).prop_map(|(k, m, t, q, id, extra)| {
        match extra.as_str() {
            "drop" => format!("{k},{m},{t}"),
            _ => format!("{k},{m},{t},{q},{id}{extra}"),
        }
    })
}

/// A row of four cells for a four-column header: the fifth cell cut off.
fn four(row: &str) -> String {
    match row.match_indices(',').nth(3) {
        Some((i, _)) => row[..i].to_owned(),
        None => row.to_owned(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn the_checker_gives_what_parse_usage_gives(
        header in proptest::sample::select(&HEADERS[..]),
        rows in proptest::collection::vec(row(), 1..8),
        cut in any::<bool>(),
    ) {
        let rows: Vec<String> = match cut {
            true => rows.iter().map(|r| four(r)).collect(),
            false => rows,
        };
        check(header, &rows)?;
    }

    #[test]
    fn rows_in_the_common_form_give_what_parse_usage_gives(
        rows in proptest::collection::vec(
            (0u32..100_000, 0u64..10_000_000_000u64, 0u64..1_000_000_000, any::<bool>()),
            1..30,
        ),
    ) {
        let rows: Vec<String> = rows
            .into_iter()
            .map(|(ms, nanos, q, id)| {
                let time = chrono::DateTime::from_timestamp(1_741_864_570 + i64::from(ms), (nanos % 1_000_000_000) as u32)
                    .unwrap()
                    .to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
                let id = if id { format!(",r{q}") } else { ",".to_owned() };
                format!("894,calls,{time},{}.{:03}{id}", q / 1000, q % 1000)
            })
            .collect();
        check(HEADERS[1], &rows)?;
    }
}

#[test]
fn a_chunk_in_the_common_form_is_copied_with_ids_from_the_chunk() {
    let book = book();
    let checker = UsageChecker::new("account_key,metric,timestamp,quantity", &book);
    let rows: [UsageRow<'_>; 2] = [
        (2, b"894,calls,2025-03-13T11:16:10.320Z,44.383738"),
        (3, b"a b,calls,2025-03-13T11:16:10.000Z,007.50"),
    ];
    let block = checker.check(&rows).unwrap();
    let text = "account_key,metric,timestamp,quantity\n894,calls,2025-03-13T11:16:10.320Z,44.383738\na b,calls,2025-03-13T11:16:10.000Z,007.50\n";
    let records = parse_usage(text.as_bytes(), &book).unwrap();
    assert_eq!(block, UsageBlock::from_records(&records));
    assert_eq!(block.len(), 2);
    // Every id is made up, lines 2 and 3: the text leaves them out.
    let made_up = block.made_up_ids().unwrap();
    assert_eq!(made_up.first(), 2);
    assert!(block.text().lines().all(|l| l.ends_with(',')));
    let full = block.text_with_ids();
    let lines: Vec<&str> = full.lines().collect();
    assert!(lines[0].starts_with("894,calls,2025-03-13T11:16:10.320Z,44.383738,file-"));
    assert!(lines[1].starts_with("a b,calls,2025-03-13T11:16:10Z,7.50,file-"));
    assert!(lines[1].ends_with("-3"));
}

#[test]
fn a_blocks_records_read_back_as_they_were_written() {
    let book = book();
    let text = "account_key,metric,timestamp,quantity,record_id\n\
                894,calls,2025-03-13T11:16:10.320Z,44.383738,r1\n\
                a b,calls,2025-03-13T11:16:10Z,0.50,\n";
    let records = parse_usage(text.as_bytes(), &book).unwrap();
    let block = UsageBlock::from_records(&records);
    let mut read = Vec::new();
    block
        .for_each_record(|r| {
            read.push((
                r.account.to_owned(),
                r.metric.to_owned(),
                r.timestamp,
                r.quantity,
                r.record_id.map(str::to_owned),
            ));
            Ok::<(), super::BlockError>(())
        })
        .unwrap();
    let written: Vec<_> = records
        .iter()
        .map(|r| {
            (
                r.account().to_string(),
                r.metric().to_string(),
                r.timestamp(),
                r.quantity(),
                r.record_id().map(|i| i.to_string()),
            )
        })
        .collect();
    assert_eq!(read, written);
    assert_eq!(block.account_keys().unwrap(), ["894", "a b"]);
}

#[test]
fn ids_are_left_out_only_of_a_stretch_of_made_up_ones() {
    let book = book();
    let header = "account_key,metric,timestamp,quantity,record_id";
    let checker = UsageChecker::new(header, &book);
    let keys = ["894", "a b"];
    let row = |i: usize, id: &str| format!("{},calls,2025-03-13T11:16:10Z,1,{id}", keys[i % 2]);
    let cases: [(&[&str], bool); 8] = [
        (&["", "", ""], true),
        (&["", ",,,,", ""], false),
        (&["r1", "", ""], false),
        (&["", "", "r1"], false),
        (&["", "r1", ""], false),
        (&["", "", "", "r1"], false),
        (&[",,,,", "", ""], true),
        (&["", " ", ""], true),
    ];
    for (ids, compact) in cases {
        let rows: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| match *id {
                ",,,," => id.to_string(),
                id => row(i, id),
            })
            .collect();
        let numbered: Vec<UsageRow<'_>> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| (10 + i as u64, r.as_bytes()))
            .collect();
        let block = checker.check(&numbered).unwrap();
        assert_eq!(block.made_up_ids().is_some(), compact, "{ids:?}");
        assert_eq!(
            block,
            reference(header, &numbered, &book).unwrap(),
            "{ids:?}"
        );
        keys_index_lines(&block, &book).unwrap();
        let written = block.clone().with_ids_written();
        assert_eq!(written, block);
        assert!(written.made_up_ids().is_none());
        assert_eq!(ids_of(&block), ids_of(&written), "{ids:?}");
    }
}

/// The record ids a block's records read back with.
fn ids_of(block: &UsageBlock) -> Vec<Option<String>> {
    let mut ids = Vec::new();
    block
        .for_each_record(|r| {
            ids.push(r.record_id.map(str::to_owned));
            Ok::<(), super::BlockError>(())
        })
        .unwrap();
    ids
}
