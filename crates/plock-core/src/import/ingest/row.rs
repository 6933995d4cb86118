//! One row of a usage CSV in the common form, read in a single pass over its bytes: fields
//! are split, checked and converted as the bytes go by, eight at a time where they can be
//! (ids, the timestamp). A row that pass does not take is split at its commas and each field
//! read whole by the same field readers ([`parse_simple`]), which decides; so the pass only
//! has to split rightly the rows it takes, never take them all. The field readers are checked
//! against chrono and `Decimal::from_str_exact`.
//!
//! Positions here are within one chunk of text, plus at most a word past it: adding to them
//! cannot wrap, so the pass adds with `wrapping_add` (one instruction, no saturation).

use chrono::{DateTime, NaiveDate, Utc};

use crate::MAX_ID_CHARS;
use crate::usage::unix_day_word;

/// The high bit of every byte of a word, and the low seven bits.
const HIGH: u64 = 0x8080_8080_8080_8080;
const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
const ASCII_ZEROS: u64 = 0x3030_3030_3030_3030;

/// The eight bytes at `at`, little-endian, zero-padded past the end (a zero byte stops every
/// field).
fn word(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..).unwrap_or_default().first_chunk::<8>() {
        Some(w) => u64::from_le_bytes(*w),
        None => {
            let mut padded = [0u8; 8];
            let rest = bytes.get(at..).unwrap_or_default();
            if let Some(head) = padded.get_mut(..rest.len()) {
                head.copy_from_slice(rest);
            }
            u64::from_le_bytes(padded)
        }
    }
}

/// The high bit of each byte of `w` that cannot be in an id: outside `!`..=`~`, or a comma.
/// Each byte is compared on its own seven low bits, so no carry crosses bytes.
fn id_stops(w: u64) -> u64 {
    let low = w & LOW7;
    let from_bang = low.wrapping_add(0x5f5f_5f5f_5f5f_5f5f); // low >= 0x21
    let from_del = low.wrapping_add(0x0101_0101_0101_0101); // low >= 0x7f
    let c = w ^ 0x2c2c_2c2c_2c2c_2c2c;
    let not_comma = (c & LOW7).wrapping_add(LOW7) | c;
    let ok = from_bang & !from_del & not_comma & !w & HIGH;
    !ok & HIGH
}

/// The low `n` bytes of `w` (all of it from 8).
fn low_bytes(w: u64, n: usize) -> u64 {
    let bits = u32::try_from(n).unwrap_or(u32::MAX).saturating_mul(8);
    w & 1u64
        .checked_shl(bits)
        .map_or(u64::MAX, |b| b.wrapping_sub(1))
}

/// An id field: where it starts and ends, and its inline key (`inline`'s, `None` past 15
/// bytes), taken from the words the scan read.
#[derive(Clone, Copy, Default)]
struct Id {
    start: usize,
    end: usize,
    key: Option<[u64; 2]>,
}

impl Id {
    /// Scans the id starting at `start` up to the first byte that cannot be in one. Stops
    /// looking past [`MAX_ID_CHARS`], which no id is longer than.
    #[inline(always)]
    fn scan(bytes: &[u8], start: usize) -> Id {
        let first = word(bytes, start);
        let stops = id_stops(first);
        if stops != 0 {
            let len = (stops.trailing_zeros() / 8) as usize;
            let key = [low_bytes(first, len), (len as u64) << 56];
            return Id {
                start,
                end: start.wrapping_add(len),
                key: Some(key),
            };
        }
        let mut at = start.wrapping_add(8);
        let second = word(bytes, at);
        let mut stops = id_stops(second);
        while stops == 0 && at.wrapping_sub(start) <= MAX_ID_CHARS {
            at = at.wrapping_add(8);
            stops = id_stops(word(bytes, at));
        }
        let end = at.wrapping_add((stops.trailing_zeros() / 8) as usize);
        let len = end.wrapping_sub(start);
        let key = (len <= 15).then(|| {
            [
                first,
                low_bytes(second, len.wrapping_sub(8)) | (len as u64) << 56,
            ]
        });
        Id { start, end, key }
    }

