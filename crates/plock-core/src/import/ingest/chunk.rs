//! One chunk of whole lines, read in parallel: cut into pieces at line ends, each piece read
//! by a thread into its own region of the records ([`read_piece`]), then the pieces' metric
//! numbers made the sink's and the lines outside the common form read by the row rules.

use crate::par::prelude::*;
use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::piece::{METRIC_SLOTS, Piece, Reading, Stop, read_piece, row_rules};
use super::sink::Sink;
use crate::book::AccountBook;
use crate::id::{AccountKey, MetricId, RecordId};
use crate::import::layout::Columns;
use crate::usage::split_lengths;

/// What reading a chunk came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Its rows are in the sink; it held this many line ends.
    Read(u64),
    /// Nothing was kept: it is the CSV reader's (a quote, a carriage return inside a line),
    /// from its start.
    Csv,
    /// Nothing was kept: the line of this number is not UTF-8.
    NotUtf8(u64),
}

/// What a chunk is read with.
pub(super) struct Context<'c> {
    pub(super) reading: Reading<'c>,
    pub(super) columns: &'c Columns,
    pub(super) book: &'c AccountBook,
    pub(super) keys: &'c [AccountKey],
}

/// Pieces a chunk is cut into per thread: enough that a slow piece does not hold the others
/// (a chunk's threads wait for its last piece: on 2 threads, 16 pieces of half a MiB each,
/// the wait is at most a sixteenth of the chunk's work where 8 pieces made it an eighth).
const PIECES_A_THREAD: usize = 8;

/// Reads `text`, whole lines whose first is `first_line`, into `sink`.
pub(super) fn read_chunk(
    text: &[u8],
    first_line: u64,
    cx: &Context<'_>,
    sink: &mut Sink,
) -> Outcome {
    let pieces = cut(
        text,
        crate::par::current_num_threads().saturating_mul(PIECES_A_THREAD),
    );
    let Some(lines) = Lines::of(&pieces, first_line) else {
        return Outcome::Csv;
    };
    let known = sink.known_metrics();
    let known: Vec<&[u8]> = known.iter().map(String::as_bytes).collect();
    let region = sink.open(lines.slots.iter().sum());
    let regions = split_lengths(region, lines.slots.iter().copied());
    let read: Vec<Piece<'_>> = pieces
        .par_iter()
        .zip(lines.starts.par_iter())
        .zip(regions.into_par_iter())
        .map(|((piece, start), region)| read_piece(piece, *start, &cx.reading, &known, region))
        .collect();
    let found = match read.iter().find_map(|p| p.stop) {
        Some(Stop::Return) => None,
        Some(Stop::NotUtf8(line)) => {
            sink.abort();
            return Outcome::NotUtf8(line);
        }
        // `None` for bytes the pieces took that are not ids: the CSV reader decides.
        None => Found::of(&read, known.len()),
    };
    let Some(found) = found else {
        sink.abort();
        return Outcome::Csv;
    };
    let written: Vec<usize> = read.iter().map(|p| p.records).collect();
    keep(found, known.len(), (&written, &lines.slots), cx, sink);
    Outcome::Read(lines.ends)
}

/// Where a chunk's pieces' lines are.
struct Lines {
    /// Each piece's first line.
    starts: Vec<u64>,
    /// Each piece's room: a slot a line (only the last piece may end without a line end).
    slots: Vec<usize>,
    /// Line ends in all.
    ends: u64,
}

impl Lines {
    /// The lines of `pieces` (the first `first`), their line ends counted in parallel; `None`
    /// for a piece with a quote, which makes the chunk the CSV reader's.
    fn of(pieces: &[&[u8]], first: u64) -> Option<Lines> {
        let newlines: Vec<usize> = pieces
            .par_iter()
            .map(|p| {
                memchr::memchr(b'"', p)
                    .is_none()
                    .then(|| memchr::memchr_iter(b'\n', p).count())
            })
            .collect::<Option<_>>()?;
        let mut starts = Vec::with_capacity(pieces.len());
        let mut line = first;
        for n in &newlines {
            starts.push(line);
            line = line.saturating_add(u64::try_from(*n).unwrap_or(u64::MAX));
        }
        let mut slots = newlines;
        if let Some(last) = slots.last_mut() {
            *last = last.saturating_add(1);
        }
        Some(Lines {
            starts,
            slots,
            ends: line.saturating_sub(first),
        })
    }
}

