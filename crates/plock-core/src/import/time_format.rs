//! How a usage CSV writes its timestamps.

use chrono::{DateTime, Utc};

use super::{parse_date, parse_timestamp};

/// How a usage CSV writes its timestamps; every form is read as UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum TimeFormat {
    /// RFC 3339 (`2025-01-31T12:00:00Z`, any offset), or `2025-01-31 12:00:00` and
    /// `2025-01-31` read as UTC: plock's own.
    #[default]
    Rfc3339,
    /// A date, `YYYY-MM-DD`: its midnight, UTC.
    Date,
    /// Whole seconds since 1970-01-01T00:00:00Z (Unix time).
    EpochSeconds,
    /// Whole milliseconds since 1970-01-01T00:00:00Z.
    EpochMillis,
}

impl TimeFormat {
    /// The time `text` (trimmed) stands for, or why it is refused.
    pub(super) fn parse(self, text: &str) -> Result<DateTime<Utc>, String> {
        match self {
            TimeFormat::Rfc3339 => parse_timestamp(text),
            TimeFormat::Date => Ok(parse_date(text)?.and_time(chrono::NaiveTime::MIN).and_utc()),
            TimeFormat::EpochSeconds => epoch(text)
                .and_then(|s| DateTime::from_timestamp(s, 0))
                .ok_or_else(|| {
                    "not a timestamp (write whole seconds since 1970-01-01 UTC, such as 1741864570)"
                        .into()
                }),
            TimeFormat::EpochMillis => epoch(text)
                .and_then(DateTime::from_timestamp_millis)
                .ok_or_else(|| {
                    "not a timestamp (write whole milliseconds since 1970-01-01 UTC, such as 1741864570320)"
                        .into()
                }),
        }
    }
}

/// An integer written as digits, with a leading `-` for times before 1970.
fn epoch(text: &str) -> Option<i64> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}
