//! Bulk usage ingestion: a usage CSV straight into a [`UsageTable`], in parallel.
//!
//! The file is cut at line ends into chunks that threads parse at once. A row in the common
//! form (plain ASCII ids, `YYYY-MM-DDTHH:MM:SS[.f]Z`, a plain decimal) is read in one pass
//! over its bytes (`row`) and packed where it is read; the records are then sorted by bucket
//! into the table. Any other row goes through the import's own row rules ([`usage_row`]), so
//! both accept the same rows, with the same values and the same problems. A file the fast
//! reader does not handle at all (quoted cells, `;` separators, a bad header, invalid UTF-8)
//! is read by [`parse_usage`], with its limits.

use chrono::{DateTime, Utc};
use rayon::prelude::*;
use rust_decimal::Decimal;

use super::table::{Delimiter, ImportErrors};
use super::usage::{USAGE_COLUMNS, UsageCells, parse_usage, usage_row};
use crate::hash::InlineIndex;
use crate::usage::{
    Packed, Resent, UsageError, UsageRecord, UsageTable, UsageTableBuilder, pack, quantity,
    split_lengths,
};
use crate::{AccountBook, AccountKey, MetricId, RecordId};

mod row;
use row::{Days, Row, parse_simple, read_row};

/// Column roles are positions in [`USAGE_COLUMNS`]: account, metric, timestamp, quantity,
/// record id; the first four are required.
const REQUIRED: [usize; 4] = [0, 1, 2, 3];