    fn len(&self) -> usize {
        self.end.wrapping_sub(self.start)
    }

    /// Whether it is an id the import keeps as written: not empty, not too long, not
    /// starting with the spreadsheet quote (its bytes were checked by the scan).
    fn is_id(&self, bytes: &[u8]) -> bool {
        self.end > self.start && self.len() <= MAX_ID_CHARS && bytes.get(self.start) != Some(&b'\'')
    }

    fn bytes<'a>(&self, bytes: &'a [u8]) -> &'a [u8] {
        bytes.get(self.start..self.end).unwrap_or_default()
    }
}

/// Whether the bytes of `w` under `digits` (0xff bytes) are ASCII digits and the others
/// are `punct`'s.
fn digits_and(w: u64, digits: u64, punct: u64) -> bool {
    let d = (w ^ ASCII_ZEROS) & digits;
    // A digit is 0..=9 after the xor: no high nibble, and no carry into it adding 6.
    let digits_ok = (d | d.wrapping_add(0x0606_0606_0606_0606 & digits)) & 0xf0f0_f0f0_f0f0_f0f0;
    digits_ok == 0 && w & !digits == punct
}

/// The byte `i` of `w`, as a number.
fn byte(w: u64, i: u32) -> u32 {
    (w.wrapping_shr(i.wrapping_mul(8)) & 0xff) as u32
}

/// Two decimal digits at bytes `i`, `i + 1` of a word already xored with ASCII zeros.
fn two(d: u64, i: u32) -> u32 {
    byte(d, i)
        .wrapping_mul(10)
        .wrapping_add(byte(d, i.wrapping_add(1)))
}

/// Day words of the dates read lately, by their date's bytes, so the rows of one month
/// compute each day's number once: one entry per day of the month (a usage file mixes the
/// days of its period in any order), replaced when the same day of another month comes.
#[derive(Default)]
pub(super) struct Days {
    /// (the date's first word, "YYYY-MM-", and the day word); a first word of 0 (no date's:
    /// a date holds '-') marks an empty entry.
    entries: [(u64, u32); 32],
}

/// A timestamp of the common form at `start`: (its end, its day word, the timestamp itself
/// when `exact`, for a record id).
#[inline(always)]
fn timestamp_at(
    bytes: &[u8],
    start: usize,
    days: &mut Days,
    exact: bool,
) -> Option<(usize, u32, Option<DateTime<Utc>>)> {
    // "YYYY-MM-", "DDTHH:MM", ":SS" then 'Z' or '.'.
    let (w0, w1, w2) = (
        word(bytes, start),
        word(bytes, start.wrapping_add(8)),
        word(bytes, start.wrapping_add(16)),
    );
    let ok = digits_and(w0, 0x00ff_ff00_ffff_ffff, 0x2d00_002d_0000_0000)
        && digits_and(w1, 0xffff_00ff_ff00_ffff, 0x0000_3a00_0054_0000)
        && digits_and(w2 & 0xff_ffff, 0x00ff_ff00, 0x3a);
    if !ok {
        return None;
    }
    let (d0, d1, d2) = (w0 ^ ASCII_ZEROS, w1 ^ ASCII_ZEROS, w2 ^ ASCII_ZEROS);
    let (hour, minute, second) = (two(d1, 3), two(d1, 6), two(d2, 1));
    if hour >= 24 || minute >= 60 || second >= 60 {
        return None;
    }
    let (end, nanos) = match byte(w2, 3) {
        0x5a => (start.wrapping_add(20), 0),              // 'Z'
        0x2e => fraction(bytes, start.wrapping_add(20))?, // '.'
        _ => return None,
    };
    let parts = || Timestamp {
        // Four digits: below 10,000.
        year: two(d0, 0).wrapping_mul(100).wrapping_add(two(d0, 2)) as i32,
        month: two(d0, 5),
        day: two(d1, 0),
        hour,
        minute,
        second,
        nanos,
    };
    // By the day of the month as written (two checked digits), which the entry's place
    // holds; no entry past 31.
    let entry = days.entries.get_mut(two(d1, 0) as usize);
    let day = match entry {
        Some((month, word)) if *month == w0 => *word,
        _ => new_day(&parts(), w0, entry)?,
    };
    let at = match exact {
        true => Some(parts().date_time()?),
        false => None,
    };
    Some((end, day, at))
}

