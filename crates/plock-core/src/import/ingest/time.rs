//! Time fields read in one pass over their bytes, in each [`TimeFormat`]: the day word the
//! table keeps (the day number of each date cached for the rows of one month), and the exact
//! time a row with a record id needs. They take only what the row rules take, with the same
//! value; anything else is left to the row rules. Checked against chrono in the tests.

use chrono::{DateTime, NaiveDate, Utc};

use super::word::{ASCII_ZEROS, byte, digits_and, digits_at, two, word};
use crate::import::time_format::TimeFormat;
use crate::usage::unix_day_word;

/// Day words of the dates read lately, by their date's bytes, so the rows of one month
/// compute each day's number once: one entry per day of the month (a usage file mixes the
/// days of its period in any order), replaced when the same day of another month comes.
#[derive(Default)]
pub(super) struct Days {
    /// (the date's first word, "YYYY-MM-", and the day word); a first word of 0 (no date's:
    /// a date holds '-') marks an empty entry.
    entries: [(u64, u32); 32],
}

const MILLIS_A_DAY: u64 = 86_400_000;
const SECONDS_A_DAY: u64 = 86_400;

/// The time field at `start` in `format`: (its end, its day word).
#[inline(always)]
pub(super) fn time_at(
    format: TimeFormat,
    bytes: &[u8],
    start: usize,
    days: &mut Days,
) -> Option<(usize, u32)> {
    match format {
        TimeFormat::Rfc3339 => {
            let (end, parts, w0) = rfc3339_at(bytes, start)?;
            Some((end, days.word(w0, &parts)?))
        }
        TimeFormat::Date => {
            let (end, parts, w0) = date_at(bytes, start)?;
            Some((end, days.word(w0, &parts)?))
        }
        TimeFormat::EpochMillis => epoch_day(bytes, start, MILLIS_A_DAY),
        TimeFormat::EpochSeconds => epoch_day(bytes, start, SECONDS_A_DAY),
    }
}

/// The exact time of a field [`time_at`] took.
pub(super) fn exact_at(format: TimeFormat, bytes: &[u8], start: usize) -> Option<DateTime<Utc>> {
    let epoch = || i64::try_from(epoch_at(bytes, start)?.1).ok();
    match format {
        TimeFormat::Rfc3339 => rfc3339_at(bytes, start)?.1.date_time(),
        TimeFormat::Date => date_at(bytes, start)?.1.date_time(),
        TimeFormat::EpochMillis => DateTime::from_timestamp_millis(epoch()?),
        TimeFormat::EpochSeconds => DateTime::from_timestamp(epoch()?, 0),
    }
}

