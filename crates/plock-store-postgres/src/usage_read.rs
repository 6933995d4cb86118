//! Every stored usage record read for a billing run, a check, or a caller: the rows written
//! a batch at a time (`usage`) and the imported blocks (`usage_blocks`), each block's lines
//! read by plock-core's block reader, which refuses a line that is not a record.
//!
//! A run's read leaves out made-up ids that no two records share ([`crate::made_up_ids`]):
//! in one pass over the blocks where it can, otherwise after a pass over every stored id;
//! all in the caller's snapshot.

use std::collections::{HashMap, HashSet};

use plock_core::id::RecordId;
use plock_core::import::UsageBlock;
use plock_core::store::StoreError;
use plock_core::usage::UsageTableBuilder;
use plock_core::{AccountKey, MetricId, UsageRecord, UsageTable};
use postgres::GenericClient;
use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;

use crate::codec::{Context, backend};
use crate::made_up_ids::Finder;

/// Every block's lines and records.
const BLOCKS: &str = "SELECT csv, records FROM usage_blocks";

/// Every usage record in a usage table, read in the transaction `client` is in, which must
/// read one snapshot for the passes to agree.
///
/// When no row written a batch at a time holds a made-up id (imports write blocks), the
/// blocks are read once, each made-up id left out while no id read before shares its
/// fingerprint's line; only when a later line shares one (a chunk imported twice) are the
/// blocks read again, after a pass over every stored id, as the rows' made-up ids always are.
///
/// # Errors
/// [`StoreError::Backend`] when the database fails or holds a record the table cannot hold.
pub(crate) fn usage_table(client: &mut impl GenericClient) -> Result<UsageTable, StoreError> {
    let count: i64 = client
        .query_one(
            "SELECT (SELECT count(*) FROM usage) \
             + coalesce((SELECT sum(records) FROM usage_blocks), 0)",
            &[],
        )
        .and_then(|row| row.try_get(0))
        .context("counting usage")?;
    let count = usize::try_from(count).unwrap_or(0);
    let ids = client
        .query(
            "SELECT record_id FROM usage WHERE record_id LIKE 'file-%'",
            &[],
        )
        .context("reading usage record ids")?;
    if ids.is_empty()
        && let Some(table) = one_pass(client, count)?
    {
        return Ok(table);
    }
    let mut finder = Finder::default();
    let ids = client
        .query(
            "SELECT record_id FROM usage WHERE record_id LIKE 'file-%'",
            &[],
        )
        .context("reading usage record ids")?;
    for row in &ids {
        finder.note(row.try_get(0).context("reading usage record ids")?);
    }
    drop(ids);
    each_block(client, |text, records| {
        if !text.contains('"') {
            finder.note_lines(text);
            return Ok(());
        }
        UsageBlock::from_stored(text.to_owned(), records).for_each_record(|r| {
            if let Some(id) = r.record_id {
                finder.note(id);
            }
            Ok::<(), StoreError>(())
        })
    })?;
    let unshared = finder.unshared();
    let mut builder = UsageTableBuilder::with_capacity(count);
    crate::usage::rows_into(client, &mut builder, &unshared)?;
    let mut reader = Reader::default();
    each_block(client, |text, records| {
        reader.records(text, records, |account, metric, r| {
            let id = match r.record_id {
                Some(id) if !unshared.leaves_out(id) => {
                    Some(RecordId::new(id).context("stored usage record id")?)
                }
                _ => None,
            };
            builder
                .push(account, metric, r.timestamp, r.quantity, id.as_ref())
                .map_err(|e| backend(format!("stored usage of {account} is invalid: {e}")))
        })
    })?;
    Ok(builder.finish())
}