/// The day word of a date not in the cache, which then holds it: out of the row's way, as
/// it runs once a day of the month.
#[cold]
#[inline(never)]
fn new_day(date: &Timestamp, month: u64, entry: Option<&mut (u64, u32)>) -> Option<u32> {
    let word = date.unix_day().and_then(unix_day_word)?;
    if let Some(entry) = entry {
        *entry = (month, word);
    }
    Some(word)
}

/// One to nine digits of a second's fraction at `start`, then 'Z': (the end, nanoseconds).
fn fraction(bytes: &[u8], start: usize) -> Option<(usize, u32)> {
    let mut value = 0u32;
    let mut at = start;
    while let Some(d) = bytes.get(at).filter(|b| b.is_ascii_digit()) {
        if at.wrapping_sub(start) == 9 {
            return None;
        }
        value = value
            .wrapping_mul(10)
            .wrapping_add(u32::from(d.wrapping_sub(b'0')));
        at = at.wrapping_add(1);
    }
    let digits = u32::try_from(at.wrapping_sub(start)).ok()?;
    if digits == 0 || bytes.get(at) != Some(&b'Z') {
        return None;
    }
    let pad = 10u32.checked_pow(9u32.checked_sub(digits)?)?;
    Some((at.wrapping_add(1), value.checked_mul(pad)?))
}

/// A plain decimal at `start`: `digits[.digits]` with at most 18 digits, as
/// `Decimal::from_str_exact` reads it: (its end, mantissa, scale).
fn decimal_at(bytes: &[u8], start: usize) -> Option<(usize, i64, u32)> {
    let mut mantissa: i64 = 0;
    let mut at = start;
    let mut point: Option<usize> = None;
    loop {
        match bytes.get(at) {
            // At most 19 digits are read (the 20th is refused below), within i64.
            Some(b @ b'0'..=b'9') if at.wrapping_sub(start) < 20 => {
                mantissa = mantissa
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(b.wrapping_sub(b'0')));
            }
            Some(b'.') if point.is_none() && at > start => point = Some(at),
            _ => break,
        }
        at = at.wrapping_add(1);
    }
    let len = at.wrapping_sub(start);
    let scale = match point {
        Some(p) => at.wrapping_sub(p).wrapping_sub(1),
        None => 0,
    };
    let digits = len.wrapping_sub(usize::from(point.is_some()));
    if len == 0 || digits > 18 || (point.is_some() && scale == 0) {
        return None;
    }
    Some((at, mantissa, scale as u32))
}

/// Reads the line starting at `start` in one pass, when it is in the common form and its
/// fields are in `roles`' order: the row and where the next line starts. `None` leaves the
/// line to [`parse_simple`], which decides.
#[inline(always)]
pub(super) fn read_row<'a>(
    bytes: &'a [u8],
    start: usize,
    roles: &[usize],
    line: u64,
    days: &mut Days,
) -> Option<(Row<'a>, usize)> {
    let mut at = start;
    let (mut account, mut metric, mut id) = (Id::default(), Id::default(), Id::default());
    let mut amount = (0i64, 0u32);
    let mut stamp = None;
    for (k, role) in roles.iter().enumerate() {
        let end = match role {
            0 => {
                account = Id::scan(bytes, at);
                account.end
            }
            1 => {
                metric = Id::scan(bytes, at);
                metric.end
            }
            2 => {
                // Read after the others: a record id needs the exact timestamp.
                let end = timestamp_end(bytes, at)?;
                stamp = Some(at);
                end
            }
            3 => {
                let (end, m, s) = decimal_at(bytes, at)?;
                amount = (m, s);
                end
            }
            _ => {
                id = Id::scan(bytes, at);
                id.end
            }
        };
        at = if k.wrapping_add(1) < roles.len() {
            (bytes.get(end) == Some(&b',')).then(|| end.wrapping_add(1))?
        } else {
            end
        };
    }
    let next = match bytes.get(at) {
        None => at,
        Some(b'\n') => at.wrapping_add(1),
        Some(b'\r') if bytes.get(at.wrapping_add(1)) == Some(&b'\n') => at.wrapping_add(2),
        _ => return None,
    };
    let has_id = id.end > id.start;
    if !account.is_id(bytes) || !metric.is_id(bytes) || (has_id && !id.is_id(bytes)) {
        return None;
    }
    let (_, day, exact) = timestamp_at(bytes, stamp?, days, has_id)?;
    let row = Row {
        line,
        text: bytes.get(start..at)?,
        account: account.bytes(bytes),
        account_key: account.key,
        metric: metric.bytes(bytes),
        metric_key: metric.key,
        mantissa: amount.0,
        day_scale: day | amount.1,
        identified: exact.map(|at| (id.bytes(bytes), at)),
    };
    Some((row, next))
}