impl Days {
    /// The day word of `date`, whose first word is `w0`.
    #[inline(always)]
    fn word(&mut self, w0: u64, date: &Timestamp) -> Option<u32> {
        // By the day of the month as written (two checked digits), which the entry's place
        // holds; no entry past 31.
        let entry = self.entries.get_mut(date.day as usize);
        match entry {
            Some((month, word)) if *month == w0 => Some(*word),
            _ => new_day(date, w0, entry),
        }
    }
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

/// A date's first word, "YYYY-MM-", checked, as a [`Timestamp`] at midnight with the day of
/// the month `day`.
fn date_parts(w0: u64, day: u32) -> Option<Timestamp> {
    if !digits_and(w0, 0x00ff_ff00_ffff_ffff, 0x2d00_002d_0000_0000) {
        return None;
    }
    let d0 = w0 ^ ASCII_ZEROS;
    Some(Timestamp {
        // Four digits: below 10,000.
        year: two(d0, 0).wrapping_mul(100).wrapping_add(two(d0, 2)) as i32,
        month: two(d0, 5),
        day,
        hour: 0,
        minute: 0,
        second: 0,
        nanos: 0,
    })
}

/// A date `YYYY-MM-DD` at `start`: (its end, the date at midnight, its first word).
#[inline(always)]
fn date_at(bytes: &[u8], start: usize) -> Option<(usize, Timestamp, u64)> {
    let (w0, w1) = (word(bytes, start), word(bytes, start.wrapping_add(8)));
    if !digits_and(w1 & 0xffff, 0xffff, 0) {
        return None;
    }
    let end = start.wrapping_add(10);
    let parts = date_parts(w0, two(w1 ^ ASCII_ZEROS, 0))?;
    Some((end, parts, w0))
}

/// A timestamp of the common form `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z` at `start`: (its end,
/// its parts, its first word).
#[inline(always)]
fn rfc3339_at(bytes: &[u8], start: usize) -> Option<(usize, Timestamp, u64)> {
    // "YYYY-MM-", "DDTHH:MM", ":SS" then 'Z' or '.'.
    let (w0, w1, w2) = (
        word(bytes, start),
        word(bytes, start.wrapping_add(8)),
        word(bytes, start.wrapping_add(16)),
    );
    let ok = digits_and(w1, 0xffff_00ff_ff00_ffff, 0x0000_3a00_0054_0000)
        && digits_and(w2 & 0xff_ffff, 0x00ff_ff00, 0x3a);
    if !ok {
        return None;
    }
    let (d1, d2) = (w1 ^ ASCII_ZEROS, w2 ^ ASCII_ZEROS);
    let (hour, minute, second) = (two(d1, 3), two(d1, 6), two(d2, 1));
    if hour >= 24 || minute >= 60 || second >= 60 {
        return None;
    }
    let (end, nanos) = match byte(w2, 3) {
        0x5a => (start.wrapping_add(20), 0),              // 'Z'
        0x2e => fraction(bytes, start.wrapping_add(20))?, // '.'
        _ => return None,
    };
    let date = date_parts(w0, two(d1, 0))?;
    let parts = Timestamp {
        hour,
        minute,
        second,
        nanos,
        ..date
    };
    Some((end, parts, w0))
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

/// One to eighteen digits at `start`: (their end, their value, below 10^18).
#[inline(always)]
fn epoch_at(bytes: &[u8], start: usize) -> Option<(usize, u64)> {
    let (len, value) = digits_at(bytes, start);
    (len > 0 && len <= 18).then(|| (start.wrapping_add(len), value))
}

/// An epoch time in units of which `per_day` make a day: (its end, its day word).
#[inline(always)]
fn epoch_day(bytes: &[u8], start: usize, per_day: u64) -> Option<(usize, u32)> {
    let (end, value) = epoch_at(bytes, start)?;
    let day = i64::try_from(value.checked_div(per_day)?).ok()?;
    Some((end, unix_day_word(day)?))
}

/// A timestamp's parts, checked only for their digits until [`Timestamp::unix_day`] or
/// [`Timestamp::date_time`] checks the date.
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

    fn date_time(&self) -> Option<DateTime<Utc>> {
        Some(
            NaiveDate::from_ymd_opt(self.year, self.month, self.day)?
                .and_hms_nano_opt(self.hour, self.minute, self.second, self.nanos)?
                .and_utc(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Timelike;
    use proptest::prelude::*;

    /// A whole time field as the one-pass reader reads it: (the day word, the exact time).
    fn whole(format: TimeFormat, text: &str) -> (Option<u32>, Option<DateTime<Utc>>) {
        let day = time_at(format, text.as_bytes(), 0, &mut Days::default())
            .filter(|(end, _)| *end == text.len())
            .map(|(_, day)| day);
        (day, day.and_then(|_| exact_at(format, text.as_bytes(), 0)))
    }

    /// The same of the row rules' reading of `text`.
    fn rules(format: TimeFormat, text: &str) -> (Option<u32>, Option<DateTime<Utc>>) {
        let at = format.parse(text).ok();
        let day = at.and_then(|at| {
            let days = at.date_naive().signed_duration_since(NaiveDate::default());
            unix_day_word(days.num_days())
        });
        (day, at)
    }

    /// What the one-pass reader takes, the row rules take, with the same day and time.
    fn check(format: TimeFormat, text: &str) -> Result<(), TestCaseError> {
        let fast = whole(format, text);
        if fast.0.is_some() {
            prop_assert_eq!(fast, rules(format, text), "{:?} {}", format, text);
        }
        Ok(())
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
            let fast = whole(TimeFormat::Rfc3339, text);
            assert!(fast.1.is_some(), "{text}");
            assert_eq!(fast, rules(TimeFormat::Rfc3339, text), "{text}");
        }
        for text in [
            "2025-02-29T12:00:00Z",
            "2025-01-31T24:00:00Z",
            "2025-01-31T12:00:60Z",
            "2025-01-31 12:00:00",
            "2025-01-31T12:00:00+01:00",
            "2025-01-31T12:00:00.Z",
        ] {
            assert_eq!(whole(TimeFormat::Rfc3339, text), (None, None), "{text}");
        }
    }

    #[test]
    fn dates_and_epochs_read_as_the_row_rules_do() {
        for (format, text) in [
            (TimeFormat::Date, "2025-01-31"),
            (TimeFormat::Date, "2024-02-29"),
            (TimeFormat::Date, "0000-01-01"),
            (TimeFormat::EpochMillis, "1741864570320"),
            (TimeFormat::EpochMillis, "0"),
            (TimeFormat::EpochMillis, "0001741864570320"),
            (TimeFormat::EpochSeconds, "1741864570"),
            (TimeFormat::EpochSeconds, "86399"),
            (TimeFormat::EpochSeconds, "86400"),
        ] {
            let fast = whole(format, text);
            assert!(fast.1.is_some(), "{text}");
            assert_eq!(fast, rules(format, text), "{text}");
        }
        for (format, text) in [
            (TimeFormat::Date, "2025-02-29"),
            (TimeFormat::Date, "2025-1-31"),
            (TimeFormat::Date, "2025-01-31T00:00:00Z"),
            (TimeFormat::EpochMillis, "-1"),
            (TimeFormat::EpochMillis, "123456789012345678"),
            (TimeFormat::EpochMillis, "1234567890123456789"),
            (TimeFormat::EpochSeconds, "1741864570.5"),
            (TimeFormat::EpochSeconds, ""),
        ] {
            assert_eq!(whole(format, text).0, None, "{text}");
        }
        assert_eq!(
            whole(TimeFormat::EpochMillis, "1741864570320").1,
            DateTime::from_timestamp_millis(1_741_864_570_320)
        );
    }

    proptest! {
        /// Timestamps of the common form's shape with fields around their limits: the
        /// one-pass reader takes those chrono takes (but leap seconds, which chrono keeps as a
        /// nanosecond count past a billion), with the same day and time.
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
            let chrono = match rules(TimeFormat::Rfc3339, &text) {
                (_, Some(at)) if at.nanosecond() < 1_000_000_000 && fraction.len() <= 9 => {
                    rules(TimeFormat::Rfc3339, &text)
                }
                _ => (None, None),
            };
            prop_assert_eq!(whole(TimeFormat::Rfc3339, &text), chrono, "{}", text);
            let date = &text[..10];
            let chrono_date = match rules(TimeFormat::Date, date) {
                (Some(_), _) => rules(TimeFormat::Date, date),
                _ => (None, None),
            };
            prop_assert_eq!(whole(TimeFormat::Date, date), chrono_date, "{}", date);
        }

        /// Timestamps read one after another with one cache of days, as a chunk reads its
        /// rows: each gets chrono's day, whatever was read before it (days of one month, the
        /// same day of other months and years, invalid days among them).
        #[test]
        fn days_read_in_sequence_are_chrono_days(
            dates in prop::collection::vec((2023u32..2026, 1u32..13, 0u32..40, any::<bool>()), 1..200),
        ) {
            let mut days = Days::default();
            for (year, month, day, date_only) in dates {
                let (format, text) = match date_only {
                    true => (TimeFormat::Date, format!("{year:04}-{month:02}-{day:02}")),
                    false => (TimeFormat::Rfc3339, format!("{year:04}-{month:02}-{day:02}T12:00:00Z")),
                };
                let read = time_at(format, text.as_bytes(), 0, &mut days).map(|(_, day)| day);
                prop_assert_eq!(read, rules(format, &text).0, "{}", text);
            }
        }

        /// Digits, signs and points around the epochs' limits: what the one-pass reader takes,
        /// the row rules take, with the same day and time.
        #[test]
        fn epochs_read_as_the_row_rules_do(
            text in prop_oneof!["-?[0-9]{0,20}", "[0-9]{11,16}", "[0-9]{1,3}\\.[0-9]"],
        ) {
            check(TimeFormat::EpochMillis, &text)?;
            check(TimeFormat::EpochSeconds, &text)?;
        }
    }
}
