//! Bulk usage ingestion: a usage CSV straight into a [`UsageTable`], in parallel.
//!
//! The file is cut at line ends into chunks that threads parse at once. A row in the common
//! form (plain ASCII ids, `YYYY-MM-DDTHH:MM:SS[.f]Z`, a plain decimal) is packed where it is
//! read; any other row goes through the import's own row rules ([`usage_row`]), so both
//! accept the same rows, with the same values and the same problems. A file the fast reader
//! does not handle at all (quoted cells, `;` separators, a bad header, invalid UTF-8) is read
//! by [`parse_usage`], with its limits.

use std::collections::HashMap;

use chrono::{DateTime, NaiveDate, Utc};
use rayon::prelude::*;
use rust_decimal::Decimal;

use super::table::{Delimiter, ImportErrors};
use super::usage::{USAGE_COLUMNS, UsageCells, parse_usage, usage_row};
use crate::hash::FastState;
use crate::usage::{
    Packed, Resent, UsageError, UsageRecord, UsageTable, UsageTableBuilder, pack, unix_day_word,
};
use crate::{AccountBook, AccountKey, MAX_ID_CHARS, MetricId, RecordId};

/// Column roles are positions in [`USAGE_COLUMNS`]: account, metric, timestamp, quantity,
/// record id; the first four are required.
const REQUIRED: [usize; 4] = [0, 1, 2, 3];

/// Reads a usage CSV into a [`UsageTable`], with the rules of [`parse_usage`]: every account
/// key known to `book`, timestamps in UTC, quantities not negative, re-sent records counted
/// once. Unlike `parse_usage`, files of any size are read (the table holds 16 bytes a record).
///
/// # Errors
/// Every problem of the file at once, as `parse_usage` reports them.
pub fn ingest_usage(bytes: &[u8], book: &AccountBook) -> Result<UsageTable, ImportErrors> {
    let bytes = bytes
        .strip_prefix(b"\xEF\xBB\xBF".as_slice())
        .unwrap_or(bytes);
    match ingest_fast(bytes, book) {
        Some(result) => result,
        None => {
            let records = parse_usage(bytes, book)?;
            let mut builder = UsageTableBuilder::with_capacity(records.len());
            let mut errors = ImportErrors::default();
            for r in &records {
                // parse_usage gives no line numbers; the message names the record.
                if let Err(e) = builder.push_record(r) {
                    errors.push(0, "", "", e.to_string());
                }
            }
            errors.into_result(builder.finish())
        }
    }
}