/// Hands what a chunk's pieces found to the sink: their metric numbers (the first `known`
/// the sink's) made the sink's, the records they wrote (`written` of each region of
/// `slots`), those with a record id, and the rows for the row rules.
fn keep(
    found: Found<'_>,
    known: usize,
    (written, slots): (&[usize], &[usize]),
    cx: &Context<'_>,
    sink: &mut Sink,
) {
    let maps: Vec<Vec<u32>> = found
        .metrics
        .iter()
        .map(|new| {
            let known = (0u32..).take(known);
            known.chain(new.iter().map(|m| sink.metric(m))).collect()
        })
        .collect();
    sink.close(cx.keys, written, slots, &maps);
    for ((group, id, at, quantity), map) in found.identified {
        let (a, m) = (group / METRIC_SLOTS, group % METRIC_SLOTS);
        let m = maps
            .get(map)
            .and_then(|map| map.get(m as usize))
            .copied()
            .unwrap_or(u32::MAX);
        sink.keep_identified((a, m), id, at, quantity);
    }
    for (line, text) in found.other {
        let cells: Vec<&str> = text.split(char::from(cx.reading.form.separator)).collect();
        if let Some(record) = row_rules(&cells, line, cx.columns, cx.book, &mut sink.errors) {
            sink.push_record(cx.keys, line, &record);
        }
    }
}

/// A row with a record id: (group, record id, time, quantity).
type Identified = (u32, RecordId, DateTime<Utc>, Decimal);

/// What the pieces of a chunk found, as the sink takes it.
struct Found<'a> {
    /// Each piece's metrics past the known ones.
    metrics: Vec<Vec<MetricId>>,
    /// Rows with a record id, and their piece's place.
    identified: Vec<(Identified, usize)>,
    /// Rows for the row rules: (line, text), in line order.
    other: Vec<(u64, &'a str)>,
}

impl<'a> Found<'a> {
    /// What `pieces` found, or `None` for bytes the pieces took that the ids or the row
    /// rules do not (which the one-pass reader never takes).
    fn of(pieces: &[Piece<'a>], known: usize) -> Option<Found<'a>> {
        let text = |b: &'a [u8]| std::str::from_utf8(b).ok();
        let mut found = Found {
            metrics: Vec::with_capacity(pieces.len()),
            identified: Vec::new(),
            other: Vec::new(),
        };
        for (p, piece) in pieces.iter().enumerate() {
            let new = piece.metrics.get(known..).unwrap_or_default();
            let new = new.iter().map(|m| MetricId::new(text(m)?).ok());
            found.metrics.push(new.collect::<Option<_>>()?);
            for (group, id, at, quantity) in &piece.identified {
                let id = RecordId::new(text(id)?).ok()?;
                found.identified.push(((*group, id, *at, *quantity), p));
            }
            for (line, other) in &piece.other {
                found.other.push((*line, text(other)?));
            }
        }
        Some(found)
    }
}

/// `text` cut at line ends into about `pieces` pieces.
fn cut(text: &[u8], pieces: usize) -> Vec<&[u8]> {
    let step = text
        .len()
        .checked_div(pieces.max(1))
        .unwrap_or(0)
        .saturating_add(1);
    let mut cut = Vec::with_capacity(pieces.saturating_add(1));
    let mut rest = text;
    while !rest.is_empty() {
        let end = match rest.get(step..).and_then(|r| memchr::memchr(b'\n', r)) {
            Some(i) => step.saturating_add(i).saturating_add(1),
            None => rest.len(),
        };
        let (piece, tail) = rest.split_at(end.min(rest.len()));
        cut.push(piece);
        rest = tail;
    }
    cut
}
