//! The kit's usage.csv read into a [`UsageTable`], streamed line by line.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::Path;

use anyhow::{Context, Result, anyhow};
use chrono::DateTime;
use plock_core::{AccountBook, AccountKey, MetricId, UsageTable, UsageTableBuilder};
use rust_decimal::Decimal;

/// Reads usage.csv (account_id, metric_id, ts_ms, quantity) line by line into a usage table;
/// accounts are the book's, known by their id.
///
/// # Errors
/// An unreadable file, a malformed line, an account the book does not have, or a record the
/// table refuses.
pub fn load_usage(path: &Path, book: &AccountBook) -> Result<UsageTable> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    // The shortest line is 27 bytes ("1,1,1743465600000,1.000000"): room for every record,
    // reserved, not touched beyond what is used.
    let rows = usize::try_from(file.metadata()?.len() / 27).unwrap_or(0);
    let mut builder = UsageTableBuilder::with_capacity(rows);
    let keys = keys_by_id(book);
    let mut metrics: Vec<Option<MetricId>> = Vec::new();
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::with_capacity(64);
    let mut number = 0_usize;
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 {
            break;
        }
        number = number.saturating_add(1);
        if number == 1 {
            continue;
        }
        let parsed = usage_line(&line, &keys, &mut metrics);
        let (key, metric, at, quantity) =
            parsed.with_context(|| format!("{} line {number}", path.display()))?;
        builder.push(key, &metric, at, quantity, None)?;
    }
    Ok(builder.finish())
}

/// The book's account keys at the place of their numeric id.
fn keys_by_id(book: &AccountBook) -> Vec<Option<AccountKey>> {
    let mut keys = Vec::new();
    for account in book.iter() {
        if let Ok(id) = account.key().as_str().parse::<usize>() {
            if keys.len() <= id {
                keys.resize(id.saturating_add(1), None);
            }
            if let Some(slot) = keys.get_mut(id) {
                *slot = Some(account.key().clone());
            }
        }
    }
    keys
}

type UsageLine<'k> = (&'k AccountKey, MetricId, DateTime<chrono::Utc>, Decimal);

fn usage_line<'k>(
    line: &[u8],
    keys: &'k [Option<AccountKey>],
    metrics: &mut Vec<Option<MetricId>>,
) -> Result<UsageLine<'k>> {
    let text = std::str::from_utf8(line)?.trim_end();
    let mut fields = text.split(',');
    let mut next = |name| fields.next().ok_or_else(|| anyhow!("no {name}"));
    let (account, metric, ts_ms, quantity) = (
        next("account_id")?,
        next("metric_id")?,
        next("ts_ms")?,
        next("quantity")?,
    );
    let key = account
        .parse::<usize>()
        .ok()
        .and_then(|id| keys.get(id))
        .and_then(Option::as_ref)
        .ok_or_else(|| anyhow!("unknown account {account:?}"))?;
    let metric = metric_id(metric, metrics)?;
    let ms: i64 = ts_ms.parse().with_context(|| format!("ts_ms {ts_ms:?}"))?;
    let at =
        DateTime::from_timestamp_millis(ms).ok_or_else(|| anyhow!("ts_ms {ms} out of range"))?;
    let quantity = decimal(quantity).with_context(|| format!("quantity {quantity:?}"))?;
    Ok((key, metric, at, quantity))
}

/// The metric of a numeric id, built once per id.
fn metric_id(text: &str, metrics: &mut Vec<Option<MetricId>>) -> Result<MetricId> {
    let id: usize = text
        .parse()
        .with_context(|| format!("metric_id {text:?}"))?;
    if metrics.len() <= id {
        metrics.resize(id.saturating_add(1), None);
    }
    let slot = metrics
        .get_mut(id)
        .ok_or_else(|| anyhow!("metric_id {id}"))?;
    match slot {
        Some(metric) => Ok(metric.clone()),
        None => Ok(slot.insert(MetricId::new(text)?).clone()),
    }
}

/// An exact decimal: digits with at most one point parsed directly, anything else by
/// `Decimal::from_str_exact`.
fn decimal(text: &str) -> Result<Decimal> {
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let digits = whole.len().saturating_add(fraction.len());
    let plain = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if (1..=18).contains(&digits) && !whole.is_empty() && plain(whole) && plain(fraction) {
        let mantissa = whole
            .bytes()
            .chain(fraction.bytes())
            .fold(0_i64, |m, b| m * 10 + i64::from(b - b'0'));
        let scale = u32::try_from(fraction.len())?;
        return Ok(Decimal::try_new(mantissa, scale)?);
    }
    Ok(Decimal::from_str_exact(text)?)
}

#[cfg(test)]
mod tests {
    use super::decimal;

    #[test]
    fn decimals_are_read_exactly_with_their_scale() {
        for text in [
            "44.383738",
            "128.000000",
            "0.000001",
            "7",
            "0",
            "123456789012.123456",
        ] {
            let read = decimal(text).unwrap();
            assert_eq!(read.to_string(), text);
        }
        // Past 18 digits, and in other notations, the general parser takes over.
        assert_eq!(
            decimal("1234567890123456789.5").unwrap().to_string(),
            "1234567890123456789.5"
        );
        assert_eq!(decimal("-1.5").unwrap().to_string(), "-1.5");
        assert!(decimal("").is_err());
        assert!(decimal("1.2.3").is_err());
    }
}
