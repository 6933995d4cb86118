//! Entry points for the fuzz targets in `fuzz/`, shared with the tests that replay their
//! corpora on the stable toolchain. Each takes any bytes and must never panic.

use std::fmt::Debug;

use chrono::NaiveDate;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::account::*;
use crate::billing::BilledUsage;
use crate::book::*;
use crate::discovery::*;
use crate::id::*;
use crate::import::*;
use crate::invoice::Invoice;
use crate::money::*;
use crate::store::*;
use crate::subscription::{ModelFirst, Subscription};
use crate::usage::*;

/// A book with a master, a child and a Fortnox id, so imports meet existing accounts.
fn book() -> AccountBook {
    let mut book = AccountBook::new();
    add_accounts(&mut book, &["boss", "child"]);
    if let (Ok(child), Ok(boss)) = (AccountId::new("child"), AccountId::new("boss")) {
        let _ = book.link(&child, &boss);
        if let Ok(ext) = ExternalId::new("1001") {
            let _ = book.set_external_id(&boss, ExternalSystem::Fortnox, ext);
        }
    }
    book
}

/// Adds an account for each of `keys`, its id, key and name the key.
fn add_accounts(book: &mut AccountBook, keys: &[&str]) {
    for key in keys {
        if let (Ok(id), Ok(k), Ok(name)) = (
            AccountId::new(key),
            AccountKey::new(key),
            AccountName::new(key),
        ) {
            let _ = book.add(Account::new(
                id,
                k,
                name,
                Contact::default(),
                Currency::EUR,
                NaiveDate::MIN,
            ));
        }
    }
}

/// The accounts importer, on an empty book and on [`book`]; a plan must apply cleanly.
pub fn accounts_import(data: &[u8]) {
    for mut base in [AccountBook::new(), book()] {
        if let Ok(batch) = plan_account_import(data, &base, NaiveDate::MIN) {
            for (i, change) in batch.changes.iter().enumerate() {
                // A plan the importer accepted is one the book accepts.
                if apply_to_book(&mut base, i, change).is_err() {
                    return;
                }
            }
        }
    }
}

/// The subscriptions importer.
pub fn subscriptions_import(data: &[u8]) {
    let _ = plan_subscription_import(data, &book(), &[], &[]);
}

/// The usage importer.
pub fn usage_import(data: &[u8]) {
    let _ = parse_usage(data, &book());
}

/// The discovery source parser and planner.
pub fn discovery_source(data: &[u8]) {
    if let Ok(customers) = parse_source(data) {
        let plan = plan_discovery(
            &ExternalSystem::Other("fuzz".into()),
            &customers,
            &book(),
            NaiveDate::MIN,
        );
        let _ = plan.batch();
    }
}

/// Bulk usage ingestion against the usage importer, the oracle: the same table, or the same
/// problems. Panics (the fuzzer's finding) when they disagree.
pub fn usage_ingest(data: &[u8]) {
    let book = book();
    let fast = ingest_usage(data, &book);
    if data.len() > MAX_IMPORT_BYTES {
        return;
    }
    let slow = parse_usage(data, &book).map(|records| UsageTable::from_records(&records));
    let agree = match (&fast, &slow) {
        (Ok(f), Ok(Ok(s))) => f == s,
        (Err(f), Err(s)) => f.to_string() == s.to_string(),
        // A record the table cannot hold: both refuse it, each in its own words.
        (Err(_), Ok(Err(_))) => true,
        _ => false,
    };
    assert!(
        agree,
        "ingest_usage and parse_usage disagree: {:?} / {:?}",
        fast.map(|t| t.len()),
        slow.map(|t| t.map(|t| t.len()))
    );
}

/// Streaming usage reading in any layout: the first byte chooses the layout (its time format,
/// separator, column names and record id column), the second a chunk size, the rest is the
/// CSV. Read in chunks of that size and whole, the same table or the same problems; in
/// plock's own layout, also what [`ingest_usage`] reads. Panics (the fuzzer's finding) when
/// they disagree.
pub fn usage_read(data: &[u8]) {
    let outcome = crate::import::fuzz_read(data, &book());
    assert!(outcome.is_ok(), "{outcome:?}");
}

/// The headers the usage checker is fuzzed behind: plock's own columns (with and without
/// record ids), another order, an unknown column; or the input's first line.
const USAGE_HEADERS: [&str; 4] = [
    "account_key,metric,timestamp,quantity",
    "account_key,metric,timestamp,quantity,record_id",
    "metric,account_key,timestamp,quantity",
    "account_key,metric,timestamp,quantity,bogus",
];

