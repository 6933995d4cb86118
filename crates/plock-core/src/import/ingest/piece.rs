//! One piece of a chunk of lines, read by one thread: rows in the common form are read in one
//! pass ([`read_row`]) and packed where they are read, into the piece's region of the
//! records; any other line is kept for the row rules ([`row_rules`]), which decide.

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::accounts::Accounts;
use super::row::{Form, Row, parse_simple, read_row};
use super::time::Days;
use crate::book::AccountBook;
use crate::hash::inline;
use crate::import::clean_cell;
use crate::import::layout::{Columns, Field};
use crate::import::table::ImportErrors;
use crate::import::time_format::TimeFormat;
use crate::import::usage::{UsageCells, usage_row};
use crate::usage::UsageRecord;
use crate::usage::{Packed, quantity};

/// Metrics a piece reads in the common form; rows of more go through the row rules. A
/// record's group is then account index x `METRIC_SLOTS` + metric index.
pub(super) const METRIC_SLOTS: u32 = 64;

/// Rows parsed before their accounts are looked up together: each lookup is a likely cache
/// miss, and a tight loop of independent lookups lets the processor wait for many at once.
const BATCH: usize = 64;

/// Why a piece stopped before its end.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stop {
    /// A carriage return that is not part of a line end: the CSV reader ends a line there, so
    /// the chunk is the CSV reader's.
    Return,
    /// A line, of this number, that is not UTF-8.
    NotUtf8(u64),
}

/// What one piece of lines gave.
#[derive(Default)]
pub(super) struct Piece<'a> {
    /// The piece's metrics (the known ones first, as given), at most [`METRIC_SLOTS`].
    pub(super) metrics: Vec<&'a [u8]>,
    /// The metrics' inline copies (`None` for long ones), compared without a call.
    metric_keys: Vec<Option<[u64; 2]>>,
    /// The short metrics by their inline copies.
    metric_places: MetricPlaces,
    /// How many records the piece wrote at the start of its region.
    pub(super) records: usize,
    /// Rows with a record id: (group, record id, time, quantity).
    pub(super) identified: Vec<(u32, &'a [u8], DateTime<Utc>, Decimal)>,
    /// Rows for the row rules: (line, text), in line order.
    pub(super) other: Vec<(u64, &'a [u8])>,
    /// Set when the piece stopped early; the rest of it is unread.
    pub(super) stop: Option<Stop>,
}

/// How a piece reads: the file's form, and the accounts' index.
pub(super) struct Reading<'r> {
    pub(super) form: Form<'r>,
    pub(super) accounts: &'r Accounts<'r>,
}

/// Reads the piece `text` (whole lines) whose first line is `first_line`, writing its records
/// into `region` (a slot a line). `known` metrics take the first metric indexes.
pub(super) fn read_piece<'a>(
    text: &'a [u8],
    first_line: u64,
    reading: &Reading<'_>,
    known: &[&'a [u8]],
    region: &mut [Packed],
) -> Piece<'a> {
    // The common layouts are read with their form as constants: the row reader's field
    // order and time format are then settled when it is compiled, not on every field (a
    // jump a field, and a match on the time's format a row).
    let form = |fields: &'static [Field], time| Form {
        fields,
        time,
        separator: reading.form.separator,
    };
    // Each arm its own call, so that each is compiled with its form (one closure would be
    // one body, compiled once).
    match (reading.form.fields, reading.form.time) {
        (BARE, TimeFormat::EpochMillis) => {
            let bare = form(BARE, TimeFormat::EpochMillis);
            read_lines(text, first_line, reading, &bare, known, region)
        }
        (BARE, TimeFormat::EpochSeconds) => {
            let bare = form(BARE, TimeFormat::EpochSeconds);
            read_lines(text, first_line, reading, &bare, known, region)
        }
        (BARE, TimeFormat::Rfc3339) => {
            let bare = form(BARE, TimeFormat::Rfc3339);
            read_lines(text, first_line, reading, &bare, known, region)
        }
        (PLOCK, TimeFormat::Rfc3339) => {
            let plock = form(PLOCK, TimeFormat::Rfc3339);
            read_lines(text, first_line, reading, &plock, known, region)
        }
        _ => read_lines(text, first_line, reading, &reading.form, known, region),
    }
}

/// Account, metric, time and quantity, in that order: the benchmark kit's layout, and
/// plock's without record ids.
pub(super) const BARE: &[Field] = &[Field::Account, Field::Metric, Field::Time, Field::Quantity];

/// plock's own layout.
pub(super) const PLOCK: &[Field] = &[
    Field::Account,
    Field::Metric,
    Field::Time,
    Field::Quantity,
    Field::RecordId,
];