fn line_number(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

/// The header's column roles by position, or `None` when the fast reader leaves the file to
/// `parse_usage` (which also reports every header problem).
fn header_roles(header: &str) -> Option<Vec<usize>> {
    // A carriage return inside the header ends it for the CSV reader: not a file for us.
    if header.contains(['"', '\r']) || Delimiter::detect(header) != Delimiter::Comma {
        return None;
    }
    let mut roles = Vec::new();
    let mut seen = [false; 5];
    for name in header.split(',') {
        let name = name.trim().to_ascii_lowercase();
        let role = USAGE_COLUMNS.iter().position(|c| *c == name)?;
        let slot = seen.get_mut(role)?;
        if *slot {
            return None;
        }
        *slot = true;
        roles.push(role);
    }
    REQUIRED
        .iter()
        .all(|r| seen.get(*r) == Some(&true))
        .then_some(roles)
}

/// What one chunk of lines gave.
#[derive(Default)]
struct Chunk<'a> {
    /// The chunk's metrics, at most [`METRIC_SLOTS`].
    metrics: Vec<&'a str>,
    /// Records whose group is account index x METRIC_SLOTS + chunk metric index.
    records: Vec<Packed>,
    identified: Vec<(u32, &'a str, DateTime<Utc>, Decimal)>,
    /// Rows for the import's row rules: (line, text).
    other: Vec<(u64, &'a str)>,
}

/// Metrics a chunk reads in the common form; rows of more go through the row rules.
const METRIC_SLOTS: u32 = 64;

/// Account keys by an inline copy of their bytes, so a lookup never follows a pointer.
struct KeyIndex<'a> {
    short: HashMap<u128, u32, FastState>,
    long: HashMap<&'a str, u32, FastState>,
}

impl<'a> KeyIndex<'a> {
    fn new(keys: &'a [AccountKey]) -> KeyIndex<'a> {
        let mut index = KeyIndex {
            short: HashMap::with_capacity_and_hasher(keys.len(), FastState::default()),
            long: HashMap::default(),
        };
        for (i, key) in keys.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            match inline(key.as_str()) {
                Some(k) => index.short.insert(k, i),
                None => index.long.insert(key.as_str(), i),
            };
        }
        index
    }

    fn get(&self, key: &str) -> Option<u32> {
        match inline(key) {
            Some(k) => self.short.get(&k).copied(),
            None => self.long.get(key).copied(),
        }
    }
}

/// A key of at most 15 bytes as one number: its bytes, then its length.
fn inline(key: &str) -> Option<u128> {
    let bytes = key.as_bytes();
    if bytes.len() > 15 {
        return None;
    }
    let mut word = [0u8; 16];
    word.get_mut(..bytes.len())?.copy_from_slice(bytes);
    word[15] = u8::try_from(bytes.len()).ok()?;
    Some(u128::from_le_bytes(word))
}

/// The fast read, or `None` when the file is not one it handles.
fn ingest_fast(bytes: &[u8], book: &AccountBook) -> Option<Result<UsageTable, ImportErrors>> {
    let header_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let header = std::str::from_utf8(bytes.get(..header_end)?).ok()?;
    let header = header.strip_suffix('\r').unwrap_or(header);
    let roles = header_roles(header)?;
    let body = bytes
        .get(header_end.saturating_add(1)..)
        .unwrap_or_default();
    if memchr::memchr(b'"', body).is_some() {
        return None;
    }

    let mut keys: Vec<AccountKey> = book.iter().map(|a| a.key().clone()).collect();
    keys.sort_unstable();
    // Dense keys are account x METRIC_SLOTS + metric in 32 bits: 67 million accounts.
    if keys.len() >= (u32::MAX / METRIC_SLOTS) as usize {
        return None;
    }
    let index = KeyIndex::new(&keys);

    // Chunks end at line ends; each knows the line number it starts at.
    let pieces = rayon::current_num_threads().saturating_mul(4).max(1);
    let mut bounds = vec![0usize];
    let step = body
        .len()
        .checked_div(pieces)
        .unwrap_or(0)
        .saturating_add(1);
    let mut at = 0usize;
    while at < body.len() {
        let target = at.saturating_add(step).min(body.len());
        let end = match body
            .get(target..)
            .and_then(|rest| memchr::memchr(b'\n', rest))
        {
            Some(i) => target.saturating_add(i).saturating_add(1),
            None => body.len(),
        };
        bounds.push(end);
        at = end;
    }
    let slices: Vec<&[u8]> = bounds
        .windows(2)
        .filter_map(|w| body.get(*w.first()?..*w.get(1)?))
        .collect();
    let newlines: Vec<usize> = slices
        .par_iter()
        .map(|s| memchr::memchr_iter(b'\n', s).count())
        .collect();
    let mut first_line = 2usize; // the header is line 1
    let mut starts = Vec::with_capacity(slices.len());
    for n in &newlines {
        starts.push(first_line);
        first_line = first_line.saturating_add(*n);
    }
    let total: usize = newlines.iter().sum();

    let chunks: Vec<Option<Chunk<'_>>> = slices
        .par_iter()
        .zip(starts.par_iter())
        .map(|(slice, start)| {
            let text = std::str::from_utf8(slice).ok()?;
            read_chunk(text, *start, &roles, &index)
        })
        .collect();
    let mut chunks: Vec<Chunk<'_>> = chunks.into_iter().collect::<Option<_>>()?;

    drop(index);
    let width = roles.len();
    let mut errors = ImportErrors::default();
    // Rows outside the common form, through the row rules; few in a clean file.
    let mut others = Vec::new();
    for chunk in &chunks {
        for (line, text) in &chunk.other {
            if let Some(record) = other_row(text, *line, width, &roles, book, &mut errors) {
                others.push((*line, record));
            }
        }
    }
    let mut names: Vec<String> = chunks
        .iter()
        .flat_map(|c| c.metrics.iter().map(|m| (*m).to_owned()))
        .chain(others.iter().map(|(_, r)| r.metric().as_str().to_owned()))
        .collect();
    names.sort_unstable();
    names.dedup();
    if names.len() > METRIC_SLOTS as usize {
        return merge_with_builder(chunks, others, keys, total, errors);
    }
    let metrics: Vec<MetricId> = names
        .iter()
        .map(|m| MetricId::new(m).ok())
        .collect::<Option<_>>()?;
    let rank = |m: &str| {
        names
            .binary_search_by(|n| n.as_str().cmp(m))
            .ok()
            .and_then(|r| u32::try_from(r).ok())
    };

    // Chunk metric indexes become ranks, in place and in parallel.
    let maps: Vec<Vec<u32>> = chunks
        .iter()
        .map(|c| c.metrics.iter().map(|m| rank(m)).collect::<Option<_>>())
        .collect::<Option<_>>()?;
    chunks
        .par_iter_mut()
        .zip(maps.par_iter())
        .for_each(|(chunk, map)| {
            for r in &mut chunk.records {
                let m = map.get((r.group % METRIC_SLOTS) as usize).copied();
                r.group = (r.group / METRIC_SLOTS)
                    .saturating_mul(METRIC_SLOTS)
                    .saturating_add(m.unwrap_or(0));
            }
        });
    // All chunks' records in one vector, copied in parallel: each index finds its chunk.
    let mut offsets = Vec::with_capacity(chunks.len());
    let mut copied = 0usize;
    for chunk in &chunks {
        offsets.push(copied);
        copied = copied.saturating_add(chunk.records.len());
    }
    let mut records: Vec<Packed> = Vec::with_capacity(copied.max(total));
    let at = |i: usize| -> Option<Packed> {
        let c = offsets.partition_point(|o| *o <= i).checked_sub(1)?;
        let chunk = chunks.get(c)?;
        chunk.records.get(i.checked_sub(*offsets.get(c)?)?).copied()
    };
    // Every index below `copied` is in a chunk: the default is never taken.
    records.par_extend(
        (0..copied)
            .into_par_iter()
            .map(|i| at(i).unwrap_or_default()),
    );
    let mut identified = Resent::default();
    for (chunk, map) in chunks.into_iter().zip(&maps) {
        for (key, id, timestamp, quantity) in chunk.identified {
            let m = map.get((key % METRIC_SLOTS) as usize).copied().unwrap_or(0);
            let group = (key / METRIC_SLOTS)
                .saturating_mul(METRIC_SLOTS)
                .saturating_add(m);
            identified.keep(group, RecordId::new(id).ok()?, timestamp, quantity);
        }
    }
    for (line, r) in others {
        let account = keys
            .binary_search(r.account())
            .ok()
            .and_then(|a| u32::try_from(a).ok())
            .filter(|a| *a < u32::MAX / METRIC_SLOTS);
        // Both are there: the row rules checked the key against the book, and every metric
        // of these rows is in `names`. Were they not, the import path reads the file.
        let (Some(a), Some(m)) = (account, rank(r.metric().as_str())) else {
            return None;
        };
        let group = a.saturating_mul(METRIC_SLOTS).saturating_add(m);
        match r.record_id() {
            Some(id) => identified.keep(group, id.clone(), r.timestamp(), r.quantity()),
            None => match pack_record(&r) {
                Ok((mantissa, day_scale)) => records.push(Packed {
                    mantissa,
                    group,
                    day_scale,
                }),
                Err(e) => errors.push(line, "", "", e.to_string()),
            },
        }
    }
    for (timestamp, quantity) in identified.pack_into(&mut records) {
        errors.push(
            0,
            "",
            "",
            format!("record at {timestamp} of {quantity} is outside the usage table's range"),
        );
    }
    Some(errors.into_result(UsageTable::from_dense(keys, metrics, records, METRIC_SLOTS)))
}

/// A record's mantissa and packed day and scale, as the table holds them.
fn pack_record(r: &UsageRecord) -> Result<(i64, u32), UsageError> {
    pack(r.quantity(), r.timestamp().date_naive()).map_err(|field| UsageError::OutsideTable {
        account: r.account().clone(),
        metric: r.metric().clone(),
        field,
        value: match field {
            "quantity" => r.quantity().to_string(),
            _ => r.timestamp().to_rfc3339(),
        },
    })
}

/// The merge for a file of more metrics than the dense keys hold: through the builder;
/// `None` sends the file to the import path.
fn merge_with_builder(
    chunks: Vec<Chunk<'_>>,
    others: Vec<(u64, UsageRecord)>,
    keys: Vec<AccountKey>,
    total: usize,
    mut errors: ImportErrors,
) -> Option<Result<UsageTable, ImportErrors>> {
    let mut builder = UsageTableBuilder::with_accounts(keys, total);
    for chunk in chunks {
        let metric_ids: Vec<Option<MetricId>> = chunk
            .metrics
            .iter()
            .map(|m| MetricId::new(m).ok())
            .collect();
        let mut group = |key: u32| {
            let metric = metric_ids.get((key % METRIC_SLOTS) as usize)?.as_ref()?;
            Some(builder.group_of_index(key / METRIC_SLOTS, metric))
        };
        let mut packed = Vec::with_capacity(chunk.records.len());
        for r in &chunk.records {
            packed.push(Packed {
                group: group(r.group)?,
                ..*r
            });
        }
        let mut identified = Vec::with_capacity(chunk.identified.len());
        for (key, id, timestamp, quantity) in chunk.identified {
            identified.push((group(key)?, RecordId::new(id).ok()?, timestamp, quantity));
        }
        for r in packed {
            builder.push_packed(r.group, r.mantissa, r.day_scale);
        }
        for (g, id, timestamp, quantity) in identified {
            builder.push_identified(g, id, timestamp, quantity);
        }
    }
    for (line, record) in others {
        if let Err(e) = builder.push_record(&record) {
            errors.push(line, "", "", e.to_string());
        }
    }
    Some(errors.into_result(builder.finish()))
}

/// A row outside the common form, through the import's row rules.
fn other_row(
    text: &str,
    line: u64,
    width: usize,
    roles: &[usize],
    book: &AccountBook,
    errors: &mut ImportErrors,
) -> Option<UsageRecord> {
    let fields: Vec<&str> = text.split(',').collect();
    if fields.iter().all(|f| f.trim().is_empty()) {
        return None;
    }
    if fields.len() != width {
        errors.push(
            line,
            "",
            "",
            format!("row has {} fields but the header has {width}", fields.len()),
        );
        return None;
    }
    let mut cells: [Option<String>; 5] = Default::default();
    for (field, role) in fields.iter().zip(roles) {
        if let Some(cell) = cells.get_mut(*role) {
            *cell = super::clean_cell(field);
        }
    }
    let [account_key, metric, timestamp, quantity, record_id] = cells;
    let cells = UsageCells {
        account_key,
        metric,
        timestamp,
        quantity,
        record_id,
    };
    let decimal =
        |t: &str| Decimal::from_str_exact(t).map_err(|_| "not a decimal number".to_owned());
    usage_row(cells, line, book, decimal, errors)
}

/// Parses one chunk; `None` when the file must go to `parse_usage` (a stray carriage return).
fn read_chunk<'a>(
    text: &'a str,
    first_line: usize,
    roles: &[usize],
    index: &KeyIndex<'_>,
) -> Option<Chunk<'a>> {
    let mut chunk = Chunk::<'a> {
        records: Vec::with_capacity(
            memchr::memchr_iter(b'\n', text.as_bytes())
                .count()
                .saturating_add(1),
        ),
        ..Chunk::default()
    };
    let mut last_date: Option<(&str, u32)> = None;
    let mut fields: [&str; 5] = [""; 5];
    // One vectorised pass over the separators of the whole chunk. A carriage return is part
    // of a line end only right before a newline or at the chunk's end; anywhere else the CSV
    // reader would end a line there, so the file is not one for this reader.
    let bytes = text.as_bytes();
    let (mut line_start, mut field_start, mut count, mut n) = (0usize, 0usize, 0usize, 0usize);
    let ends = memchr::memchr3_iter(b',', b'\n', b'\r', bytes).chain(std::iter::once(bytes.len()));
    for pos in ends {
        let next = pos.saturating_add(1);
        if bytes.get(pos) == Some(&b'\r') {
            if next < bytes.len() && bytes.get(next) != Some(&b'\n') {
                return None;
            }
            continue;
        }
        let end = match pos.checked_sub(1) {
            Some(cr) if cr >= field_start && bytes.get(cr) == Some(&b'\r') => cr,
            _ => pos,
        };
        if let Some(slot) = roles.get(count).and_then(|r| fields.get_mut(*r)) {
            *slot = text.get(field_start..end).unwrap_or_default();
        }
        count = count.saturating_add(1);
        field_start = next;
        if bytes.get(pos) == Some(&b',') {
            continue;
        }
        let line = text.get(line_start..end).unwrap_or_default();
        if !line.is_empty() || pos < bytes.len() {
            let simple =
                count == roles.len() && read_simple(&fields, index, &mut last_date, &mut chunk);
            if !simple {
                chunk
                    .other
                    .push((line_number(first_line.saturating_add(n)), line));
            }
        }
        n = n.saturating_add(1);
        count = 0;
        line_start = field_start;
        fields = [""; 5];
    }
    Some(chunk)
}

