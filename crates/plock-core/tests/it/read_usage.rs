//! Usage CSVs of other systems' layouts read into a usage table: the benchmark kit's,
//! epoch seconds, dates, `;` files, and the problems of a file that does not match its layout.

use std::io::{self, Read};

use plock_core::book::*;
use plock_core::id::*;
use plock_core::import::*;
use plock_core::period::*;
use plock_core::usage::*;
use rust_decimal::Decimal;

use crate::fixtures::date;

fn book() -> AccountBook {
    crate::fixtures::keyed_book(&["894", "12", "1", "acme"])
}

/// The benchmark kit's usage layout.
fn kit() -> UsageLayout {
    UsageLayout::default()
        .account("account_id")
        .metric("metric_id")
        .timestamp("ts_ms", TimeFormat::EpochMillis)
        .quantity("quantity")
}

/// `csv` read with `layout` is the table `plock` (the same records in plock's own format)
/// reads into.
fn check_same(csv: &str, layout: &UsageLayout, plock: &str) {
    let read = read_usage(csv.as_bytes(), &book(), layout).unwrap();
    let expected = ingest_usage(plock.as_bytes(), &book()).unwrap();
    assert_eq!(read, expected);
}

/// The problems of `csv` read with `layout`, as they are shown.
fn problems(csv: &str, layout: &UsageLayout) -> Vec<String> {
    let errors = read_usage(csv.as_bytes(), &book(), layout).unwrap_err();
    errors.errors().iter().map(ToString::to_string).collect()
}

#[test]
fn kit_rows_read_as_plock_rows() {
    let csv = "account_id,metric_id,ts_ms,quantity\n\
               894,13,1741864570320,44.383738\n\
               12,13,1742751139641,128.000000\n\
               894,7,1735430548511,48.000000\n\
               894,13,1741864570321,0.000001\n";
    check_same(
        csv,
        &kit(),
        "account_key,metric,timestamp,quantity\n\
         894,13,2025-03-13T11:16:10.320Z,44.383738\n\
         12,13,2025-03-23T17:32:19.641Z,128.000000\n\
         894,7,2024-12-29T00:02:28.511Z,48.000000\n\
         894,13,2025-03-13T11:16:10.321Z,0.000001\n",
    );
    let table = read_usage(csv.as_bytes(), &book(), &kit()).unwrap();
    assert_eq!(table.len(), 4);
    let march = Period::new(date(2025, 3, 1), date(2025, 4, 1)).unwrap();
    let sum = table.aggregate(
        &AccountKey::new("894").unwrap(),
        &MetricId::new("13").unwrap(),
        Aggregation::Sum,
        &march,
    );
    assert_eq!(sum, Some(Decimal::new(44_383_739, 6)));
}

#[test]
fn epoch_seconds_and_dates_read_as_plock_times() {
    let plock = "account_key,metric,timestamp,quantity\n\
                 acme,api,2025-03-13T11:16:10Z,5\n\
                 1,api,1970-01-01T00:00:00Z,7\n";
    let seconds = UsageLayout::default().timestamp("timestamp", TimeFormat::EpochSeconds);
    check_same(
        "account_key,metric,timestamp,quantity\nacme,api,1741864570,5\n1,api,0,7\n",
        &seconds,
        plock,
    );
    let dates = UsageLayout::default()
        .account("customer")
        .timestamp("day", TimeFormat::Date);
    check_same(
        "customer,metric,day,quantity\nacme,api,2025-03-13,5\n1,api,1970-01-01,7\n",
        &dates,
        "account_key,metric,timestamp,quantity\nacme,api,2025-03-13,5\n1,api,1970-01-01,7\n",
    );
}