/// Where a timestamp of the common form starting at `start` ends: 20 bytes, or a fraction
/// after 19; the bytes themselves are checked by [`timestamp_at`].
fn timestamp_end(bytes: &[u8], start: usize) -> Option<usize> {
    match bytes.get(start.wrapping_add(19))? {
        b'Z' => Some(start.wrapping_add(20)),
        b'.' => Some(fraction(bytes, start.wrapping_add(20))?.0),
        _ => None,
    }
}

/// A row in the common form, parsed but for its account, which is looked up with the rest
/// of its batch.
#[cfg_attr(test, derive(Debug, PartialEq))]
pub(super) struct Row<'a> {
    pub(super) line: u64,
    /// The line, for the row rules if the row cannot be placed.
    pub(super) text: &'a [u8],
    pub(super) account: &'a [u8],
    /// The account key inline, `None` for a long one.
    pub(super) account_key: Option<[u64; 2]>,
    pub(super) metric: &'a [u8],
    /// The metric inline, `None` for a long one.
    pub(super) metric_key: Option<[u64; 2]>,
    pub(super) mantissa: i64,
    pub(super) day_scale: u32,
    /// The record id and exact timestamp of a row that has an id.
    pub(super) identified: Option<(&'a [u8], DateTime<Utc>)>,
}

/// Parses a row already split into its fields, with the one-pass readers of each field;
/// `None` leaves it to the row rules.
pub(super) fn parse_simple<'a>(
    fields: &[&'a str; 5],
    line: u64,
    text: &'a str,
    days: &mut Days,
) -> Option<Row<'a>> {
    let [account, metric, timestamp, quantity, record_id] = *fields;
    let (account_id, metric_id) = (whole_id(account)?, whole_id(metric)?);
    let (mantissa, scale) = plain_decimal(quantity)?;
    let has_id = !record_id.is_empty();
    if has_id {
        whole_id(record_id)?;
    }
    let (end, day, exact) = timestamp_at(timestamp.as_bytes(), 0, days, has_id)?;
    if end != timestamp.len() {
        return None;
    }
    Some(Row {
        line,
        text: text.as_bytes(),
        account: account.as_bytes(),
        account_key: account_id.key,
        metric: metric.as_bytes(),
        metric_key: metric_id.key,
        mantissa,
        day_scale: day | scale,
        identified: exact.map(|at| (record_id.as_bytes(), at)),
    })
}

/// `s` as an id the import's rules keep exactly as written (printable ASCII without spaces,
/// not starting with the spreadsheet quote), or `None`.
fn whole_id(s: &str) -> Option<Id> {
    let bytes = s.as_bytes();
    let id = Id::scan(bytes, 0);
    (id.end == bytes.len() && id.is_id(bytes)).then_some(id)
}