/// Reads a row in the common form into the chunk; `false` leaves it to the row rules.
fn read_simple<'a>(
    fields: &[&'a str; 5],
    index: &KeyIndex<'_>,
    last_date: &mut Option<(&'a str, u32)>,
    chunk: &mut Chunk<'a>,
) -> bool {
    let [account, metric, timestamp, quantity, record_id] = *fields;
    if !simple_id(account) || !simple_id(metric) {
        return false;
    }
    let Some(a) = index.get(account).filter(|a| *a < u32::MAX / METRIC_SLOTS) else {
        return false;
    };
    let Some((mantissa, scale)) = plain_decimal(quantity) else {
        return false;
    };
    let Some(parts) = Timestamp::parse(timestamp) else {
        return false;
    };
    let day = match *last_date {
        Some((date, word)) if date == parts.date => word,
        _ => {
            let Some(word) = parts.unix_day().and_then(unix_day_word) else {
                return false;
            };
            *last_date = Some((parts.date, word));
            word
        }
    };
    let m = match chunk.metrics.iter().position(|x| *x == metric) {
        Some(m) => m,
        None if chunk.metrics.len() < METRIC_SLOTS as usize => {
            chunk.metrics.push(metric);
            chunk.metrics.len().saturating_sub(1)
        }
        None => return false,
    };
    let Some(m) = u32::try_from(m).ok().filter(|m| *m < METRIC_SLOTS) else {
        return false;
    };
    // Below u32::MAX: a < u32::MAX / METRIC_SLOTS and m < METRIC_SLOTS.
    let group = a.saturating_mul(METRIC_SLOTS).saturating_add(m);
    if record_id.is_empty() {
        chunk.records.push(Packed {
            mantissa,
            group,
            day_scale: day | scale,
        });
    } else {
        let Some(at) = parts.date_time() else {
            return false;
        };
        if !simple_id(record_id) {
            return false;
        }
        chunk
            .identified
            .push((group, record_id, at, Decimal::new(mantissa, scale)));
    }
    true
}

/// An id that the import's rules keep exactly as written: printable ASCII without spaces,
/// not starting with the spreadsheet quote.
fn simple_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= MAX_ID_CHARS
        && !s.starts_with('\'')
        && s.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// `digits[.digits]` with at most 18 digits: (mantissa, scale), as `Decimal::from_str_exact`
/// reads it.
fn plain_decimal(s: &str) -> Option<(i64, u32)> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || bytes.len() > 19 {
        return None;
    }
    let mut mantissa: i64 = 0;
    let mut scale: Option<u32> = None;
    let mut digits = 0u32;
    for b in bytes {
        match b {
            b'0'..=b'9' => {
                mantissa = mantissa
                    .checked_mul(10)?
                    .checked_add(i64::from(b.wrapping_sub(b'0')))?;
                digits = digits.saturating_add(1);
                if let Some(s) = scale.as_mut() {
                    *s = s.saturating_add(1);
                }
            }
            b'.' if scale.is_none() && digits > 0 => scale = Some(0),
            _ => return None,
        }
    }
    match scale {
        Some(0) => None,
        _ if digits > 18 => None,
        s => Some((mantissa, s.unwrap_or(0))),
    }
}

