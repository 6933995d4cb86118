//! Value parsers the command's arguments share.

use chrono::NaiveDate;

/// Parses a date written exactly `YYYY-MM-DD` (`2025-4-1` is refused, not guessed).
///
/// # Errors
/// A message for clap when the text is not of that shape or names no calendar day.
pub fn date(text: &str) -> Result<NaiveDate, String> {
    let shaped = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    if !shaped {
        return Err("expected a date as YYYY-MM-DD, such as 2025-04-01".to_owned());
    }
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|_| "no such day in the calendar (dates are YYYY-MM-DD)".to_owned())
}
