//! A usage block's records as rows of a binary `COPY` into `usage`, encoded from the block's
//! canonical text.
//!
//! A block holds its records as canonical CSV lines
//! ([`UsageBlock`](plock_core::import::UsageBlock)): times as chrono's `AutoSi` RFC 3339
//! writes them, quantities as `Decimal` writes them. The wire forms are built from that text
//! directly: a time's digits into microseconds since 2000-01-01 (`timestamptz`) and the
//! nanoseconds below them, a quantity's digits into `numeric`'s base-10000 digits with the
//! scale as written. Nothing is parsed into a `DateTime` or a `Decimal` and encoded again,
//! which was most of the client's share of an import. A line not in that form (quoted cells,
//! which only unusual keys need) is read by the block's own reader and encoded from its
//! values.

use bytes::{BufMut, BytesMut};
use chrono::{DateTime, Datelike, Timelike, Utc};
use plock_core::import::{BlockRecord, UsageBlock, common_time};
use plock_core::store::StoreError;

use crate::codec::backend;
use crate::owners::Owners;

/// The fields of a `usage` row, in [`USAGE_COLUMNS`](crate::codec::USAGE_COLUMNS)' order.
const FIELDS: i16 = 7;

/// Days from 0001-01-01 (chrono's day 1 of the common era) to 2000-01-01, PostgreSQL's epoch.
const POSTGRES_EPOCH_DAYS_FROM_CE: i64 = 730_120;

/// Appends the rows of `block`'s records to `buf`.
///
/// # Errors
/// [`StoreError::NotFound`] for an account key `owners` does not hold; [`StoreError::Backend`]
/// for text that is not a block's.
pub(crate) fn encode_block(
    buf: &mut BytesMut,
    owners: &Owners,
    block: &UsageBlock,
) -> Result<(), StoreError> {
    let start = buf.len();
    let text = block.text();
    if !text.contains('"') {
        if encode_lines(buf, owners, text)? {
            return Ok(());
        }
        buf.truncate(start);
    }
    block.for_each_record(|r| encode_record(buf, owners, &r))
}

/// Appends the rows of plain canonical lines; `false` (with part of them appended) at the
/// first line in another form.
fn encode_lines(buf: &mut BytesMut, owners: &Owners, text: &str) -> Result<bool, StoreError> {
    for line in text.lines() {
        let mut cells = line.split(',');
        let (Some(key), Some(metric), Some(time), Some(quantity), Some(record_id), None) = (
            cells.next(),
            cells.next(),
            cells.next(),
            cells.next(),
            cells.next(),
            cells.next(),
        ) else {
            return Ok(false);
        };
        let Some((micros, nanos)) = time_of(time.as_bytes()) else {
            return Ok(false);
        };
        let Some(quantity) = Quantity::of(quantity.as_bytes()) else {
            return Ok(false);
        };
        row(buf, owner(owners, key)?, key, metric)?;
        buf.put_i32(8);
        buf.put_i64(micros);
        buf.put_i32(2);
        buf.put_i16(nanos);
        quantity.encode(buf);
        optional_text(buf, Some(record_id).filter(|id| !id.is_empty()))?;
    }
    Ok(true)
}

/// Appends the row of one record read by the block's own reader.
fn encode_record(
    buf: &mut BytesMut,
    owners: &Owners,
    r: &BlockRecord<'_>,
) -> Result<(), StoreError> {
    let (micros, nanos) = time_parts(r.timestamp)
        .ok_or_else(|| backend(format!("usage time {} is out of range", r.timestamp)))?;
    let quantity = r.quantity.to_string();
    let quantity = Quantity::of(quantity.as_bytes())
        .ok_or_else(|| backend(format!("usage quantity {} is negative", r.quantity)))?;
    row(buf, owner(owners, r.account)?, r.account, r.metric)?;
    buf.put_i32(8);
    buf.put_i64(micros);
    buf.put_i32(2);
    buf.put_i16(nanos);
    quantity.encode(buf);
    optional_text(buf, r.record_id)
}

/// The owner of `key`'s usage.
fn owner<'o>(owners: &'o Owners, key: &str) -> Result<&'o str, StoreError> {
    owners.get(key).ok_or_else(|| StoreError::NotFound {
        index: 0,
        what: "account key",
        id: key.to_owned(),
    })
}

/// Starts a row: the field count, then `owner`, `account_key` and `metric`.
fn row(buf: &mut BytesMut, owner: &str, key: &str, metric: &str) -> Result<(), StoreError> {
    buf.put_i16(FIELDS);
    text(buf, owner)?;
    text(buf, key)?;
    text(buf, metric)
}

fn text(buf: &mut BytesMut, value: &str) -> Result<(), StoreError> {
    let len = i32::try_from(value.len()).map_err(|_| backend("a text value is too long"))?;
    buf.put_i32(len);
    buf.put_slice(value.as_bytes());
    Ok(())
}