/// Reads a usage CSV into a [`UsageTable`], with the rules of [`parse_usage`]: every account
/// key known to `book`, timestamps in UTC, quantities not negative, re-sent records counted
/// once. Unlike `parse_usage`, files of any size are read (the table holds 6 to 12 bytes a
/// record).
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
    metrics: Vec<&'a [u8]>,
    /// The metrics' inline copies (`None` for long ones), compared without a call.
    metric_keys: Vec<Option<[u64; 2]>>,
    /// How many records the chunk wrote at the start of its region of the shared vector;
    /// their group is account index x METRIC_SLOTS + chunk metric index.
    records: usize,
    identified: Vec<(u32, &'a [u8], DateTime<Utc>, Decimal)>,
    /// Rows for the import's row rules: (line, text).
    other: Vec<(u64, &'a [u8])>,
}

/// Metrics a chunk reads in the common form; rows of more go through the row rules.
const METRIC_SLOTS: u32 = 64;

/// The fast read, or `None` when the file is not one it handles.
fn ingest_fast(bytes: &[u8], book: &AccountBook) -> Option<Result<UsageTable, ImportErrors>> {
    let header_end = memchr::memchr(b'\n', bytes).unwrap_or(bytes.len());
    let header = std::str::from_utf8(bytes.get(..header_end)?).ok()?;
    let header = header.strip_suffix('\r').unwrap_or(header);
    let roles = header_roles(header)?;
    let body = bytes
        .get(header_end.saturating_add(1)..)
        .unwrap_or_default();

    let keys: Vec<AccountKey> = book.keys().cloned().collect();
    // Dense keys are account x METRIC_SLOTS + metric in 32 bits: 67 million accounts.
    if keys.len() >= (u32::MAX / METRIC_SLOTS) as usize {
        return None;
    }
    let index = InlineIndex::new(keys.iter().map(AccountKey::as_str));

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
    // Quotes looked for, and line ends counted, chunk by chunk in parallel (a serial search
    // for quotes took 20 ms of a 0.7 s ingestion at M; one search for both bytes was slower
    // than two for one): a quoted cell is the CSV reader's.
    let newlines: Vec<usize> = slices
        .par_iter()
        .map(|s| {
            memchr::memchr(b'"', s)
                .is_none()
                .then(|| memchr::memchr_iter(b'\n', s).count())
        })
        .collect::<Option<_>>()?;
    let mut first_line = 2usize; // the header is line 1
    let mut starts = Vec::with_capacity(slices.len());
    for n in &newlines {
        starts.push(first_line);
        first_line = first_line.saturating_add(*n);
    }
    let total: usize = newlines.iter().sum();

    // Chunks write their records straight into one vector, each in a region of one slot per
    // line (a row is at most one record), so no record is copied from a chunk's own buffer.
    // Every chunk but the last ends with a line end: only the last may hold one more line.
    let slots = |c: usize, n: usize| {
        if c.saturating_add(1) == newlines.len() {
            n.saturating_add(1)
        } else {
            n
        }
    };
    let room: usize = newlines.iter().enumerate().map(|(c, n)| slots(c, *n)).sum();
    let mut records: Vec<Packed> = Vec::with_capacity(room);
    records.par_extend(rayon::iter::repeat_n(Packed::default(), room));
    let regions = split_lengths(
        &mut records,
        newlines.iter().enumerate().map(|(c, n)| slots(c, *n)),
    );
    let chunks: Vec<Option<Chunk<'_>>> = slices
        .par_iter()
        .zip(starts.par_iter())
        .zip(regions.into_par_iter())
        .map(|((slice, start), region)| read_chunk(slice, *start, &roles, &index, region))
        .collect();
    let chunks: Vec<Chunk<'_>> = chunks.into_iter().collect::<Option<_>>()?;
    // Close the gaps the regions left, in order; in a clean file only the spare last slots.
    let mut kept = 0usize;
    let mut region_start = 0usize;
    let mut offsets = Vec::with_capacity(chunks.len());
    for (c, (chunk, n)) in chunks.iter().zip(&newlines).enumerate() {
        if region_start != kept {
            records.copy_within(
                region_start..region_start.saturating_add(chunk.records),
                kept,
            );
        }
        offsets.push(kept);
        kept = kept.saturating_add(chunk.records);
        region_start = region_start.saturating_add(slots(c, *n));
    }
    records.truncate(kept);

    drop(index);
    let width = roles.len();
    let mut errors = ImportErrors::default();
    // Rows outside the common form, through the row rules; few in a clean file.
    let mut others = Vec::new();
    for chunk in &chunks {
        for (line, text) in &chunk.other {
            // Lines of a chunk that is text, cut at line ends: text too.
            let text = std::str::from_utf8(text).ok()?;
            if let Some(record) = other_row(text, *line, width, &roles, book, &mut errors) {
                others.push((*line, record));
            }
        }
    }
    let mut names: Vec<String> = chunks
        .iter()
        .flat_map(|c| {
            c.metrics
                .iter()
                .map(|m| std::str::from_utf8(m).ok().map(str::to_owned))
        })
        .chain(
            others
                .iter()
                .map(|(_, r)| Some(r.metric().as_str().to_owned())),
        )
        .collect::<Option<_>>()?;
    names.sort_unstable();
    names.dedup();
    if names.len() > METRIC_SLOTS as usize {
        return merge_with_builder(chunks, &records, &offsets, others, keys, total, errors);
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
        .map(|c| {
            c.metrics
                .iter()
                .map(|m| rank(std::str::from_utf8(m).ok()?))
                .collect::<Option<_>>()
        })
        .collect::<Option<_>>()?;
    split_lengths(&mut records, chunks.iter().map(|c| c.records))
        .into_par_iter()
        .zip(maps.par_iter())
        .filter(|(_, map)| map.iter().zip(0u32..).any(|(m, i)| *m != i))
        .for_each(|(part, map)| {
            for r in part {
                let m = map.get((r.group() % METRIC_SLOTS) as usize).copied();
                *r = r.with_group(
                    (r.group() / METRIC_SLOTS)
                        .saturating_mul(METRIC_SLOTS)
                        .saturating_add(m.unwrap_or(0)),
                );
            }
        });
    let mut identified = Resent::default();
    for (chunk, map) in chunks.into_iter().zip(&maps) {
        for (key, id, timestamp, quantity) in chunk.identified {
            let m = map.get((key % METRIC_SLOTS) as usize).copied().unwrap_or(0);
            let group = (key / METRIC_SLOTS)
                .saturating_mul(METRIC_SLOTS)
                .saturating_add(m);
            identified.keep(group, record_id(id)?, timestamp, quantity);
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
                Ok((mantissa, day_scale)) => records.push(Packed::new(mantissa, group, day_scale)),
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

/// A record id the fast reader read (printable ASCII).
fn record_id(id: &[u8]) -> Option<RecordId> {
    RecordId::new(std::str::from_utf8(id).ok()?).ok()
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
    records: &[Packed],
    offsets: &[usize],
    others: Vec<(u64, UsageRecord)>,
    keys: Vec<AccountKey>,
    total: usize,
    mut errors: ImportErrors,
) -> Option<Result<UsageTable, ImportErrors>> {
    let mut builder = UsageTableBuilder::with_accounts(keys, total);
    for (chunk, offset) in chunks.into_iter().zip(offsets) {
        let written = records
            .get(*offset..offset.saturating_add(chunk.records))
            .unwrap_or_default();
        let metric_ids: Vec<Option<MetricId>> = chunk
            .metrics
            .iter()
            .map(|m| MetricId::new(std::str::from_utf8(m).ok()?).ok())
            .collect();
        let mut group = |key: u32| {
            let metric = metric_ids.get((key % METRIC_SLOTS) as usize)?.as_ref()?;
            Some(builder.group_of_index(key / METRIC_SLOTS, metric))
        };
        let mut packed = Vec::with_capacity(chunk.records);
        for r in written {
            packed.push(r.with_group(group(r.group())?));
        }
        let mut identified = Vec::with_capacity(chunk.identified.len());
        for (key, id, timestamp, quantity) in chunk.identified {
            identified.push((group(key)?, record_id(id)?, timestamp, quantity));
        }
        for r in packed {
            builder.push_packed(r);
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

/// Rows parsed before their accounts are looked up together: each lookup is a likely cache
/// miss, and a tight loop of independent lookups lets the processor wait for many at once.
const BATCH: usize = 64;

/// Parses one chunk; `None` when the file must go to `parse_usage` (a stray carriage return,
/// a line that is not UTF-8).
fn read_chunk<'a>(
    text: &'a [u8],
    first_line: usize,
    roles: &[usize],
    index: &InlineIndex<'_>,
    region: &mut [Packed],
) -> Option<Chunk<'a>> {
    let mut chunk = Chunk::<'a>::default();
    // Rows are placed a batch after their keys' slots were first loaded: by then, while the
    // next batch was parsed, the loads have come in.
    let mut batch: Vec<Row<'a>> = Vec::with_capacity(BATCH);
    let mut touched: Vec<Row<'a>> = Vec::with_capacity(BATCH);
    let mut days = Days::default();
    let (mut at, mut n) = (0usize, 0usize);
    while at < text.len() {
        let number = line_number(first_line.saturating_add(n));
        n = n.saturating_add(1);
        let (row, next) = match read_row(text, at, roles, number, &mut days) {
            Some((row, next)) => (Line::Row(row), next),
            None => split_line(text, at, roles, number, &mut days)?,
        };
        at = next;
        match row {
            Line::Row(row) => {
                batch.push(row);
                if batch.len() == BATCH {
                    index.touch(batch.iter().filter_map(|r| r.account_key));
                    place(&mut touched, index, &mut chunk, region);
                    std::mem::swap(&mut batch, &mut touched);
                }
            }
            Line::Other(line) => chunk.other.push((number, line.as_bytes())),
            Line::None => {}
        }
    }
    place(&mut touched, index, &mut chunk, region);
    place(&mut batch, index, &mut chunk, region);
    // Rows whose account was not found joined `other` after the rows around them.
    chunk.other.sort_unstable_by_key(|(line, _)| *line);
    Some(chunk)
}

/// What a line of a chunk is.
enum Line<'a> {
    /// A row in the common form.
    Row(Row<'a>),
    /// Text for the row rules.
    Other(&'a str),
    /// Nothing: the empty end of a chunk ending in a carriage return.
    None,
}

/// The line starting at `start`, split at its commas and read field by field, and where the
/// next line starts; `None` for a carriage return that is not part of a line end (the CSV
/// reader would end a line there, so the file is not one for this reader) or a line that is
/// not UTF-8.
fn split_line<'a>(
    text: &'a [u8],
    start: usize,
    roles: &[usize],
    number: u64,
    days: &mut Days,
) -> Option<(Line<'a>, usize)> {
    let rest = text.get(start..)?;
    let (line, next) = match memchr::memchr(b'\n', rest) {
        Some(i) => (rest.get(..i)?, start.saturating_add(i).saturating_add(1)),
        None => (rest, text.len()),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if memchr::memchr(b'\r', line).is_some() {
        return None;
    }
    if line.is_empty() && next == text.len() && !rest.ends_with(b"\n") {
        return Some((Line::None, next));
    }
    // Only lines outside the common form are checked as text here: the one-pass reader
    // takes ASCII alone, so the file is never checked whole (a pass over all its bytes).
    let line = std::str::from_utf8(line).ok()?;
    let mut fields: [&str; 5] = [""; 5];
    let mut count = 0usize;
    for field in line.split(',') {
        if let Some(slot) = roles.get(count).and_then(|r| fields.get_mut(*r)) {
            *slot = field;
        }
        count = count.saturating_add(1);
    }
    let row = (count == roles.len())
        .then(|| parse_simple(&fields, number, line, days))
        .flatten();
    Some((row.map_or(Line::Other(line), Line::Row), next))
}

/// Looks up a batch's accounts and files its rows into the chunk; a row whose account or
/// metric the common form cannot place goes to the row rules.
fn place<'a>(
    batch: &mut Vec<Row<'a>>,
    index: &InlineIndex<'_>,
    chunk: &mut Chunk<'a>,
    region: &mut [Packed],
) {
    let mut accounts = [None; BATCH];
    for (slot, row) in accounts.iter_mut().zip(batch.iter()) {
        *slot = index.get(row.account, row.account_key);
    }
    // Read in place (a row is about 150 bytes), then cleared.
    for (row, a) in batch.iter().zip(accounts) {
        match a
            .filter(|a| *a < u32::MAX / METRIC_SLOTS)
            .and_then(|a| Some((a, metric_slot(chunk, row.metric, row.metric_key)?)))
        {
            // Below u32::MAX: a < u32::MAX / METRIC_SLOTS and m < METRIC_SLOTS.
            Some((a, m)) => {
                let group = a.saturating_mul(METRIC_SLOTS).saturating_add(m);
                match row.identified {
                    // The region has a slot for every line of the chunk; were it full, the
                    // row would still be read, by the row rules.
                    None => match region.get_mut(chunk.records) {
                        Some(slot) => {
                            *slot = Packed::new(row.mantissa, group, row.day_scale);
                            chunk.records = chunk.records.saturating_add(1);
                        }
                        None => chunk.other.push((row.line, row.text)),
                    },
                    Some((id, at)) => chunk.identified.push((
                        group,
                        id,
                        at,
                        quantity(row.mantissa, row.day_scale),
                    )),
                }
            }
            None => chunk.other.push((row.line, row.text)),
        }
    }
    batch.clear();
}

/// The chunk's index of `metric`, added if there is room.
fn metric_slot<'a>(chunk: &mut Chunk<'a>, metric: &'a [u8], key: Option<[u64; 2]>) -> Option<u32> {
    let found = match key {
        Some(_) => chunk.metric_keys.iter().position(|k| *k == key),
        None => chunk.metrics.iter().position(|m| *m == metric),
    };
    let m = match found {
        Some(m) => m,
        None if chunk.metrics.len() < METRIC_SLOTS as usize => {
            chunk.metrics.push(metric);
            chunk.metric_keys.push(key);
            chunk.metrics.len().saturating_sub(1)
        }
        None => return None,
    };
    u32::try_from(m).ok().filter(|m| *m < METRIC_SLOTS)
}