/// [`read_piece`] in the file's form `form`; inlined where the form is a constant.
#[inline(always)]
pub(super) fn read_lines<'a>(
    text: &'a [u8],
    first_line: u64,
    reading: &Reading<'_>,
    form: &Form<'_>,
    known: &[&'a [u8]],
    region: &mut [Packed],
) -> Piece<'a> {
    let mut piece = Piece::<'a>::default();
    for m in known {
        let key = std::str::from_utf8(m).ok().and_then(inline);
        piece.add_metric(m, key);
    }
    // Rows are placed a batch after their keys' slots were first loaded: by then, while the
    // next batch was parsed, the loads have come in.
    let mut batch: Vec<Row<'a>> = Vec::with_capacity(BATCH);
    let mut touched: Vec<Row<'a>> = Vec::with_capacity(BATCH);
    let mut days = Days::default();
    let (mut at, mut number) = (0usize, first_line);
    while at < text.len() {
        let line = number;
        number = number.saturating_add(1);
        let (row, next) = match read_row(text, at, form, line, &mut days) {
            Some((row, next)) => (Line::Row(row), next),
            None => match split_line(text, at, form, line, &mut days) {
                Ok(split) => split,
                Err(stop) => {
                    piece.stop = Some(stop);
                    return piece;
                }
            },
        };
        at = next;
        match row {
            Line::Row(row) => {
                batch.push(row);
                if batch.len() == BATCH {
                    let accounts = reading.accounts;
                    accounts.touch(batch.iter().filter_map(|r| r.account_key));
                    place(&mut touched, accounts, &mut piece, region);
                    std::mem::swap(&mut batch, &mut touched);
                }
            }
            Line::Other(text) => piece.other.push((line, text.as_bytes())),
            Line::None => {}
        }
    }
    place(&mut touched, reading.accounts, &mut piece, region);
    place(&mut batch, reading.accounts, &mut piece, region);
    // Rows whose account was not found joined `other` after the rows around them.
    piece.other.sort_unstable_by_key(|(line, _)| *line);
    piece
}

/// What a line of a piece is.
enum Line<'a> {
    /// A row in the common form.
    Row(Row<'a>),
    /// Text for the row rules.
    Other(&'a str),
    /// Nothing: the empty end of a piece ending in a carriage return.
    None,
}

/// The line starting at `start`, split at its separators and read field by field, and where
/// the next line starts; or why the piece stops there: a carriage return that is not part of
/// a line end, or a line that is not UTF-8.
fn split_line<'a>(
    text: &'a [u8],
    start: usize,
    form: &Form<'_>,
    number: u64,
    days: &mut Days,
) -> Result<(Line<'a>, usize), Stop> {
    let rest = text.get(start..).unwrap_or_default();
    let (line, next) = match memchr::memchr(b'\n', rest) {
        Some(i) => (
            rest.get(..i).unwrap_or_default(),
            start.saturating_add(i).saturating_add(1),
        ),
        None => (rest, text.len()),
    };
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    if memchr::memchr(b'\r', line).is_some() {
        return Err(Stop::Return);
    }
    if line.is_empty() && next == text.len() && !rest.ends_with(b"\n") {
        return Ok((Line::None, next));
    }
    // Only lines outside the common form are checked as text here: the one-pass reader
    // takes ASCII alone, so the file is never checked whole (a pass over all its bytes).
    let line = std::str::from_utf8(line).map_err(|_| Stop::NotUtf8(number))?;
    let mut fields: [&str; 5] = [""; 5];
    let mut count = 0usize;
    for cell in line.split(char::from(form.separator)) {
        if let Some(slot) = form
            .fields
            .get(count)
            .and_then(|f| f.index())
            .and_then(|i| fields.get_mut(i))
        {
            *slot = cell;
        }
        count = count.saturating_add(1);
    }
    let row = (count == form.fields.len())
        .then(|| parse_simple(&fields, form, number, line, days))
        .flatten();
    Ok((row.map_or(Line::Other(line), Line::Row), next))
}

/// Looks up a batch's accounts and files its rows into the piece; a row whose account or
/// metric the common form cannot place goes to the row rules.
fn place<'a>(
    batch: &mut Vec<Row<'a>>,
    accounts: &Accounts<'_>,
    piece: &mut Piece<'a>,
    region: &mut [Packed],
) {
    let mut found = [None; BATCH];
    for (slot, row) in found.iter_mut().zip(batch.iter()) {
        *slot = accounts.get(row.account, row.account_key);
    }
    // Read in place (a row is about 150 bytes), then cleared.
    for (row, a) in batch.iter().zip(found) {
        match a
            .filter(|a| *a < u32::MAX / METRIC_SLOTS)
            .and_then(|a| Some((a, metric_slot(piece, row.metric, row.metric_key)?)))
        {
            // Below u32::MAX: a < u32::MAX / METRIC_SLOTS and m < METRIC_SLOTS.
            Some((a, m)) => {
                let group = a.saturating_mul(METRIC_SLOTS).saturating_add(m);
                match row.identified {
                    // The region has a slot for every line of the piece; were it full, the
                    // row would still be read, by the row rules.
                    None => match region.get_mut(piece.records) {
                        Some(slot) => {
                            *slot = Packed::new(row.mantissa, group, row.day_scale);
                            piece.records = piece.records.saturating_add(1);
                        }
                        None => piece.other.push((row.line, row.text)),
                    },
                    Some((id, at)) => piece.identified.push((
                        group,
                        id,
                        at,
                        quantity(row.mantissa, row.day_scale),
                    )),
                }
            }
            None => piece.other.push((row.line, row.text)),
        }
    }
    batch.clear();
}

