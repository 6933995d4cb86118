//! The canonical text of a usage record's time and quantity, read and written without
//! chrono's or rust_decimal's general parsers: the form a usage block stores
//! ([`UsageBlock`](super::UsageBlock)), and the common form of usage files.
//!
//! A time is `YYYY-MM-DDTHH:MM:SS[.fraction]Z`; its canonical form is chrono's
//! `to_rfc3339_opts(SecondsFormat::AutoSi, true)`: no fraction for whole seconds, else 3, 6
//! or 9 digits, the fewest that hold it. A quantity is `digits[.digits]`, at most 18 digits;
//! its canonical form is `Decimal`'s `to_string` of `Decimal::from_str_exact` of it: the
//! whole part without leading zeros, the fraction as written (its scale kept).

use chrono::{DateTime, NaiveDate, Utc};

/// The time `text` stands for when it is in the common form, `YYYY-MM-DDTHH:MM:SS[.1 to 9
/// digits]Z` of a year from 1000 to 9999; `None` for anything else, which a caller then reads
/// by the general rules. Stores that encode a usage block's times read them with it.
///
/// ```
/// use plock_core::import::common_time;
///
/// let time = common_time(b"2025-03-13T11:16:10.320Z").unwrap();
/// assert_eq!(time.to_rfc3339(), "2025-03-13T11:16:10.320+00:00");
/// assert!(common_time(b"2025-03-13 11:16:10Z").is_none());
/// ```
pub fn common_time(text: &[u8]) -> Option<DateTime<Utc>> {
    Stamp::read(text)?.time()
}

/// A time in the common form, read: the date and time of day, and the nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Stamp {
    /// `YYYY-MM-DDTHH:MM:SS`, as written.
    head: [u8; 19],
    nanos: u32,
    /// Whether the text was in the canonical form already.
    canonical: bool,
}

/// Two ASCII digits' value.
fn two(a: u8, b: u8) -> Option<u32> {
    (a.is_ascii_digit() && b.is_ascii_digit()).then(|| {
        u32::from(a.wrapping_sub(b'0'))
            .wrapping_mul(10)
            .wrapping_add(u32::from(b.wrapping_sub(b'0')))
    })
}

/// The fraction digits `AutoSi` writes for `nanos`.
fn fraction_digits(nanos: u32) -> usize {
    if nanos == 0 {
        0
    } else if nanos.is_multiple_of(1_000_000) {
        3
    } else if nanos.is_multiple_of(1_000) {
        6
    } else {
        9
    }
}

impl Stamp {
    /// Reads `text` when it is `YYYY-MM-DDTHH:MM:SS[.1 to 9 digits]Z`, a real date and time
    /// of a year from 1000 to 9999 (no leap second); `None` for anything else, which the
    /// general rules then decide.
    pub(crate) fn read(text: &[u8]) -> Option<Stamp> {
        let head: [u8; 19] = text.get(..19)?.try_into().ok()?;
        let [
            y0,
            y1,
            y2,
            y3,
            b'-',
            m0,
            m1,
            b'-',
            d0,
            d1,
            b'T',
            h0,
            h1,
            b':',
            i0,
            i1,
            b':',
            s0,
            s1,
        ] = head
        else {
            return None;
        };
        let year = two(y0, y1)?.checked_mul(100)?.checked_add(two(y2, y3)?)?;
        let (month, day) = (two(m0, m1)?, two(d0, d1)?);
        let (hour, minute, second) = (two(h0, h1)?, two(i0, i1)?, two(s0, s1)?);
        if year < 1000 || hour > 23 || minute > 59 || second > 59 {
            return None;
        }
        NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, month, day)?;
        let digits: &[u8] = match text.get(19..)? {
            [b'Z'] => &[],
            [b'.', tail @ ..] => match tail.strip_suffix(b"Z") {
                Some(digits) if (1..=9).contains(&digits.len()) => digits,
                _ => return None,
            },
            _ => return None,
        };
        let mut nanos: u32 = 0;
        for place in 0..9 {
            let d = digits.get(place).copied().unwrap_or(b'0');
            if !d.is_ascii_digit() {
                return None;
            }
            // Nine digits at most: below 10^9, no overflow.
            nanos = nanos
                .wrapping_mul(10)
                .wrapping_add(u32::from(d.wrapping_sub(b'0')));
        }
        Some(Stamp {
            head,
            nanos,
            canonical: digits.len() == fraction_digits(nanos),
        })
    }

    /// Whether the text read was canonical (then it is written as it was).
    pub(crate) fn is_canonical(&self) -> bool {
        self.canonical
    }

    /// Appends the canonical text.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.head);
        let digits = fraction_digits(self.nanos);
        if digits > 0 {
            out.push(b'.');
            let all = format!("{:09}", self.nanos);
            out.extend_from_slice(all.as_bytes().get(..digits).unwrap_or_default());
        }
        out.push(b'Z');
    }

    /// The time it stands for.
    pub(crate) fn time(&self) -> Option<DateTime<Utc>> {
        let [
            y0,
            y1,
            y2,
            y3,
            _,
            m0,
            m1,
            _,
            d0,
            d1,
            _,
            h0,
            h1,
            _,
            i0,
            i1,
            _,
            s0,
            s1,
        ] = self.head;
        let year = two(y0, y1)?.wrapping_mul(100).wrapping_add(two(y2, y3)?);
        let date = NaiveDate::from_ymd_opt(i32::try_from(year).ok()?, two(m0, m1)?, two(d0, d1)?)?;
        let time = date.and_hms_nano_opt(two(h0, h1)?, two(i0, i1)?, two(s0, s1)?, self.nanos)?;
        Some(time.and_utc())
    }
}

