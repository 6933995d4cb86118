//! Reading in chunks of any size gives what reading the file whole gives, and what the import
//! reads; a file in another layout gives what the same records in plock's own format give.

use std::io::Cursor;

use chrono::{DateTime, Utc};
use proptest::prelude::*;

use super::{ingest_usage, read_in_chunks, read_usage};
use crate::book::*;
use crate::id::{AccountKey, MetricId};
use crate::import::layout::UsageLayout;
use crate::import::table::{Delimiter, ImportErrors};
use crate::import::time_format::TimeFormat;
use crate::import::*;
use crate::usage::*;

fn book() -> AccountBook {
    crate::book::test_books::keyed(&["acme", "globex", "initech", "894", "1"])
}

/// The same table, or the same problems, in the same words.
fn same(
    a: &Result<UsageTable, ImportErrors>,
    b: &Result<UsageTable, ImportErrors>,
) -> Result<(), TestCaseError> {
    match (a, b) {
        (Ok(a), Ok(b)) => prop_assert_eq!(a, b),
        (Err(a), Err(b)) => prop_assert_eq!(a.to_string(), b.to_string()),
        (a, b) => prop_assert!(
            false,
            "{:?}\n{:?}",
            a.as_ref().map(UsageTable::len),
            b.as_ref().map(UsageTable::len)
        ),
    }
    Ok(())
}

/// `csv` read in chunks of `chunk` bytes, read whole, and read by the import.
fn check(csv: &[u8], chunk: usize) -> Result<(), TestCaseError> {
    let book = book();
    let layout = UsageLayout::default();
    let chunked = read_in_chunks(Cursor::new(csv), &book, &layout, chunk);
    same(&chunked, &read_usage(Cursor::new(csv), &book, &layout))?;
    let whole = ingest_usage(csv, &book);
    same(&chunked, &whole)?;
    // The import reports a header problem after any bytes that are not UTF-8, and refuses
    // files past its limits; the reader reads any size.
    if std::str::from_utf8(csv).is_ok() {
        let import = parse_usage(csv, &book).map(|r| UsageTable::from_records(&r));
        match (whole, import) {
            // A record the table cannot hold: both refuse it, each in its own words.
            (Err(_), Ok(Err(_))) => {}
            (whole, Ok(table)) => same(&whole, &table.map_err(|_| ImportErrors::default()))?,
            (whole, Err(e)) => same(&whole, &Err(e))?,
        }
    }
    Ok(())
}

const CELLS: [&str; 8] = [
    "acme",
    "globex",
    " initech ",
    "'=acme",
    "nobody",
    "",
    "\"acme\"",
    "\"gl\nobex\"",
];

