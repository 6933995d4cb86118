//! The records read so far, packed as the table will take them, chunk after chunk.
//!
//! Records are 128-bit sort keys whose group is account index x [`METRIC_SLOTS`] + metric
//! index, metrics numbered in the order they were first seen, kept in 8-byte words where
//! they fit (`block`); at the end the metric numbers become ranks and the records are sorted
//! into the table. A file of more metrics than that goes on through the table builder.
//! Records with a record id are kept by (account, metric, id) until the end, so a re-sent
//! record counts once wherever in the file it is.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

use super::piece::METRIC_SLOTS;
use super::records::Records;
use crate::hash::FastState;
use crate::id::{AccountKey, MetricId, RecordId};
use crate::import::table::ImportErrors;
use crate::usage::{Packed, Resent, UsageRecord, UsageTable, UsageTableBuilder, pack_record};

/// Records read so far, and the problems found. Accounts are numbered by their place in
/// the book's account keys, sorted (`keys` where a method takes them).
pub(super) struct Sink {
    /// Metrics in the order they were first seen: a metric's index is its place.
    metrics: Vec<MetricId>,
    /// While the groups are dense, the records read; after, the open chunk's.
    records: Records,
    /// The builder, once the metrics are too many for dense groups.
    builder: Option<UsageTableBuilder>,
    /// Records with a record id, by the number of their (account, metric) pair.
    identified: Resent,
    pairs: Vec<(u32, u32)>,
    pair_numbers: HashMap<(u32, u32), u32, FastState>,
    /// Rows that are not records.
    pub(super) errors: ImportErrors,
    /// Records the table cannot hold: reported only when every row is a record, as the
    /// import and then the table builder would.
    outside: ImportErrors,
}

impl Sink {
    /// A sink whose records go straight into the sort's vector if `direct`.
    pub(super) fn new(keys: &[AccountKey], direct: bool) -> Sink {
        // Dense groups are account x METRIC_SLOTS + metric in 32 bits: 67 million accounts.
        let builder = (keys.len() >= (u32::MAX / METRIC_SLOTS) as usize)
            .then(|| UsageTableBuilder::with_accounts(keys.to_vec(), 0));
        Sink {
            metrics: Vec::new(),
            records: Records::new(direct),
            builder,
            identified: Resent::default(),
            pairs: Vec::new(),
            pair_numbers: HashMap::default(),
            errors: ImportErrors::default(),
            outside: ImportErrors::default(),
        }
    }

    /// The metrics a chunk's pieces may number as they are numbered here: all of them while
    /// the groups are dense.
    pub(super) fn known_metrics(&self) -> Vec<String> {
        match self.builder {
            Some(_) => Vec::new(),
            None => self.metrics.iter().map(|m| m.as_str().to_owned()).collect(),
        }
    }

    /// Opens a chunk: room for `slots` records, for its pieces to write.
    pub(super) fn open(&mut self, slots: usize) -> &mut [Packed] {
        self.records.open(slots)
    }

    /// Drops what the open chunk's pieces wrote.
    pub(super) fn abort(&mut self) {
        self.records.abort();
    }

    /// Closes the open chunk: its pieces wrote `written` records at the start of regions of
    /// `slots`, with groups of their own metric numbers, which `maps` turn into this sink's.
    pub(super) fn close(
        &mut self,
        keys: &[AccountKey],
        written: &[usize],
        slots: &[usize],
        maps: &[Vec<u32>],
    ) {
        if self.builder.is_none() && self.metrics.len() <= METRIC_SLOTS as usize {
            return self.records.keep_chunk(written, slots, maps);
        }
        let records = std::mem::replace(&mut self.records, Records::new(false));
        let builder = match self.builder.take() {
            Some(builder) => builder,
            None => self.builder_of(keys, &records),
        };
        let builder = self.builder.insert(builder);
        for (part, map) in records.chunk(written, slots).into_iter().zip(maps) {
            for r in part {
                let (a, m) = split(r.group());
                let m = map.get(m as usize).copied().unwrap_or(u32::MAX);
                push_built(builder, &self.metrics, (a, m), *r);
            }
        }
        // The room is reused for the next chunks.
        if let Records::Packed { .. } = records {
            self.records = records;
        }
    }

    /// A table builder holding the records kept, for more metrics than dense groups hold.
    #[cold]
    fn builder_of(&self, keys: &[AccountKey], records: &Records) -> UsageTableBuilder {
        let mut builder = UsageTableBuilder::with_accounts(keys.to_vec(), records.len());
        records.for_each(|r| {
            let (a, m) = split(r.group());
            push_built(&mut builder, &self.metrics, (a, m), r);
        });
        builder
    }

    /// The number of `metric`, which is added if new.
    pub(super) fn metric(&mut self, metric: &MetricId) -> u32 {
        let place = self.metrics.iter().position(|m| m == metric);
        let place = place.unwrap_or_else(|| {
            self.metrics.push(metric.clone());
            self.metrics.len().saturating_sub(1)
        });
        u32::try_from(place).unwrap_or(u32::MAX)
    }

