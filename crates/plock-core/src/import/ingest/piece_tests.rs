//! The common layouts' readers, compiled with their form as constants, read every piece as
//! the reader of any form does.

use proptest::prelude::*;

use super::accounts::Accounts;
use super::piece::{BARE, PLOCK, Piece, Reading, read_lines, read_piece};
use super::row::Form;
use crate::id::AccountKey;
use crate::import::time_format::TimeFormat;
use crate::usage::Packed;

/// Cells a line is made of: ids, times in every form, quantities, and bytes that send a
/// line to the field-by-field reader or stop a piece.
const CELLS: [&str; 24] = [
    "894",
    "1",
    "acme",
    "13",
    "api",
    "nobody",
    "'=x",
    "",
    " 894",
    "1741864570320",
    "1741864570",
    "0001741864570320",
    "2025-03-13T11:16:10Z",
    "2025-03-13T11:16:10.320+01:00",
    "2025-02-30T00:00:00Z",
    "44.383738",
    "7",
    "1,5",
    "-3",
    "0.0000000000000000001",
    "r-1",
    "\"q\"",
    "m\u{e9}tric",
    "1.5\r",
];

fn line() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(0..CELLS.len(), 1..7),
        prop::sample::select(vec![",", ";"]),
        prop::sample::select(vec!["\n", "\r\n", "\r"]),
    )
        .prop_map(|(cells, separator, end)| {
            let cells: Vec<&str> = cells.iter().map(|c| CELLS[*c]).collect();
            format!("{}{end}", cells.join(separator))
        })
}

/// The lines of a kit-like row (account, metric, epoch milliseconds, quantity), so that
/// most pieces hold rows the one-pass reader takes.
fn kit_line() -> impl Strategy<Value = String> {
    (
        1u32..6,
        1u32..70,
        1_700_000_000_000u64..1_800_000_000_000,
        0u64..1_000_000_000,
    )
        .prop_map(|(a, m, t, q)| format!("{a},{m},{t},{}.{:06}\n", q / 1_000_000, q % 1_000_000))
}

/// What a piece gave, in a form that compares.
fn outcome(piece: &Piece<'_>, region: &[Packed]) -> String {
    format!(
        "{:?} {:?} {:?} {:?} {:?}",
        piece.metrics,
        region.get(..piece.records),
        piece.identified,
        piece.other,
        piece.stop
    )
}

fn check(text: &str, fields: &[super::super::layout::Field], time: TimeFormat, separator: u8) {
    let keys: Vec<AccountKey> = ["1", "2", "3", "4", "894", "acme"]
        .iter()
        .map(|k| AccountKey::new(k).unwrap())
        .collect();
    let accounts = Accounts::new(&keys);
    let form = Form {
        fields,
        separator,
        time,
    };
    let reading = Reading {
        form,
        accounts: &accounts,
    };
    let slots = text.bytes().filter(|b| *b == b'\n').count() + 1;
    let known: [&[u8]; 1] = [b"13"];
    let mut fixed = vec![Packed::default(); slots];
    let fast = read_piece(text.as_bytes(), 2, &reading, &known, &mut fixed);
    let mut general = vec![Packed::default(); slots];
    let any = read_lines(text.as_bytes(), 2, &reading, &form, &known, &mut general);
    assert_eq!(outcome(&fast, &fixed), outcome(&any, &general), "{text:?}");
}

proptest! {
    #[test]
    fn the_common_layouts_read_as_any_layout_reads(
        lines in prop::collection::vec(prop_oneof![line(), kit_line()], 0..40),
        separator in prop::sample::select(vec![b',', b';']),
    ) {
        let text = lines.concat();
        for time in [TimeFormat::EpochMillis, TimeFormat::EpochSeconds, TimeFormat::Rfc3339] {
            check(&text, BARE, time, separator);
        }
        check(&text, PLOCK, TimeFormat::Rfc3339, separator);
    }
}