/// The rows (none with a made-up id) and every block read once into a usage table, each
/// made-up id left out while no id read before shares its line; `None` when a later id
/// shared the line of one left out, so that the blocks must be read with the final answer.
fn one_pass(
    client: &mut impl GenericClient,
    count: usize,
) -> Result<Option<UsageTable>, StoreError> {
    let mut builder = UsageTableBuilder::with_capacity(count);
    crate::usage::rows_into(client, &mut builder, &Finder::default().unshared())?;
    let (mut finder, mut left_out) = (Finder::default(), HashSet::new());
    let mut reader = Reader::default();
    each_block(client, |text, records| {
        reader.records(text, records, |account, metric, r| {
            let id = match r.record_id {
                Some(id) => match finder.note_unshared_so_far(id) {
                    Some(fingerprint) => {
                        left_out.insert(fingerprint);
                        None
                    }
                    None => Some(RecordId::new(id).context("stored usage record id")?),
                },
                None => None,
            };
            builder
                .push(account, metric, r.timestamp, r.quantity, id.as_ref())
                .map_err(|e| backend(format!("stored usage of {account} is invalid: {e}")))
        })
    })?;
    let unshared = finder.unshared();
    let held = left_out
        .into_iter()
        .all(|fingerprint| unshared.holds(fingerprint));
    Ok(held.then(|| builder.finish()))
}

/// The records of the blocks of `keys` (of every key when `None`).
///
/// # Errors
/// [`StoreError::Backend`] when the database fails or holds a line that is not a record.
pub(crate) fn block_records(
    client: &mut impl GenericClient,
    keys: Option<&[&str]>,
) -> Result<Vec<UsageRecord>, StoreError> {
    let rows = client
        .query(
            "SELECT csv, records FROM usage_blocks \
             WHERE $1::text[] IS NULL OR account_key = ANY($1)",
            &[&keys],
        )
        .context("reading usage")?;
    let mut reader = Reader::default();
    let mut out = Vec::new();
    for row in &rows {
        let text: &str = row.try_get(0).context("reading usage")?;
        let records: i32 = row.try_get(1).context("reading usage")?;
        let records = usize::try_from(records).unwrap_or(0);
        out.reserve(records);
        reader.records(text, records, |account, metric, r| {
            let id = r.record_id.map(RecordId::new).transpose();
            let record = UsageRecord::new(
                account.clone(),
                metric.clone(),
                r.timestamp,
                r.quantity,
                id.context("stored usage record id")?,
            )
            .map_err(|e| backend(format!("stored usage of {account} is invalid: {e}")))?;
            out.push(record);
            Ok(())
        })?;
    }
    Ok(out)
}

/// Calls `each` with every block's lines and records, the rows streamed as they come.
fn each_block(
    client: &mut impl GenericClient,
    mut each: impl FnMut(&str, usize) -> Result<(), StoreError>,
) -> Result<(), StoreError> {
    let mut rows = client
        .query_raw(BLOCKS, std::iter::empty::<&(dyn ToSql + Sync)>())
        .context("reading usage")?;
    while let Some(row) = rows.next().context("reading usage")? {
        let text: &str = row.try_get(0).context("reading usage")?;
        let records: i32 = row.try_get(1).context("reading usage")?;
        each(text, usize::try_from(records).unwrap_or(0))?;
    }
    Ok(())
}

/// Reads blocks' records, each key and metric validated once.
#[derive(Default)]
struct Reader {
    keys: HashMap<String, AccountKey>,
    metrics: HashMap<String, MetricId>,
}

impl Reader {
    /// Calls `each` with every record of a block's `text` of `records` records, with its key
    /// and metric.
    fn records(
        &mut self,
        text: &str,
        records: usize,
        mut each: impl FnMut(
            &AccountKey,
            &MetricId,
            plock_core::import::BlockRecord<'_>,
        ) -> Result<(), StoreError>,
    ) -> Result<(), StoreError> {
        let Reader { keys, metrics } = self;
        UsageBlock::from_stored(text.to_owned(), records).for_each_record(|r| {
            let account = match keys.get(r.account) {
                Some(account) => account,
                None => {
                    let account = AccountKey::new(r.account).context("stored usage account key")?;
                    keys.entry(r.account.to_owned()).or_insert(account)
                }
            };
            let metric = match metrics.get(r.metric) {
                Some(metric) => metric,
                None => {
                    let metric = MetricId::new(r.metric).context("stored usage metric")?;
                    metrics.entry(r.metric.to_owned()).or_insert(metric)
                }
            };
            each(account, metric, r)
        })
    }
}