#[test]
fn semicolon_files_take_decimal_commas_and_columns_in_any_order_and_case() {
    let layout = kit().delimiter(Delimiter::Semicolon);
    check_same(
        " QUANTITY ;Note;Account_ID;ts_ms;metric_id\n44,5;a, b and c;894;1741864570320;13\n2;;12;0;7\n",
        &layout,
        "account_key,metric,timestamp,quantity\n\
         894,13,2025-03-13T11:16:10.320Z,44.5\n\
         12,7,1970-01-01T00:00:00Z,2\n",
    );
    // The header decides the separator when the layout does not.
    check_same(
        "account_id;metric_id;ts_ms;quantity\n894;13;1741864570320;44,5\n",
        &kit(),
        "account_key,metric,timestamp,quantity\n894,13,2025-03-13T11:16:10.320Z,44.5\n",
    );
}

#[test]
fn a_missing_column_is_named() {
    let csv = "account_id,metric_id,timestamp_ms,quantity\n894,13,1741864570320,1\n";
    assert_eq!(
        problems(csv, &kit()),
        ["line 1, column ts_ms: required column is missing"]
    );
    // plock's own format refuses columns it does not know; another layout leaves them out.
    assert_eq!(
        problems(
            "account_key,metric,timestamp,quantity,colour\n",
            &UsageLayout::default()
        ),
        [
            "line 1, column colour: unknown column; expected columns: account_key, metric, timestamp, quantity, record_id (value \"colour\")"
        ]
    );
    assert_eq!(
        problems("a,b,c,d\n", &kit().account("id").metric("id").quantity("")),
        [
            "line 1, column id: the layout names this column for two fields",
            "line 1, column quantity: the layout names no column for it",
        ]
    );
}

#[test]
fn a_bad_timestamp_names_its_line_column_and_value_shortly() {
    let long = "9".repeat(500);
    let csv = format!(
        "account_id,metric_id,ts_ms,quantity\n894,13,1741864570320,1\n894,13,17418645x0320,1\n\n894,13,{long},2\n"
    );
    let errors = read_usage(csv.as_bytes(), &book(), &kit()).unwrap_err();
    let errors = errors.errors();
    assert_eq!(errors.len(), 2);
    assert_eq!((errors[0].line, errors[0].column.as_str()), (3, "ts_ms"));
    assert_eq!(errors[0].value, "17418645x0320");
    assert!(
        errors[0].reason.contains("milliseconds since 1970-01-01"),
        "{}",
        errors[0]
    );
    assert_eq!((errors[1].line, errors[1].column.as_str()), (5, "ts_ms"));
    assert_eq!(errors[1].value, format!("{}...", &long[..100]));
}

/// A reader that gives `bytes`, then fails.
struct Failing(&'static [u8]);

impl Read for Failing {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.0.is_empty() {
            return Err(io::Error::other("disk on fire"));
        }
        let n = self.0.read(buf)?;
        Ok(n)
    }
}

#[test]
fn a_failing_reader_is_a_problem_of_its_own() {
    let input = Failing(b"account_id,metric_id,ts_ms,quantity\n894,13,1741864570320,1\n");
    let errors = read_usage(input, &book(), &kit()).unwrap_err();
    let shown: Vec<String> = errors.errors().iter().map(ToString::to_string).collect();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert!(
        shown[0].contains("could not read the input: disk on fire"),
        "{shown:?}"
    );
}

#[test]
fn quoted_cells_and_unknown_accounts_read_as_plock_reads_them() {
    let csv = "account_id,metric_id,ts_ms,quantity,note\n\"894\",13,1741864570320,1,\"a\nnote\"\n12,13,0,2,\n";
    check_same(
        csv,
        &kit(),
        "account_key,metric,timestamp,quantity\n894,13,2025-03-13T11:16:10.320Z,1\n12,13,1970-01-01T00:00:00Z,2\n",
    );
    assert_eq!(
        problems(
            "account_id,metric_id,ts_ms,quantity\n894,13,0,1\n9999,13,0,1\n894,13,0,-1\n",
            &kit()
        ),
        [
            "line 3, column account_id: no account has this key (value \"9999\")",
            "line 4, column quantity: quantities are never negative (corrections are credits) (value \"-1\")",
        ]
    );
}