fn row(r: &(u8, u8, u8, u32, u8, u8)) -> String {
    let (a, m, t, q, qf, id) = *r;
    let account = CELLS[a as usize % CELLS.len()];
    let metric = ["api", "gb", " api", "", "api", "\"a,pi\"", "m\u{e9}tric"][m as usize % 7];
    let day = 1 + q % 28;
    let timestamp = match t % 9 {
        0 => format!("2025-01-{day:02}T10:00:00Z"),
        1 => format!("2025-01-{day:02}T10:00:00.25Z"),
        2 => format!("2025-01-{day:02} 10:00:00"),
        3 => format!("2025-01-{day:02}"),
        4 => format!("2025-01-{day:02}T10:00:00+02:00"),
        5 => "2025-02-30T10:00:00Z".into(),
        6 => format!("2025-01-{day:02}T10:00:00Z\r"),
        7 => format!("2025-01-{day:02}T10:\r00:00Z"),
        _ => "yesterday".into(),
    };
    let quantity = match qf % 7 {
        0 => format!("{q}"),
        1 => format!("{}.{:02}", q / 100, q % 100),
        2 => format!(" {q} "),
        3 => format!("-{q}"),
        4 => format!("{q}.0"),
        5 => format!("{q}{q}{q}{q}{q}{q}"),
        _ => "x".into(),
    };
    let id = match id {
        0 | 1 => format!("r{}", q % 5),
        2 => " ".into(),
        _ => "".into(),
    };
    format!("{account},{metric},{timestamp},{quantity},{id}")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Small files of every kind of row (clean ones, quoted cells, carriage returns, blank
    /// and short lines, bytes that are not UTF-8) read in chunks of a few bytes to a few
    /// lines: what reading them whole gives, and what the import gives.
    #[test]
    fn chunks_of_any_size_read_what_the_whole_file_reads(
        rows in prop::collection::vec((0u8..8, 0u8..7, 0u8..9, 0u32..100_000, 0u8..7, 0u8..4), 0..40),
        clean in any::<bool>(),
        crlf in any::<bool>(),
        bom in any::<bool>(),
        header in 0usize..6,
        extra in prop::collection::vec((0usize..60, 0usize..6), 0..3),
        chunk in prop_oneof![1usize..80, Just(4096)],
    ) {
        // Clean files take the one-pass reader throughout; the others mix in every other form.
        let rows: Vec<String> = rows
            .iter()
            .map(|r| if clean { row(&(r.0 % 2, r.1 % 2, r.2 % 2, r.3, r.4 % 2, r.5)) } else { row(r) })
            .collect();
        let header = [
            "account_key,metric,timestamp,quantity,record_id",
            " Account_Key ,METRIC,timestamp,quantity,record_id",
            "account_key,metric,timestamp,quantity,colour",
            "\"account_key\",metric,timestamp,quantity,record_id",
            "account_key,metric,quantity,record_id,timestamp",
            "",
        ][header];
        let mut lines = vec![header.to_owned()];
        lines.extend(rows);
        for (at, what) in extra {
            let line = ["", "acme,api", "\u{1}", ";;;;", "acme,api,2025-01-02T00:00:00Z,1,,", "\r"][what];
            let at = (1 + at % lines.len()).min(lines.len());
            lines.insert(at, line.to_owned());
        }
        let mut csv = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
        csv.extend_from_slice((lines.join(if crlf { "\r\n" } else { "\n" }) + "\n").as_bytes());
        check(&csv, chunk)?;
        // The same with a byte that is not UTF-8 in the middle.
        if csv.len() > 2 {
            let mid = csv.len() / 2;
            csv.insert(mid, 0xff);
            check(&csv, chunk)?;
        }
    }
}

/// The files of a fuzz target's corpus.
fn corpus(target: &str) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn the_fuzz_corpora_read_alike_in_chunks_of_any_size() {
    let ingest = corpus("usage_ingest");
    assert!(ingest.len() > 100, "the usage_ingest corpus is missing");
    for (path, bytes) in &ingest {
        for chunk in [1, 7, 100] {
            check(bytes, chunk).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        }
    }
    let read = corpus("usage_read");
    assert!(!read.is_empty(), "the usage_read corpus is missing");
    for (path, bytes) in &read {
        super::fuzz_read(bytes, &book()).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    }
}

#[test]
fn files_without_rows_read_as_the_import_reads_them() {
    for csv in [
        "",
        "\n",
        "\n\naccount_key,metric,timestamp,quantity\nacme,api,2025-01-02T00:00:00Z,5\n",
        "account_key,metric,timestamp,quantity",
        "account_key,metric,timestamp,quantity\n",
        "account_key;metric;timestamp;quantity\nacme;api;2025-01-02T00:00:00Z;5,5\n",
        "\u{feff}account_key,metric,timestamp,quantity\r\nacme,api,2025-01-02T00:00:00Z,5",
        "account_key,metric\n",
        ",account_key,metric,timestamp,quantity\n",
    ] {
        for chunk in [1, 3, 4096] {
            check(csv.as_bytes(), chunk).unwrap();
        }
    }
}

/// One record, as a usage row of either layout writes it.
#[derive(Debug, Clone)]
struct Record {
    account: &'static str,
    metric: &'static str,
    at: DateTime<Utc>,
    quantity: String,
    id: Option<String>,
}

fn record() -> impl Strategy<Value = Record> {
    (
        0usize..6,
        0usize..3,
        0i64..10_000_000,
        0u32..1_000_000,
        0u32..7,
        prop::option::of(0u8..4),
    )
        .prop_map(|(a, m, seconds, q, scale, id)| Record {
            account: ["acme", "globex", "894", "1", "nobody", "initech"][a],
            metric: ["13", "api", "gb"][m],
            at: DateTime::from_timestamp_millis(1_735_689_600_000 + seconds * 1_003).unwrap(),
            quantity: rust_decimal::Decimal::new(i64::from(q), scale).to_string(),
            id: id.map(|i| format!("r{i}")),
        })
}

/// A layout of another system: its column order, names and time format.
#[derive(Debug, Clone)]
struct Other {
    order: [usize; 5],
    names: [&'static str; 5],
    time: TimeFormat,
    semicolon: bool,
    extra: bool,
}

fn other() -> impl Strategy<Value = Other> {
    (
        Just([0usize, 1, 2, 3, 4]).prop_shuffle(),
        0usize..2,
        0usize..4,
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(|(order, names, time, semicolon, extra)| Other {
            order: [order[0], order[1], order[2], order[3], order[4]],
            names: [
                ["account_id", "metric_id", "ts", "quantity", "event_id"],
                ["Customer", " Meter ", "WHEN", "amount", "Id"],
            ][names],
            time: [
                TimeFormat::Rfc3339,
                TimeFormat::Date,
                TimeFormat::EpochSeconds,
                TimeFormat::EpochMillis,
            ][time],
            semicolon,
            extra,
        })
}

impl Other {
    fn layout(&self) -> UsageLayout {
        let [a, m, t, q, id] = self.names;
        let layout = UsageLayout::default()
            .account(a)
            .metric(m)
            .timestamp(t, self.time)
            .quantity(q)
            .record_id(id);
        match self.semicolon {
            true => layout.delimiter(Delimiter::Semicolon),
            false => layout,
        }
    }

    /// The time of `at` as this layout writes it, and the time it stands for.
    fn time(&self, at: DateTime<Utc>) -> (String, DateTime<Utc>) {
        let midnight = at.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
        let second = DateTime::from_timestamp(at.timestamp(), 0).unwrap_or(at);
        match self.time {
            TimeFormat::Rfc3339 => (at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true), at),
            TimeFormat::Date => (at.format("%Y-%m-%d").to_string(), midnight),
            TimeFormat::EpochSeconds => (at.timestamp().to_string(), second),
            TimeFormat::EpochMillis => (at.timestamp_millis().to_string(), at),
        }
    }

    /// The records in this layout, and in plock's own format.
    fn files(&self, records: &[Record]) -> (String, String) {
        let separator = if self.semicolon { ";" } else { "," };
        let mut header: Vec<&str> = self.order.iter().map(|i| self.names[*i]).collect();
        if self.extra {
            header.insert(1, "note");
        }
        let mut theirs = header.join(separator) + "\n";
        let mut ours = String::from("account_key,metric,timestamp,quantity,record_id\n");
        for r in records {
            let (time, at) = self.time(r.at);
            let quantity = match self.semicolon {
                true => r.quantity.replace('.', ","),
                false => r.quantity.clone(),
            };
            let id = r.id.clone().unwrap_or_default();
            let fields = [
                r.account.to_owned(),
                r.metric.to_owned(),
                time,
                quantity,
                id.clone(),
            ];
            let mut cells: Vec<&str> = self.order.iter().map(|i| fields[*i].as_str()).collect();
            if self.extra {
                cells.insert(1, "a note");
            }
            theirs.push_str(&(cells.join(separator) + "\n"));
            let at = at.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true);
            ours.push_str(&format!(
                "{},{},{at},{},{id}\n",
                r.account, r.metric, r.quantity
            ));
        }
        (theirs, ours)
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Records written in another system's layout (any column order and names, any time
    /// format, either separator, a column the layout does not read) read in chunks as the
    /// same records in plock's own format read.
    #[test]
    fn other_layouts_read_as_plock_format_reads(
        records in prop::collection::vec(record(), 0..60),
        other in other(),
        chunk in prop_oneof![1usize..100, Just(4096)],
    ) {
        let book = book();
        let (theirs, ours) = other.files(&records);
        let read = read_in_chunks(Cursor::new(theirs.as_bytes()), &book, &other.layout(), chunk);
        let expected = ingest_usage(ours.as_bytes(), &book);
        match (read, expected) {
            (Ok(read), Ok(expected)) => prop_assert_eq!(read, expected),
            (Err(read), Err(expected)) => {
                prop_assert_eq!(read.total(), expected.total());
                let lines = |e: &ImportErrors| e.errors().iter().map(|e| e.line).collect::<Vec<_>>();
                prop_assert_eq!(lines(&read), lines(&expected));
            }
            (read, expected) => prop_assert!(false, "{:?}\n{:?}", read.map(|t| t.len()), expected.map(|t| t.len())),
        }
    }
}

/// A reader that gives its bytes, then fails.
struct Failing<'a>(&'a [u8]);

impl std::io::Read for Failing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.0.is_empty() {
            return Err(std::io::Error::other("disk on fire"));
        }
        self.0.read(buf)
    }
}

