//! A date cell read by the plain `YYYY-MM-DD` path gives what chrono's format parser gives.

use chrono::NaiveDate;

use super::parse_date;

#[test]
fn dates_read_as_chrono_reads_them() {
    for text in [
        "2025-01-31",
        "2024-02-29",
        "2025-02-29",
        "2025-02-30",
        "2025-13-01",
        "2025-00-10",
        "2025-04-00",
        "0000-01-01",
        "9999-12-31",
        "2025-1-31",
        "2025-01-3",
        "2025/01/31",
        "2025-01-31x",
        "+2025-01-31",
        "2025-0a-31",
        "20250131",
        "",
    ] {
        let chrono = NaiveDate::parse_from_str(text, "%Y-%m-%d")
            .map_err(|_| "not a date (write YYYY-MM-DD)".to_owned());
        assert_eq!(parse_date(text), chrono, "{text:?}");
    }
    assert_eq!(
        parse_date("2024-02-29"),
        Ok(NaiveDate::from_ymd_opt(2024, 2, 29).unwrap())
    );
}
