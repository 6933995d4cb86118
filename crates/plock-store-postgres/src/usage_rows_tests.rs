//! The rows encoded from a block's text hold what the block's records hold, read back by the
//! same decoders the store reads usage with.

use bytes::BytesMut;
use chrono::{DateTime, Utc};
use plock_core::import::UsageBlock;
use plock_core::store::StoreError;
use plock_core::{AccountKey, MetricId, UsageRecord};
use postgres::types::{FromSql, ToSql, Type};
use rust_decimal::Decimal;

use super::{Quantity, encode_block, encode_record, time_of, time_parts};
use crate::codec::split_time;
use crate::owners::Owners;

fn numeric(text: &str) -> Decimal {
    let quantity = Quantity::of(text.as_bytes()).unwrap();
    let mut buf = BytesMut::new();
    quantity.encode(&mut buf);
    let len = usize::try_from(i32::from_be_bytes(buf[..4].try_into().unwrap())).unwrap();
    assert_eq!(len, buf.len() - 4, "{text}");
    Decimal::from_sql(&Type::NUMERIC, &buf[4..]).unwrap()
}

#[test]
fn quantities_keep_their_value_and_scale() {
    for text in [
        "1",
        "7",
        "10000",
        "100000000",
        "12345.6789",
        "0.00001",
        "0.0012",
        "44.383738",
        "128.000000",
        "1.5",
        "12.30",
        "9999.9999",
        "10000.0001",
        "99999999999999999.9",
        "0.0000000000000000000000000001",
        "79228162514264337593543950335",
        "7922816251426433759354395033.5",
        "00012.50",
    ] {
        let expected = Decimal::from_str_exact(text).unwrap();
        let got = numeric(text);
        assert_eq!(
            (got, got.scale()),
            (expected, expected.scale()),
            "quantity {text}"
        );
    }
}

#[test]
fn zero_keeps_its_value_and_scale() {
    for text in ["0", "0.0", "0.000", "000"] {
        let expected = Decimal::from_str_exact(text).unwrap();
        let got = numeric(text);
        assert_eq!((got, got.scale()), (expected, expected.scale()), "{text}");
    }
}

#[test]
fn text_that_is_not_a_plain_quantity_is_left_to_the_general_path() {
    for text in ["", ".5", "5.", "-1", "1e5", "1.2.3", "１", " 1"] {
        assert_eq!(Quantity::of(text.as_bytes()), None, "{text:?}");
    }
}

/// A time as the client encodes a `DateTime` for `timestamptz`, split as the store splits it.
fn wire(time: DateTime<Utc>) -> (i64, i16) {
    let (at, nanos) = split_time(time);
    let mut buf = BytesMut::new();
    at.to_sql(&Type::TIMESTAMPTZ, &mut buf).unwrap();
    (i64::from_be_bytes(buf[..].try_into().unwrap()), nanos)
}

#[test]
fn times_are_the_microseconds_the_client_writes() {
    for text in [
        "2025-03-13T11:16:10Z",
        "2025-03-13T11:16:10.320Z",
        "2025-01-31T23:59:59.123456Z",
        "2025-01-31T23:59:59.123456789Z",
        "2000-01-01T00:00:00Z",
        "1999-12-31T23:59:59.999999999Z",
        "1970-01-01T00:00:00.000001Z",
        "2024-02-29T12:00:00Z",
        "9999-12-31T23:59:59.999Z",
    ] {
        let time: DateTime<Utc> = text.parse().unwrap();
        assert_eq!(time_of(text.as_bytes()), Some(wire(time)), "{text}");
        assert_eq!(time_parts(time), Some(wire(time)), "{text}");
    }
}

#[test]
fn times_not_in_the_canonical_form_are_left_to_the_general_path() {
    for text in [
        "2025-02-30T00:00:00Z",
        "2025-13-01T00:00:00Z",
        "2025-01-01T24:00:00Z",
        "2025-01-01T00:60:00Z",
        "2025-01-01T00:00:00",
        "2025-01-01T00:00:00+01:00",
        "0001-01-01T00:00:00Z",
        "2025-01-01 00:00:00Z",
        "2025-01-01T00:00:00.12aZ",
        "",
    ] {
        assert_eq!(time_of(text.as_bytes()), None, "{text}");
    }
}

fn record(key: &str, time: &str, quantity: &str, id: Option<&str>) -> UsageRecord {
    UsageRecord::new(
        AccountKey::new(key).unwrap(),
        MetricId::new("calls").unwrap(),
        time.parse().unwrap(),
        Decimal::from_str_exact(quantity).unwrap(),
        id.map(|id| plock_core::id::RecordId::new(id).unwrap()),
    )
    .unwrap()
}

fn owners() -> Owners {
    let mut owners = Owners::default();
    for (key, owner) in [("key-a", "a"), ("key-b", "m"), ("key,\"c\"", "c")] {
        owners.insert(key.to_owned(), owner.to_owned());
    }
    owners
}

/// The rows of `block` as the general path writes them: each record read by the block's own
/// reader.
fn by_records(block: &UsageBlock) -> BytesMut {
    let owners = owners();
    let mut buf = BytesMut::new();
    block
        .for_each_record(|r| encode_record(&mut buf, &owners, &r))
        .unwrap();
    buf
}

#[test]
fn plain_lines_are_encoded_as_their_records() {
    let block = UsageBlock::from_records(&[
        record(
            "key-a",
            "2025-01-31T23:59:59.123456789Z",
            "12.50",
            Some("r1"),
        ),
        record("key-b", "2025-02-01T00:00:00Z", "0.000", None),
        record("key-a", "2025-02-01T00:00:00.5Z", "7", None),
    ]);
    assert!(!block.text().contains('"'));
    let mut buf = BytesMut::new();
    encode_block(&mut buf, &owners(), &block).unwrap();
    assert_eq!(buf, by_records(&block));
    assert!(buf.len() > 3 * 40);
}

#[test]
fn a_block_with_quoted_cells_is_encoded_by_its_reader() {
    let block = UsageBlock::from_records(&[
        record("key-a", "2025-01-31T23:59:59Z", "1", None),
        record("key,\"c\"", "2025-01-31T23:59:59Z", "2.5", Some("x")),
    ]);
    assert!(block.text().contains('"'));
    let mut buf = BytesMut::new();
    encode_block(&mut buf, &owners(), &block).unwrap();
    assert_eq!(buf, by_records(&block));
    assert!(buf.windows(7).any(|w| w == b"key,\"c\""));
}

#[test]
fn a_key_no_account_holds_is_not_found() {
    let block = UsageBlock::from_records(&[record("ghost", "2025-01-31T23:59:59Z", "1", None)]);
    let error = encode_block(&mut BytesMut::new(), &owners(), &block).unwrap_err();
    assert!(
        matches!(&error, StoreError::NotFound { id, .. } if id == "ghost"),
        "{error}"
    );
}