#[test]
fn a_reader_failing_midway_adds_its_failure_to_the_problems_found_before() {
    let csv = "account_key,metric,timestamp,quantity\n\
               acme,api,2025-01-02T00:00:00Z,1\n\
               nobody,api,2025-01-02T00:00:00Z,1\n\
               acme,api,2025-01-02T00:00:00Z,2\n";
    let errors = read_in_chunks(
        Failing(csv.as_bytes()),
        &book(),
        &UsageLayout::default(),
        40,
    )
    .unwrap_err();
    let shown: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 2, "{shown:?}");
    assert!(
        shown[0].starts_with("line 3, column account_key: no account"),
        "{shown:?}"
    );
    assert!(
        shown[1].contains("could not read the input: disk on fire"),
        "{shown:?}"
    );
}

/// A file large enough to be sorted by bucket, read in small chunks (its records kept in
/// many segments, sorted from there in parts): the table the same records make one by one,
/// and what reading it whole makes.
#[test]
fn a_file_sorted_by_bucket_reads_as_its_records() {
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let accounts = ["acme", "globex", "initech", "894", "1"];
    let mut csv = String::from("account_key,metric,timestamp,quantity,record_id\n");
    let mut records = Vec::new();
    for _ in 0..120_000 {
        let r = next();
        let account = accounts[(r % 5) as usize];
        let metric = ["api", "gb", "seats"][(r >> 8) as usize % 3];
        let day = 1 + (r >> 16) % 28;
        let month = 1 + (r >> 24) % 3;
        let quantity = match (r >> 32) % 3 {
            0 => format!("{}", (r >> 40) % 1_000),
            1 => format!("{}.{:03}", (r >> 40) % 1_000, (r >> 50) % 1_000),
            _ => format!("0.{:06}", (r >> 40) % 1_000_000),
        };
        let timestamp = format!("2025-{month:02}-{day:02}T10:00:00Z");
        csv.push_str(&format!("{account},{metric},{timestamp},{quantity},\n"));
        records.push(
            UsageRecord::new(
                AccountKey::new(account).unwrap(),
                MetricId::new(metric).unwrap(),
                timestamp.parse().unwrap(),
                quantity.parse().unwrap(),
                None,
            )
            .unwrap(),
        );
    }
    let book = book();
    let expected = UsageTable::from_records(&records).unwrap();
    let chunked =
        read_in_chunks(Cursor::new(&csv), &book, &UsageLayout::default(), 1 << 16).unwrap();
    assert_eq!(chunked.len(), records.len());
    assert_eq!(chunked, expected);
    assert_eq!(ingest_usage(csv.as_bytes(), &book).unwrap(), expected);
}

/// A chunk's buffer, reused for the next chunk with the line carried over, holds that chunk
/// in its room: the read stops at a chunk in all, and the buffer does not grow (growing
/// copies it to fresh memory, chunk after chunk).
#[test]
fn a_reused_buffer_takes_the_next_chunk_without_growing() {
    let text = "line one\n".repeat(40);
    let mut input = super::Input {
        reader: Cursor::new(text.as_bytes()),
        chunk: 64,
    };
    let mut buffer = Vec::with_capacity(64);
    buffer.extend_from_slice(b"carried");
    let ended = input.fill(&mut buffer, 0).unwrap();
    assert!(!ended);
    assert_eq!(buffer.len(), 64);
    assert_eq!(buffer.capacity(), 64);
    assert_eq!(&buffer[..16], b"carriedline one\n");
    // A carried line of half a chunk or more is followed by a whole chunk.
    let mut long = vec![b'x'; 40];
    let ended = input.fill(&mut long, 0).unwrap();
    assert!(!ended);
    assert_eq!(long.len(), 40 + 64);
}
