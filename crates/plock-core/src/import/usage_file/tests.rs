//! The chunked reading against `parse_usage` of the whole file, over files mixing good and
//! bad cells, quoted cells with line ends, carriage returns and blank lines, in chunks of 1
//! to 4 rows so that short files cross many chunks.

use proptest::prelude::*;

use crate::book::AccountBook;
use crate::import::plan_account_import;
use crate::store::apply_to_book;

fn book() -> AccountBook {
    let mut book = AccountBook::new();
    let accounts = "key,name,currency\n894,A,EUR\n7,B,EUR\na b,C,EUR\n";
    let today = chrono::NaiveDate::MIN;
    let plan = plan_account_import(accounts.as_bytes(), &book, today).expect("accounts");
    for (index, change) in plan.changes.iter().enumerate() {
        apply_to_book(&mut book, index, change).expect("applies");
    }
    book
}

const HEADER: &str = "account_key,metric,timestamp,quantity,record_id\n";

fn cell(choices: &'static [&'static str]) -> impl Strategy<Value = String> {
    proptest::sample::select(choices).prop_map(str::to_owned)
}

/// A row most often good, so that most files are read whole and cross chunks.
fn row() -> impl Strategy<Value = String> {
    let good = (
        cell(&["894", "7", "a b", "\"7\""]),
        cell(&["calls", "sms"]),
        cell(&[
            "2025-03-13T11:16:10Z",
            "2025-03-13T11:16:10.320+01:00",
            "0025-03-13T11:16:10Z",
        ]),
        cell(&["5", "1.50", "0", "\"2\""]),
        cell(&["", ",", ",r1", ",r2", ",\"r\"\"1\""]),
        cell(&["\n", "\r\n", "\n\n"]),
    );
    let any = (
        cell(&["894", "nobody", ""]),
        cell(&["calls", "", "\"ca\nlls\""]),
        cell(&["2025-03-13", "yesterday"]),
        cell(&["-4", "abc", "1.5"]),
        cell(&["", ",file-00000000000000ab-3", ",r1,extra"]),
        cell(&["\n", "\r"]),
    );
    let line = |(a, m, t, q, id, end): (String, String, String, String, String, String)| {
        format!("{a},{m},{t},{q}{id}{end}")
    };
    prop_oneof![12 => good.prop_map(line), 1 => any.prop_map(line)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn chunks_read_as_the_whole_file(
        header in cell(&[
            "account_key,metric,timestamp,quantity,record_id\n",
            "account_key,metric,timestamp,quantity,record_id\r\n",
            "\"account_key\",metric,timestamp,quantity,record_id\n",
            "account_key,metric,timestamp,quantity\n",
        ]),
        rows in proptest::collection::vec(row(), 0..12),
        chunk_rows in 1usize..5,
    ) {
        let file = format!("{header}{}", rows.concat());
        super::agrees(file.as_bytes(), &book(), chunk_rows);
    }
}

#[test]
fn blocks_of_early_years_read_back() {
    // The fast reader of the common form takes the years 1000 to 9999 only.
    for year in ["0001", "0025", "0999", "1000", "9999"] {
        let file = format!("{}894,calls,{year}-03-13T11:16:10.320Z,4,r0\n", HEADER);
        super::agrees(file.as_bytes(), &book(), 1);
    }
}