/// `digits[.digits]` with at most 18 digits, all of `s`: (mantissa, scale), as
/// `Decimal::from_str_exact` reads it.
fn plain_decimal(s: &str) -> Option<(i64, u32)> {
    let (end, mantissa, scale) = decimal_at(s.as_bytes(), 0)?;
    (end == s.len()).then_some((mantissa, scale))
}

/// A timestamp in the common form `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z`.
struct Timestamp {
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

impl Timestamp {
    /// Days since 1970-01-01 of a valid date (Howard Hinnant's days_from_civil).
    fn unix_day(&self) -> Option<i64> {
        let leap = self.year % 4 == 0 && (self.year % 100 != 0 || self.year % 400 == 0);
        let days_in_month = match self.month {
            1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
            4 | 6 | 9 | 11 => 30,
            2 if leap => 29,
            2 => 28,
            _ => return None,
        };
        if self.day == 0 || self.day > days_in_month {
            return None;
        }
        let (y, m, d) = (
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        let y = if m <= 2 { y.checked_sub(1)? } else { y };
        let era = y.div_euclid(400);
        let yoe = y.checked_sub(era.checked_mul(400)?)?;
        let mp = (m.checked_add(9)?).rem_euclid(12);
        let doy = (mp.checked_mul(153)?.checked_add(2)?)
            .checked_div(5)?
            .checked_add(d)?
            .checked_sub(1)?;
        let doe = yoe
            .checked_mul(365)?
            .checked_add(yoe.checked_div(4)?)?
            .checked_sub(yoe.checked_div(100)?)?
            .checked_add(doy)?;
        era.checked_mul(146_097)?
            .checked_add(doe)?
            .checked_sub(719_468)
    }

    fn day(&self) -> Option<NaiveDate> {
        NaiveDate::from_ymd_opt(self.year, self.month, self.day)
    }

    fn date_time(&self) -> Option<DateTime<Utc>> {
        Some(
            self.day()?
                .and_hms_nano_opt(self.hour, self.minute, self.second, self.nanos)?
                .and_utc(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::inline;
    use chrono::Timelike;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    /// What the field-by-field reader makes of the first line of `text`: the row, or `None`.
    fn split_and_parse<'a>(text: &'a str, roles: &[usize]) -> Option<Row<'a>> {
        let line = text.split('\n').next()?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.contains('\r') {
            return None;
        }
        let parts: Vec<&str> = line.split(',').collect();
        if parts.len() != roles.len() {
            return None;
        }
        let mut fields = [""; 5];
        for (part, role) in parts.iter().zip(roles) {
            fields[*role] = part;
        }
        parse_simple(&fields, 7, line, &mut Days::default())
    }

    const ACCOUNTS: [&str; 10] = [
        "acme",
        "a0000123",
        "exactly-15-byte",
        "sixteen-bytes-id",
        "'quoted",
        "",
        "a b",
        "\u{fc}nic\u{f6}de",
        "x",
        "12345678",
    ];
    const STAMPS: [&str; 10] = [
        "2025-01-31T12:00:00Z",
        "2024-02-29T23:59:59.5Z",
        "2025-12-31T00:00:00.123456789Z",
        "2025-02-29T12:00:00Z",
        "2025-01-31T24:00:00Z",
        "2025-01-31T12:60:00Z",
        "2025-13-01T00:00:00Z",
        "2025-01-31T12:00:00.1234567890Z",
        "2025-01-31 12:00:00",
        "0001-01-01T00:00:00.Z",
    ];
    /// Decimals the common form takes, and near misses it must not.
    const GOOD_DECIMALS: [&str; 7] = [
        "0",
        "7",
        "007",
        "1.50",
        "0.000",
        "123456789012345678",
        "12.345678901234567",
    ];
    const BAD_DECIMALS: [&str; 9] = [
        "",
        ".5",
        "1.",
        "1.2.3",
        "-1",
        "+1",
        "1e3",
        " 1",
        "1234567890123456789",
    ];
    /// Bytes a mutation writes: separators, line ends, the timestamp's punctuation, digits,
    /// and bytes ids may not hold.
    const BYTES: [u8; 16] = [
        b',', b'\r', b'\n', b' ', b'Z', b'.', b'0', b'9', b':', b'-', b'T', b'\'', 0x7f, b'a',
        0x20, b'"',
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 2_000, ..ProptestConfig::default() })]