/// A timestamp in the common form `YYYY-MM-DDTHH:MM:SS[.fffffffff]Z`.
struct Timestamp<'a> {
    date: &'a str,
    year: i32,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    nanos: u32,
}

impl<'a> Timestamp<'a> {
    fn parse(s: &'a str) -> Option<Timestamp<'a>> {
        let b = s.as_bytes();
        if !(b.len() == 20 || (22..=30).contains(&b.len())) || b.last() != Some(&b'Z') {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<u32> {
            let digits = b.get(range)?;
            digits.iter().try_fold(0u32, |acc, d| {
                d.is_ascii_digit().then(|| {
                    acc.saturating_mul(10)
                        .saturating_add(u32::from(d.wrapping_sub(b'0')))
                })
            })
        };
        let punct = [(4, b'-'), (7, b'-'), (10, b'T'), (13, b':'), (16, b':')];
        if punct.iter().any(|(i, c)| b.get(*i) != Some(c)) {
            return None;
        }
        let nanos = if b.len() > 20 {
            if b.get(19) != Some(&b'.') {
                return None;
            }
            let digits = b.len().saturating_sub(21);
            let value = num(20..b.len().saturating_sub(1))?;
            let pad = 10u32.checked_pow(9u32.checked_sub(u32::try_from(digits).ok()?)?)?;
            value.checked_mul(pad)?
        } else {
            0
        };
        let ts = Timestamp {
            date: s.get(..10)?,
            year: i32::try_from(num(0..4)?).ok()?,
            month: num(5..7)?,
            day: num(8..10)?,
            hour: num(11..13)?,
            minute: num(14..16)?,
            second: num(17..19)?,
            nanos,
        };
        (ts.hour < 24 && ts.minute < 60 && ts.second < 60).then_some(ts)
    }

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

    #[test]
    fn plain_decimals_read_as_from_str_exact_does() {
        for text in [
            "0",
            "7",
            "007",
            "1.50",
            "0.000",
            "123456789012345678",
            "12.345678901234567",
        ] {
            let (m, s) = plain_decimal(text).unwrap();
            let exact = Decimal::from_str_exact(text).unwrap();
            assert_eq!(Decimal::new(m, s).to_string(), exact.to_string(), "{text}");
        }
        for text in [
            "",
            ".5",
            "1.",
            "1.2.3",
            "-1",
            "+1",
            "1e3",
            " 1",
            "1234567890123456789",
        ] {
            assert_eq!(plain_decimal(text), None, "{text}");
        }
    }

    #[test]
    fn common_timestamps_read_as_rfc3339_does() {
        for text in [
            "2025-01-31T12:00:00Z",
            "2024-02-29T23:59:59.5Z",
            "2025-12-31T00:00:00.123456789Z",
            "0001-01-01T00:00:00Z",
        ] {
            let fast = Timestamp::parse(text).unwrap().date_time().unwrap();
            let chrono = DateTime::parse_from_rfc3339(text)
                .unwrap()
                .with_timezone(&Utc);
            assert_eq!(fast, chrono, "{text}");
        }
        for text in [
            "2024-02-29T00:00:00Z",
            "2000-03-01T00:00:00Z",
            "1900-02-28T00:00:00Z",
            "1969-12-31T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T00:00:00Z",
        ] {
            let t = Timestamp::parse(text).unwrap();
            let chrono = t.day().unwrap().signed_duration_since(NaiveDate::default());
            assert_eq!(t.unix_day(), Some(chrono.num_days()), "{text}");
        }
        for text in [
            "2025-02-29T12:00:00Z",
            "2025-01-31T24:00:00Z",
            "2025-01-31T12:00:60Z",
            "2025-01-31 12:00:00",
            "2025-01-31T12:00:00+01:00",
            "2025-01-31T12:00:00.Z",
        ] {
            assert!(
                Timestamp::parse(text).and_then(|t| t.date_time()).is_none(),
                "{text}"
            );
        }
    }
}
