//! One row of a usage CSV in the common form, read in a single pass over its bytes: fields
//! are split, checked and converted as the bytes go by, eight at a time where they can be
//! (ids, the timestamp). A row that pass does not take is split at its separators and each
//! field read whole by the same field readers ([`parse_simple`]), which decides; so the pass
//! only has to split rightly the rows it takes, never take them all. The field readers are
//! checked against chrono and `Decimal::from_str_exact`.
//!
//! Positions here are within one chunk of text, plus at most a word past it: adding to them
//! cannot wrap, so the pass adds with `wrapping_add` (one instruction, no saturation).

use chrono::{DateTime, Utc};

use super::time::{Days, exact_at, time_at};
use super::word::{POWERS, digits_at, id_stops, low_bytes, splat, word};
use crate::id::MAX_ID_CHARS;
use crate::import::layout::Field;
use crate::import::time_format::TimeFormat;

/// An id field: where it starts and ends, and its inline key (`inline`'s, `None` past 15
/// bytes), taken from the words the scan read.
#[derive(Clone, Copy, Default)]
struct Id {
    start: usize,
    end: usize,
    key: Option<[u64; 2]>,
}

impl Id {
    /// Scans the id starting at `start` up to the first byte that cannot be in one (or the
    /// separator, [`splat`]). Stops looking past [`MAX_ID_CHARS`], which no id is longer than.
    #[inline(always)]
    fn scan(bytes: &[u8], start: usize, separator: u64) -> Id {
        let first = word(bytes, start);
        let stops = id_stops(first, separator);
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
        let mut stops = id_stops(second, separator);
        while stops == 0 && at.wrapping_sub(start) <= MAX_ID_CHARS {
            at = at.wrapping_add(8);
            stops = id_stops(word(bytes, at), separator);
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

/// A plain decimal at `start`: `digits[.digits]` with at most 18 digits, as
/// `Decimal::from_str_exact` reads it (and, with `comma_point`, `digits,digits` as a `;`
/// file's decimal comma): (its end, mantissa, scale).
#[inline(always)]
fn decimal_at(bytes: &[u8], start: usize, comma_point: bool) -> Option<(usize, i64, u32)> {
    let (whole, value) = digits_at(bytes, start);
    let at = start.wrapping_add(whole);
    let point = match bytes.get(at) {
        Some(b'.') => true,
        Some(b',') => comma_point,
        _ => false,
    };
    if whole == 0 {
        return None;
    }
    if !point {
        return (whole <= 18).then(|| (at, value.cast_signed(), 0));
    }
    let (fraction, part) = digits_at(bytes, at.wrapping_add(1));
    if fraction == 0 || whole.wrapping_add(fraction) > 18 {
        return None;
    }
    // At most 18 digits in all: below 10^18, in an i64.
    let power = POWERS.get(fraction).copied()?;
    let mantissa = value.checked_mul(power)?.checked_add(part)?;
    let end = at.wrapping_add(1).wrapping_add(fraction);
    Some((
        end,
        i64::try_from(mantissa).ok()?,
        u32::try_from(fraction).ok()?,
    ))
}

/// Where a field the layout does not read, starting at `start`, ends: at the separator or
/// the first byte that is not printable ASCII, a space or a tab (text outside ASCII goes
/// to the field-by-field reader, which checks it is UTF-8).
fn skip_at(bytes: &[u8], start: usize, separator: u8) -> usize {
    let mut at = start;
    while bytes
        .get(at)
        .is_some_and(|b| *b != separator && (*b == b'\t' || (b' '..=b'~').contains(b)))
    {
        at = at.wrapping_add(1);
    }
    at
}

/// How a file's rows are laid out: each column's field, the separator, how times are
/// written. A `;` file may write decimal commas.
#[derive(Clone, Copy)]
pub(super) struct Form<'f> {
    pub(super) fields: &'f [Field],
    pub(super) separator: u8,
    pub(super) time: TimeFormat,
}

impl Form<'_> {
    fn comma_point(&self) -> bool {
        self.separator == b';'
    }
}

/// A line's fields as one pass read them.
#[derive(Default)]
struct Scanned {
    /// Where the last field ends.
    end: usize,
    account: Id,
    metric: Id,
    id: Id,
    /// Mantissa and scale.
    amount: (i64, u32),
    /// Where the time starts, and its day word.
    stamp: Option<(usize, u32)>,
}

/// Reads the fields of the line starting at `start`, each in its column's form and followed
/// by the separator but the last; `None` when one is not.
#[inline(always)]
fn scan(bytes: &[u8], start: usize, form: &Form<'_>, days: &mut Days) -> Option<Scanned> {
    let separator = splat(form.separator);
    let mut s = Scanned {
        end: start,
        ..Scanned::default()
    };
    let last = form.fields.len().wrapping_sub(1);
    for (k, field) in form.fields.iter().enumerate() {
        let at = s.end;
        let end = match field {
            Field::Account => {
                s.account = Id::scan(bytes, at, separator);
                s.account.end
            }
            Field::Metric => {
                s.metric = Id::scan(bytes, at, separator);
                s.metric.end
            }
            Field::Time => {
                let (end, day) = time_at(form.time, bytes, at, days)?;
                s.stamp = Some((at, day));
                end
            }
            Field::Quantity => {
                let (end, m, scale) = decimal_at(bytes, at, form.comma_point())?;
                s.amount = (m, scale);
                end
            }
            Field::RecordId => {
                s.id = Id::scan(bytes, at, separator);
                s.id.end
            }
            Field::Ignored => skip_at(bytes, at, form.separator),
        };
        s.end = if k < last {
            (bytes.get(end) == Some(&form.separator)).then(|| end.wrapping_add(1))?
        } else {
            end
        };
    }
    Some(s)
}

/// Reads the line starting at `start` in one pass, when it is in the common form: the row
/// and where the next line starts. `None` leaves the line to [`parse_simple`], which
/// decides.
#[inline(always)]
pub(super) fn read_row<'a>(
    bytes: &'a [u8],
    start: usize,
    form: &Form<'_>,
    line: u64,
    days: &mut Days,
) -> Option<(Row<'a>, usize)> {
    let Scanned {
        end: at,
        account,
        metric,
        id,
        amount,
        stamp,
    } = scan(bytes, start, form, days)?;
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
    let (stamp, day) = stamp?;
    let exact = match has_id {
        true => Some(exact_at(form.time, bytes, stamp)?),
        false => None,
    };
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

/// Parses a row already split into its fields (account key, metric, time, quantity, record
/// id), with the one-pass readers of each field; `None` leaves it to the row rules.
pub(super) fn parse_simple<'a>(
    fields: &[&'a str; 5],
    form: &Form<'_>,
    line: u64,
    text: &'a str,
    days: &mut Days,
) -> Option<Row<'a>> {
    let [account, metric, timestamp, quantity, record_id] = *fields;
    let separator = splat(form.separator);
    let (account_id, metric_id) = (whole_id(account, separator)?, whole_id(metric, separator)?);
    let (mantissa, scale) = plain_decimal(quantity, form.comma_point())?;
    let has_id = !record_id.is_empty();
    if has_id {
        whole_id(record_id, separator)?;
    }
    let (end, day) = time_at(form.time, timestamp.as_bytes(), 0, days)?;
    if end != timestamp.len() {
        return None;
    }
    let exact = match has_id {
        true => Some(exact_at(form.time, timestamp.as_bytes(), 0)?),
        false => None,
    };
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
fn whole_id(s: &str, separator: u64) -> Option<Id> {
    let bytes = s.as_bytes();
    let id = Id::scan(bytes, 0, separator);
    (id.end == bytes.len() && id.is_id(bytes)).then_some(id)
}

/// `digits[.digits]` with at most 18 digits, all of `s`: (mantissa, scale), as
/// `Decimal::from_str_exact` reads it.
fn plain_decimal(s: &str, comma_point: bool) -> Option<(i64, u32)> {
    let (end, mantissa, scale) = decimal_at(s.as_bytes(), 0, comma_point)?;
    (end == s.len()).then_some((mantissa, scale))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::inline;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    /// What the field-by-field reader makes of the first line of `text`: the row, or `None`.
    fn split_and_parse<'a>(text: &'a str, form: &Form<'_>) -> Option<Row<'a>> {
        let line = text.split('\n').next()?;
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.contains('\r') {
            return None;
        }
        let parts: Vec<&str> = line.split(char::from(form.separator)).collect();
        if parts.len() != form.fields.len() {
            return None;
        }
        let mut fields = [""; 5];
        for (part, field) in parts.iter().zip(form.fields) {
            if let Some(i) = field.index() {
                fields[i] = part;
            }
        }
        parse_simple(&fields, form, 7, line, &mut Days::default())
    }

    const ACCOUNTS: [&str; 11] = [
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
        "a,b;c",
    ];
    /// Times of each format, and near misses.
    const STAMPS: [&str; 16] = [
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
        "2025-01-31",
        "2025-02-29",
        "1741864570320",
        "1741864570",
        "-1741864570",
        "123456789012345678",
    ];
    const FORMATS: [TimeFormat; 4] = [
        TimeFormat::Rfc3339,
        TimeFormat::Date,
        TimeFormat::EpochSeconds,
        TimeFormat::EpochMillis,
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
    const BAD_DECIMALS: [&str; 10] = [
        "",
        ".5",
        "1.",
        "1.2.3",
        "-1",
        "+1",
        "1e3",
        " 1",
        "1234567890123456789",
        "1,5",
    ];
    /// Cells of a column the layout does not read.
    const IGNORED: [&str; 4] = ["", "note", "a b\tc", "caf\u{e9}"];
    /// Bytes a mutation writes: separators, line ends, the timestamp's punctuation, digits,
    /// and bytes ids may not hold.
    const BYTES: [u8; 17] = [
        b',', b'\r', b'\n', b' ', b'Z', b'.', b'0', b'9', b':', b'-', b'T', b'\'', 0x7f, b'a',
        0x20, b'"', b';',
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 4_000, ..ProptestConfig::default() })]

        /// The one-pass reader takes only rows the field-by-field reader takes, with the
        /// same values, and finds the same line end.
        #[test]
        fn one_pass_rows_are_the_field_by_field_rows(
            a in 0usize..11, m in 0usize..11, t in 0usize..16, q in 0usize..17,
            id in prop::option::of(0usize..11),
            ignored in prop::option::of((0usize..4, 0usize..6)),
            order in 0usize..24,
            format in 0usize..4,
            semicolon in any::<bool>(),
            mutations in prop::collection::vec((any::<prop::sample::Index>(), 0usize..17), 0..3),
            end in 0usize..4,
        ) {
            let mut fields = vec![Field::Account, Field::Metric, Field::Time, Field::Quantity];
            // One of the 24 orders of the four required columns.
            let mut rest = fields.clone();
            fields.clear();
            let mut k = order;
            for n in (1..=4usize).rev() {
                fields.push(rest.remove(k % n));
                k /= n;
            }
            let quantity = GOOD_DECIMALS.iter().chain(&BAD_DECIMALS).nth(q).copied().unwrap_or("1");
            let mut cells = vec![ACCOUNTS[a], ACCOUNTS[(m + 3) % 11], STAMPS[t], quantity];
            if let Some(i) = id {
                fields.push(Field::RecordId);
                cells.push(ACCOUNTS[i]);
            }
            let mut row: Vec<&str> = fields.iter().map(|f| cells[f.index().unwrap()]).collect();
            if let Some((cell, at)) = ignored {
                let at = at % (fields.len() + 1);
                fields.insert(at, Field::Ignored);
                row.insert(at, IGNORED[cell]);
            }
            let separator = if semicolon { b';' } else { b',' };
            let form = Form { fields: &fields, separator, time: FORMATS[format] };
            let mut bytes = row.join(&char::from(separator).to_string()).into_bytes();
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
            let fast = read_row(text.as_bytes(), 0, &form, 7, &mut Days::default());
            let slow = split_and_parse(text, &form);
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
            let (m, s) = plain_decimal(text, false).unwrap();
            let exact = Decimal::from_str_exact(text).unwrap();
            assert_eq!(Decimal::new(m, s).to_string(), exact.to_string(), "{text}");
        }
        for text in BAD_DECIMALS {
            assert_eq!(plain_decimal(text, false), None, "{text}");
        }
        assert_eq!(plain_decimal("1,50", true), Some((150, 2)));
        assert_eq!(plain_decimal("1,5,0", true), None);
        assert_eq!(plain_decimal("1,5.0", true), None);
    }

    #[test]
    fn scanned_id_keys_are_inline_keys() {
        let text = "abcdefghijklmnopq";
        for len in 0..=17 {
            let field = format!("{},", &text[..len]);
            assert_eq!(
                Id::scan(field.as_bytes(), 0, splat(b',')).key,
                inline(&text[..len]),
                "{len}"
            );
        }
    }

    proptest! {
        /// Runs of digits of any length, then any byte: read eight at a time as one at a time.
        #[test]
        fn digit_runs_read_as_digit_by_digit(
            run in "[0-9]{0,26}",
            after in prop_oneof![Just(""), Just(","), Just("."), Just("a"), Just("\u{e9}"), Just("/"), Just(":")],
        ) {
            let text = format!("{run}{after}");
            let (len, value) = digits_at(text.as_bytes(), 0);
            prop_assert_eq!(len, run.len().min(24), "{}", text);
            if run.len() <= 19 {
                let expected = run.bytes().fold(0u64, |v, d| v * 10 + u64::from(d - b'0'));
                prop_assert_eq!(value, expected, "{}", text);
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
            let fast = plain_decimal(&text, false).map(|(m, s)| Decimal::new(m, s));
            prop_assert_eq!(fast.map(|d| d.to_string()), exact.map(|d| d.to_string()), "{}", text);
            let comma = text.replace('.', ",");
            let fast = plain_decimal(&comma, true).map(|(m, s)| Decimal::new(m, s));
            let semicolon = crate::import::table::decimal(crate::import::Delimiter::Semicolon, &comma)
                .ok()
                .filter(|_| digits <= 18 && !text.starts_with('.') && !text.ends_with('.'));
            prop_assert_eq!(fast.map(|d| d.to_string()), semicolon.map(|d| d.to_string()), "{}", comma);
        }
    }
}