        /// The one-pass reader takes only rows the field-by-field reader takes, with the
        /// same values, and finds the same line end.
        #[test]
        fn one_pass_rows_are_the_field_by_field_rows(
            a in 0usize..10, m in 0usize..10, t in 0usize..10, q in 0usize..16,
            id in prop::option::of(0usize..10),
            order in 0usize..24,
            mutations in prop::collection::vec((any::<prop::sample::Index>(), 0usize..16), 0..3),
            end in 0usize..4,
        ) {
            let mut roles: Vec<usize> = vec![0, 1, 2, 3];
            // One of the 24 orders of the four required columns.
            let mut rest = roles.clone();
            roles.clear();
            let mut k = order;
            for n in (1..=4usize).rev() {
                roles.push(rest.remove(k % n));
                k /= n;
            }
            let quantity = GOOD_DECIMALS.iter().chain(&BAD_DECIMALS).nth(q).copied().unwrap_or("1");
            let mut cells = vec![ACCOUNTS[a], ACCOUNTS[(m + 3) % 10], STAMPS[t], quantity];
            if let Some(i) = id {
                roles.push(4);
                cells.push(ACCOUNTS[i]);
            }
            let row: Vec<&str> = roles.iter().map(|r| cells[*r]).collect();
            let mut bytes = row.join(",").into_bytes();
            for (at, b) in &mutations {
                let i = at.index(bytes.len().max(1));
                if let Some(slot) = bytes.get_mut(i) {
                    *slot = BYTES[*b];
                }
            }
            bytes.extend_from_slice(["\n", "\r\n", "", "\r"][end].as_bytes());
            bytes.extend_from_slice(b"next");
            if end == 2 {
                bytes.truncate(bytes.len() - 4);
            }
            let Ok(text) = std::str::from_utf8(&bytes) else {
                return Ok(());
            };
            let fast = read_row(text.as_bytes(), 0, &roles, 7, &mut Days::default());
            let slow = split_and_parse(text, &roles);
            if let Some((row, next)) = fast {
                let line_end = text.find('\n').map_or(text.len(), |i| i + 1);
                prop_assert_eq!(next, line_end, "{:?}", text);
                let slow = slow.ok_or_else(|| TestCaseError::fail(format!("slow refused {text:?}")))?;
                prop_assert_eq!(row, slow, "{:?}", text);
            }
        }
    }

    #[test]
    fn plain_decimals_read_as_from_str_exact_does() {
        for text in GOOD_DECIMALS {
            let (m, s) = plain_decimal(text).unwrap();
            let exact = Decimal::from_str_exact(text).unwrap();
            assert_eq!(Decimal::new(m, s).to_string(), exact.to_string(), "{text}");
        }
        for text in BAD_DECIMALS {
            assert_eq!(plain_decimal(text), None, "{text}");
        }
    }

    /// A whole timestamp as the one-pass reader reads it, for a row without a record id (the
    /// day word) and for one with (the exact time).
    fn whole_timestamp(text: &str) -> (Option<u32>, Option<DateTime<Utc>>) {
        let read = |exact| {
            timestamp_at(text.as_bytes(), 0, &mut Days::default(), exact)
                .filter(|(end, _, _)| *end == text.len())
        };
        (
            read(false).map(|(_, day, _)| day),
            read(true).and_then(|(_, _, at)| at),
        )
    }