/// The usage checker a usage import runs on every row, against `parse_usage` of the same
/// rows, its oracle: the first byte chooses the header (or takes the input's first line),
/// the rest are rows as the command hands them over, plain lines, blank ones skipped, each
/// at its line in the file. The same block, or the same problems at the same lines; panics
/// (the fuzzer's finding) when they differ.
pub fn usage_check(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    // Lines holding a quote or a carriage return go to the CSV reader, not the checker.
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if text.contains(['"', '\r']) {
        return;
    }
    let (header, rows) = match USAGE_HEADERS.get(usize::from(pick % 5)) {
        Some(header) => (*header, text),
        None => text.split_once('\n').unwrap_or((text, "")),
    };
    let rows: Vec<UsageRow<'_>> = (2u64..)
        .zip(rows.split('\n'))
        .filter(|(_, row)| !row.is_empty())
        .map(|(line, row)| (line, row.as_bytes()))
        .collect();
    let mut book = book();
    add_accounts(&mut book, &["894", "7", "a b"]);
    let found = UsageChecker::new(header, &book).check(&rows);
    let expected = crate::import::usage_check_reference(header, &rows, &book);
    let agree = match (&found, &expected) {
        (Ok(a), Ok(b)) => a == b,
        (Err(a), Err(b)) => a.errors() == b.errors() && a.total() == b.total(),
        _ => false,
    };
    assert!(
        agree,
        "the usage checker and parse_usage disagree: {found:?} / {expected:?}"
    );
}

/// The usage file as the command imports it, a chunk at a time ([`usage_file`]), against
/// `parse_usage` of the whole file, its oracle: the first byte chooses the chunk's rows (1 to
/// 4, so that short files cross chunks) and the header (or takes the input's first line).
/// Both accept or both refuse, and an accepted file gives the same records in the same
/// order; made-up record ids are made per chunk, so only whether a record has one is compared.
///
/// [`usage_file`]: crate::import::usage_file
pub fn usage_file(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let mut file = match USAGE_HEADERS.get(usize::from(pick >> 2) % 5) {
        Some(header) => format!("{header}\n").into_bytes(),
        None => Vec::new(),
    };
    file.extend_from_slice(rest);
    let mut book = book();
    add_accounts(&mut book, &["894", "7", "a b"]);
    crate::import::usage_file_agrees(&file, &book, usize::from(pick % 4) + 1);
}

/// The subscription file an operator writes: the first byte chooses TOML or JSON and a file
/// of a subscription or of one item, the rest is the text. What reads gives its interval and
/// each item with its price, or errors; never a panic.
pub fn subscription_file(data: &[u8]) {
    use crate::import::subscription_file::{FileItem, SubscriptionFile, from_json, from_toml};
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let file = |read: fn(&str) -> Result<SubscriptionFile, String>| {
        read(text).map_or_else(
            |_| Vec::new(),
            |file| {
                let _ = file.interval();
                file.items
            },
        )
    };
    let items: Vec<FileItem> = match pick % 4 {
        0 => file(from_toml),
        1 => file(from_json),
        2 => from_toml(text).map_or_else(|_| Vec::new(), |item| vec![item]),
        _ => from_json(text).map_or_else(|_| Vec::new(), |item| vec![item]),
    };
    for item in &items {
        let _ = item.item();
    }
}

/// Records as a store keeps them, JSON read back from a damaged or tampered file: the first
/// byte chooses the kind (account, subscription, invoice, billed usage), the rest is the
/// JSON. A record that reads is one a store can write again: its JSON reads back as the same
/// record, and an invoice's total is the sum of its lines. A subscription the stores' faster
/// reader ([`ModelFirst`]) reads is the one the ordinary reader makes. Panics (the fuzzer's finding) when
/// either fails.
pub fn stored_records(data: &[u8]) {
    let Some((&kind, json)) = data.split_first() else {
        return;
    };
    match kind % 4 {
        0 => {
            read_back::<Account>(json);
        }
        1 => {
            let ordinary = read_back::<Subscription>(json);
            // The stores' faster reader accepts only what the ordinary one reads the same.
            if let Ok(ModelFirst(fast)) = serde_json::from_slice::<ModelFirst>(json) {
                assert_eq!(
                    Some(&fast),
                    ordinary.as_ref(),
                    "the model-first reader reads what the ordinary reader does not"
                );
            }
        }
        2 => {
            if let Some(invoice) = read_back::<Invoice>(json) {
                let sum = invoice
                    .lines()
                    .iter()
                    .try_fold(Money::zero(invoice.currency()), |sum, line| {
                        sum.checked_add(line.amount)
                    });
                assert_eq!(
                    sum.ok(),
                    Some(invoice.total()),
                    "an invoice read whose total is not its lines"
                );
            }
        }
        _ => {
            read_back::<BilledUsage>(json);
        }
    }
}

/// The record `json` holds, if it reads; panics when it does not write back to JSON that
/// reads as itself.
fn read_back<T: Serialize + DeserializeOwned + PartialEq + Debug>(json: &[u8]) -> Option<T> {
    let record: T = serde_json::from_slice(json).ok()?;
    let written = serde_json::to_vec(&record);
    let again = written.as_deref().map(serde_json::from_slice::<T>);
    assert!(
        matches!(&again, Ok(Ok(back)) if *back == record),
        "a stored record read does not read back: {record:?} / {again:?}"
    );
    Some(record)
}