fn optional_text(buf: &mut BytesMut, value: Option<&str>) -> Result<(), StoreError> {
    match value {
        Some(value) => text(buf, value),
        None => {
            buf.put_i32(-1);
            Ok(())
        }
    }
}

/// A time in the common form (core's [`common_time`]) as `timestamptz`'s microseconds since
/// 2000-01-01 and the nanoseconds below them.
fn time_of(text: &[u8]) -> Option<(i64, i16)> {
    time_parts(common_time(text)?)
}

/// A time as `timestamptz`'s microseconds since 2000-01-01 and the nanoseconds below them.
fn time_parts(time: DateTime<Utc>) -> Option<(i64, i16)> {
    let days = i64::from(time.num_days_from_ce()).checked_sub(POSTGRES_EPOCH_DAYS_FROM_CE)?;
    let seconds = days
        .checked_mul(86_400)?
        .checked_add(i64::from(time.num_seconds_from_midnight()))?;
    // A leap second's nanoseconds run past 10^9; chrono counts them in the second before.
    let nanos = time.nanosecond();
    let micros = seconds
        .checked_mul(1_000_000)?
        .checked_add(i64::from(nanos / 1000))?;
    Some((micros, i16::try_from(nanos % 1000).ok()?))
}

/// A quantity's text, `digits[.digits]`, read as `numeric` reads it: its value and its scale
/// (the digits after the point, zeros included).
#[derive(Debug, PartialEq, Eq)]
struct Quantity<'a> {
    /// The whole part, leading zeros dropped.
    whole: &'a [u8],
    fraction: &'a [u8],
}

impl Quantity<'_> {
    fn of(text: &[u8]) -> Option<Quantity<'_>> {
        let (whole, fraction) = match text.iter().position(|b| *b == b'.') {
            Some(at) => {
                let (whole, fraction) = text.split_at(at);
                (whole, fraction.get(1..)?)
            }
            None => (text, &[][..]),
        };
        let all_digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
        if whole.is_empty() || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        if text.contains(&b'.') && fraction.is_empty() {
            return None;
        }
        let first = whole.iter().position(|b| *b != b'0').unwrap_or(whole.len());
        // `numeric` holds up to 16383 digits after the point.
        (fraction.len() <= 16_383).then(|| Quantity {
            whole: whole.get(first..).unwrap_or_default(),
            fraction,
        })
    }

    /// Appends the field: its length, then `numeric`'s binary form (digit count, weight of
    /// the first digit, sign, scale, base-10000 digits). Zero groups at either end are left
    /// out, as the server stores them.
    fn encode(&self, buf: &mut BytesMut) {
        let mut groups: Vec<i16> = Vec::with_capacity(8);
        // The whole part in groups of four digits, from the point leftwards.
        let lead = self.whole.len() % 4;
        let (head, body) = self.whole.split_at(lead);
        if !head.is_empty() {
            groups.push(group(head));
        }
        groups.extend(body.chunks(4).map(group));
        let whole_groups = groups.len();
        // The fraction in groups of four, from the point rightwards, the last padded.
        groups.extend(self.fraction.chunks(4).map(|chunk| {
            let padding = 4usize.saturating_sub(chunk.len());
            let scale = [1i16, 10, 100, 1000].get(padding).copied().unwrap_or(1);
            group(chunk).wrapping_mul(scale)
        }));
        let leading = groups.iter().take_while(|g| **g == 0).count();
        let trailing = groups
            .get(leading..)
            .map_or(0, |g| g.iter().rev().take_while(|g| **g == 0).count());
        let digits = groups
            .get(leading..groups.len().saturating_sub(trailing))
            .unwrap_or_default();
        let weight = if digits.is_empty() {
            0
        } else {
            i16::try_from(whole_groups)
                .unwrap_or(i16::MAX)
                .wrapping_sub(i16::try_from(leading).unwrap_or(i16::MAX))
                .wrapping_sub(1)
        };
        let count = i16::try_from(digits.len()).unwrap_or(i16::MAX);
        buf.put_i32(8i32.wrapping_add(i32::from(count).wrapping_mul(2)));
        buf.put_i16(count);
        buf.put_i16(weight);
        buf.put_u16(0);
        buf.put_i16(i16::try_from(self.fraction.len()).unwrap_or(i16::MAX));
        for g in digits {
            buf.put_i16(*g);
        }
    }
}

/// Up to four ASCII digits' value.
fn group(digits: &[u8]) -> i16 {
    digits.iter().fold(0i16, |value, d| {
        value
            .wrapping_mul(10)
            .wrapping_add(i16::from(d.wrapping_sub(b'0')))
    })
}

#[cfg(test)]
#[path = "usage_rows_tests.rs"]
mod tests;