/// The most digits a quantity in the common form has: below 10^18, far below the largest
/// quantity.
const MAX_QUANTITY_DIGITS: usize = 18;

/// The canonical text of `text` when it is a quantity in the common form, `digits[.digits]`
/// of at most 18 digits; `None` for anything else, which the general rules then decide.
pub(crate) fn quantity(text: &[u8]) -> Option<&[u8]> {
    let point = memchr::memchr(b'.', text);
    let (whole, fraction) = match point {
        Some(p) => (text.get(..p)?, text.get(p.checked_add(1)?..)?),
        None => (text, &[][..]),
    };
    if whole.is_empty()
        || (point.is_some() && fraction.is_empty())
        || whole.len().saturating_add(fraction.len()) > MAX_QUANTITY_DIGITS
        || !whole.iter().chain(fraction).all(u8::is_ascii_digit)
    {
        return None;
    }
    let zeros = whole.iter().take_while(|b| **b == b'0').count();
    // The whole part keeps one digit.
    text.get(zeros.min(whole.len().saturating_sub(1))..)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::SecondsFormat;
    use rust_decimal::Decimal;

    fn canonical(text: &str) -> Option<String> {
        let stamp = Stamp::read(text.as_bytes())?;
        let mut out = Vec::new();
        stamp.write(&mut out);
        Some(String::from_utf8(out).unwrap())
    }

    #[test]
    fn times_are_written_as_chrono_writes_them() {
        for text in [
            "2025-03-13T11:16:10Z",
            "2025-03-13T11:16:10.000Z",
            "2025-03-13T11:16:10.320Z",
            "2025-03-13T11:16:10.3Z",
            "2025-03-13T11:16:10.320000Z",
            "2025-03-13T11:16:10.000001Z",
            "2025-03-13T11:16:10.123456789Z",
            "2024-02-29T23:59:59.999999999Z",
            "1000-01-01T00:00:00Z",
            "9999-12-31T23:59:59.5Z",
        ] {
            let chrono = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            let expected = chrono.to_rfc3339_opts(SecondsFormat::AutoSi, true);
            assert_eq!(
                canonical(text).as_deref(),
                Some(expected.as_str()),
                "{text}"
            );
            let stamp = Stamp::read(text.as_bytes()).unwrap();
            assert_eq!(stamp.time(), Some(chrono), "{text}");
            assert_eq!(stamp.is_canonical(), text == expected, "{text}");
        }
    }

    #[test]
    fn other_times_are_left_to_the_general_rules() {
        for text in [
            "2025-02-29T00:00:00Z",
            "2025-03-13T24:00:00Z",
            "2025-03-13T11:60:00Z",
            "2025-03-13T11:16:60Z",
            "2025-03-13T11:16:10",
            "2025-03-13t11:16:10Z",
            "2025-03-13 11:16:10Z",
            "2025-03-13T11:16:10+00:00",
            "2025-03-13T11:16:10.Z",
            "2025-03-13T11:16:10.1234567891Z",
            "2025-03-13T11:16:10.12a4Z",
            "0999-03-13T11:16:10Z",
            "2025-03-13T11:16:10Zx",
            "2025-13-13T11:16:10Z",
            "",
        ] {
            assert_eq!(Stamp::read(text.as_bytes()), None, "{text}");
        }
    }

    #[test]
    fn quantities_are_written_as_decimal_writes_them() {
        for text in [
            "0",
            "00",
            "7",
            "007",
            "0.5",
            "00.50",
            "44.383738",
            "128.000000",
            "0.000",
            "123456789012345678",
            "12345678901234567.8",
            "100",
        ] {
            let expected = Decimal::from_str_exact(text).unwrap().to_string();
            let found = quantity(text.as_bytes()).map(|q| String::from_utf8(q.to_vec()).unwrap());
            assert_eq!(found.as_deref(), Some(expected.as_str()), "{text}");
        }
        for text in [
            "",
            ".5",
            "5.",
            "-1",
            "+1",
            "1e3",
            "1.2.3",
            " 1",
            "1,5",
            "1234567890123456789",
        ] {
            assert_eq!(quantity(text.as_bytes()), None, "{text}");
        }
    }
}