    /// The same of chrono's reading of `text`.
    fn chrono_timestamp(text: &str) -> (Option<u32>, Option<DateTime<Utc>>) {
        let at = DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc));
        let day = at.ok().and_then(|at| {
            let days = at.date_naive().signed_duration_since(NaiveDate::default());
            unix_day_word(days.num_days())
        });
        (day, at.ok())
    }

    #[test]
    fn common_timestamps_read_as_rfc3339_does() {
        for text in [
            "2025-01-31T12:00:00Z",
            "2024-02-29T23:59:59.5Z",
            "2025-12-31T00:00:00.123456789Z",
            "0001-01-01T00:00:00Z",
            "2024-02-29T00:00:00Z",
            "2000-03-01T00:00:00Z",
            "1900-02-28T00:00:00Z",
            "1969-12-31T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T00:00:00Z",
        ] {
            assert_eq!(whole_timestamp(text), chrono_timestamp(text), "{text}");
            assert!(whole_timestamp(text).1.is_some(), "{text}");
        }
        for text in [
            "2025-02-29T12:00:00Z",
            "2025-01-31T24:00:00Z",
            "2025-01-31T12:00:60Z",
            "2025-01-31 12:00:00",
            "2025-01-31T12:00:00+01:00",
            "2025-01-31T12:00:00.Z",
        ] {
            assert_eq!(whole_timestamp(text), (None, None), "{text}");
        }
    }

    #[test]
    fn scanned_id_keys_are_inline_keys() {
        let text = "abcdefghijklmnopq";
        for len in 0..=17 {
            let field = format!("{},", &text[..len]);
            assert_eq!(
                Id::scan(field.as_bytes(), 0).key,
                inline(&text[..len]),
                "{len}"
            );
        }
    }

    proptest! {
        /// Timestamps of the common form's shape with fields around their limits: the
        /// one-pass reader takes those chrono takes (but leap seconds, which chrono keeps as a
        /// nanosecond count past a billion), with the same day and
        /// time.
        #[test]
        fn timestamps_read_as_chrono_does(
            year in prop_oneof![0u32..3, 1969u32..1971, 2023u32..2026, 9998u32..10_000],
            month in 0u32..14, day in 0u32..33, hour in 22u32..26, minute in 58u32..62,
            second in 58u32..62,
            fraction in prop::collection::vec(0u8..10, 0..11),
        ) {
            let mut text = format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}");
            if !fraction.is_empty() {
                text.push('.');
                text.extend(fraction.iter().map(|d| char::from(b'0' + d)));
            }
            text.push('Z');
            // The common form has at most nine fraction digits; chrono reads any number.
            let chrono = match chrono_timestamp(&text) {
                (_, Some(at)) if at.nanosecond() < 1_000_000_000 && fraction.len() <= 9 => {
                    chrono_timestamp(&text)
                }
                _ => (None, None),
            };
            prop_assert_eq!(whole_timestamp(&text), chrono, "{}", text);
        }

        /// Timestamps read one after another with one cache of days, as a chunk reads its
        /// rows: each gets chrono's day, whatever was read before it (days of one month, the
        /// same day of other months and years, invalid days among them).
        #[test]
        fn days_read_in_sequence_are_chrono_days(
            dates in prop::collection::vec((2023u32..2026, 1u32..13, 0u32..40), 1..200),
        ) {
            let mut days = Days::default();
            for (year, month, day) in dates {
                let text = format!("{year:04}-{month:02}-{day:02}T12:00:00Z");
                let read = timestamp_at(text.as_bytes(), 0, &mut days, false)
                    .map(|(_, day, _)| day);
                prop_assert_eq!(read, chrono_timestamp(&text).0, "{}", text);
            }
        }

        /// Digits and points, around the 18 digits the common form reads: read as
        /// `from_str_exact` reads them.
        #[test]
        fn plain_decimals_read_as_from_str_exact_does_any(
            text in prop_oneof!["[0-9]{0,20}(\\.[0-9]{0,20})?", "[0-9.]{0,21}"],
        ) {
            let digits = text.bytes().filter(u8::is_ascii_digit).count();
            let exact = Decimal::from_str_exact(&text)
                .ok()
                .filter(|_| digits <= 18 && !text.starts_with('.') && !text.ends_with('.'));
            let fast = plain_decimal(&text).map(|(m, s)| Decimal::new(m, s));
            prop_assert_eq!(fast.map(|d| d.to_string()), exact.map(|d| d.to_string()), "{}", text);
        }
    }
}