/// The piece's index of `metric`, added if there is room.
#[inline(always)]
fn metric_slot<'a>(piece: &mut Piece<'a>, metric: &'a [u8], key: Option<[u64; 2]>) -> Option<u32> {
    let found = match key {
        Some(key) => piece.metric_places.find(key, &piece.metric_keys),
        None => piece.metrics.iter().position(|m| *m == metric),
    };
    match found {
        Some(m) => u32::try_from(m).ok(),
        None => piece.add_metric(metric, key),
    }
}

impl<'a> Piece<'a> {
    /// Adds a metric if there is room: its index.
    fn add_metric(&mut self, metric: &'a [u8], key: Option<[u64; 2]>) -> Option<u32> {
        if self.metrics.len() >= METRIC_SLOTS as usize {
            return None;
        }
        let m = u8::try_from(self.metrics.len()).ok()?;
        self.metrics.push(metric);
        self.metric_keys.push(key);
        if let Some(key) = key {
            self.metric_places.insert(key, m, &self.metric_keys);
        }
        Some(u32::from(m))
    }
}

/// Places of short metrics by their inline copies: an open-addressing table (linear probing,
/// at most half full) of their indexes plus one, 0 marking an empty slot.
struct MetricPlaces([u8; METRIC_TABLE]);

/// Slots of [`MetricPlaces`]: twice the metrics a piece holds.
const METRIC_TABLE: usize = 2 * METRIC_SLOTS as usize;

impl Default for MetricPlaces {
    fn default() -> MetricPlaces {
        MetricPlaces([0; METRIC_TABLE])
    }
}

impl MetricPlaces {
    fn home(key: [u64; 2]) -> usize {
        let [lo, hi] = key;
        let h = (lo ^ hi.rotate_left(29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        (h >> 57) as usize
    }

    /// The slot holding `key` (whose metric's inline copies are `keys`), or the empty slot
    /// where it would go.
    #[inline(always)]
    fn probe(&self, key: [u64; 2], keys: &[Option<[u64; 2]>]) -> Option<usize> {
        let mut at = MetricPlaces::home(key);
        for _ in 0..METRIC_TABLE {
            let slot = *self.0.get(at)?;
            let index = usize::from(slot).checked_sub(1);
            match index {
                None => return Some(at),
                Some(i) if keys.get(i) == Some(&Some(key)) => return Some(at),
                Some(_) => at = at.wrapping_add(1) % METRIC_TABLE,
            }
        }
        None
    }

    #[inline(always)]
    fn find(&self, key: [u64; 2], keys: &[Option<[u64; 2]>]) -> Option<usize> {
        let slot = *self.0.get(self.probe(key, keys)?)?;
        usize::from(slot).checked_sub(1)
    }

    fn insert(&mut self, key: [u64; 2], index: u8, keys: &[Option<[u64; 2]>]) {
        if let Some(slot) = self.probe(key, keys).and_then(|at| self.0.get_mut(at)) {
            *slot = index.saturating_add(1);
        }
    }
}

/// A row through the import's row rules: its record, or its problems added to `errors`.
/// `cells` are its fields as the CSV reader splits them.
pub(super) fn row_rules(
    cells: &[&str],
    line: u64,
    columns: &Columns,
    book: &AccountBook,
    errors: &mut ImportErrors,
) -> Option<UsageRecord> {
    if cells.iter().all(|c| c.trim().is_empty()) {
        return None;
    }
    let width = columns.fields.len();
    if cells.len() != width {
        errors.push(
            line,
            "",
            "",
            format!("row has {} fields but the header has {width}", cells.len()),
        );
        return None;
    }
    let mut values: [Option<String>; 5] = Default::default();
    for (cell, field) in cells.iter().zip(&columns.fields) {
        if let Some(slot) = field.index().and_then(|i| values.get_mut(i)) {
            *slot = clean_cell(cell);
        }
    }
    let [account_key, metric, timestamp, quantity, record_id] = values;
    let cells = UsageCells {
        account_key,
        metric,
        timestamp,
        quantity,
        record_id,
    };
    usage_row(cells, line, book, &columns.rules, errors)
}