    /// Adds a record packed as the table holds it.
    fn push_packed(
        &mut self,
        keys: &[AccountKey],
        (account, metric): (u32, u32),
        mantissa: i64,
        day_scale: u32,
    ) {
        if self.builder.is_none() && metric >= METRIC_SLOTS {
            let records = std::mem::replace(&mut self.records, Records::new(false));
            self.builder = Some(self.builder_of(keys, &records));
        }
        let record = Packed::new(mantissa, 0, day_scale);
        match &mut self.builder {
            Some(builder) => push_built(builder, &self.metrics, (account, metric), record),
            None => {
                let group = account.saturating_mul(METRIC_SLOTS).saturating_add(metric);
                self.records.push(record.with_group(group));
            }
        }
    }

    /// Offers a record with a record id: of each account, metric and id, the greatest
    /// (timestamp, quantity, scale) is kept.
    pub(super) fn keep_identified(
        &mut self,
        (account, metric): (u32, u32),
        id: RecordId,
        timestamp: DateTime<Utc>,
        quantity: Decimal,
    ) {
        let next = u32::try_from(self.pairs.len()).unwrap_or(u32::MAX);
        let pair = *self.pair_numbers.entry((account, metric)).or_insert(next);
        if pair == next {
            self.pairs.push((account, metric));
        }
        self.identified.keep(pair, id, timestamp, quantity);
    }

    /// Adds a record the row rules read on `line`.
    pub(super) fn push_record(&mut self, keys: &[AccountKey], line: u64, record: &UsageRecord) {
        // The row rules found the key in the book.
        let Some(account) = keys
            .binary_search(record.account())
            .ok()
            .and_then(|a| u32::try_from(a).ok())
        else {
            return self
                .errors
                .push(line, "", "", "no account has this key".to_owned());
        };
        let metric = self.metric(record.metric());
        match record.record_id() {
            Some(id) => self.keep_identified(
                (account, metric),
                id.clone(),
                record.timestamp(),
                record.quantity(),
            ),
            None => match pack_record(record) {
                Ok((mantissa, day_scale)) => {
                    self.push_packed(keys, (account, metric), mantissa, day_scale);
                }
                Err(e) => self.outside.push(line, "", "", e.to_string()),
            },
        }
    }

    /// The table of every record read, or every problem found: the rows that are not
    /// records, or else the records the table cannot hold.
    pub(super) fn finish(mut self, keys: Vec<AccountKey>) -> Result<UsageTable, ImportErrors> {
        if !self.errors.is_empty() {
            return self.errors.into_result(UsageTable::default());
        }
        let mut resolved = Vec::new();
        let identified = std::mem::take(&mut self.identified);
        for (timestamp, quantity) in identified.pack_into(&mut resolved) {
            self.outside.push(
                0,
                "",
                "",
                format!("record at {timestamp} of {quantity} is outside the usage table's range"),
            );
        }
        if !self.outside.is_empty() {
            return self.outside.into_result(UsageTable::default());
        }
        for r in resolved {
            if let Some(pair) = self.pairs.get(r.group() as usize).copied() {
                self.push_packed(&keys, pair, r.mantissa(), r.day_scale());
            }
        }
        Ok(match self.builder {
            Some(builder) => builder.finish(),
            None => dense_table(keys, self.metrics, self.records),
        })
    }
}

/// A dense group's account and metric numbers.
fn split(group: u32) -> (u32, u32) {
    (group / METRIC_SLOTS, group % METRIC_SLOTS)
}

/// Adds `record` of `account` and the sink's metric number `metric` to `builder`.
fn push_built(
    builder: &mut UsageTableBuilder,
    metrics: &[MetricId],
    (account, metric): (u32, u32),
    record: Packed,
) {
    if let Some(m) = metrics.get(metric as usize) {
        let group = builder.group_of_index(account, m);
        builder.push_packed(record.with_group(group));
    }
}

/// The table of `records`, dense groups whose metrics are numbered as in `metrics`: the
/// numbers become ranks, and the records are sorted.
fn dense_table(keys: Vec<AccountKey>, metrics: Vec<MetricId>, records: Records) -> UsageTable {
    let mut order: Vec<usize> = (0..metrics.len()).collect();
    order.sort_unstable_by(|a, b| metrics.get(*a).cmp(&metrics.get(*b)));
    let mut rank = vec![0u32; metrics.len()];
    for (r, m) in (0u32..).zip(&order) {
        if let Some(slot) = rank.get_mut(*m) {
            *slot = r;
        }
    }
    let records = records.into_source(rank);
    let mut sorted = metrics;
    sorted.sort_unstable();
    UsageTable::from_dense(keys, sorted, records, METRIC_SLOTS)
}
