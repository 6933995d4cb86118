//! What billing runs billed of usage, period by period ([`BilledUsage`]): written with a
//! run's invoices, read back for the next run, which bills late usage against it. A row is a
//! column a field (migration 8), written with binary `COPY`.

use std::collections::{BTreeMap, HashMap};

use plock_core::billing::BilledUsage;
use plock_core::store::StoreError;
use plock_store_sql::billed_usage::BilledUsageColumns;
use plock_store_sql::codec::text;
use postgres::binary_copy::BinaryCopyInWriter;
use postgres::error::SqlState;
use postgres::types::{ToSql, Type};
use postgres::{GenericClient, Transaction};

use crate::codec::{Context, backend};
use crate::failure::{Db, Failure};
use crate::watermarks::Owners;

/// The columns a row is read from, in order.
const SELECT: &str =
    "subscription, product, period_start, period_end, records, quantity, amount, skipped";

/// The columns a row is written to, in order, and their types.
const COLUMNS: &str =
    "owner, subscription, product, period_start, period_end, records, quantity, amount, skipped";
const TYPES: [Type; 9] = [
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::TEXT,
    Type::INT8,
    Type::NUMERIC,
    Type::NUMERIC,
    Type::BOOL,
];

/// Records `rows` (of change `index`), each replacing the stored row of its key, under its
/// subscription's invoice owner (from `owners`, the run's billed subscriptions', else read),
/// once each row's [`BilledUsage::replaces`] is checked against the stored row.
///
/// The rows that replace a stored row are deleted first; most of the rest are of periods
/// billed for the first time, so all are copied straight into the table, under a savepoint.
/// A key stored already fails that copy; the rows are then copied into a temporary table and
/// written over the stored ones with one `INSERT … ON CONFLICT`, which costs the server twice
/// the plain copy's time.
pub(crate) fn write(
    tx: &mut Transaction<'_>,
    index: usize,
    rows: &[BilledUsage],
    owners: &Owners,
) -> Result<(), Failure> {
    if rows.is_empty() {
        return Ok(());
    }
    let replaced = check_replaced(tx, index, rows)?;
    // The latest row of each key: one statement cannot write a key twice.
    let latest: BTreeMap<_, &BilledUsage> = rows.iter().map(|row| (row.key(), row)).collect();
    let more = more_owners(tx, latest.values().copied(), owners)?;
    let rows = Rows {
        latest: &latest,
        owners,
        more: &more,
    };
    if let Some([subscriptions, products, starts]) = &replaced {
        tx.execute(
            "DELETE FROM billed_usage b \
             USING unnest($1::text[], $2::text[], $3::text[]) AS k (subscription, product, start) \
             WHERE b.subscription = k.subscription AND b.product = k.product \
             AND b.period_start = k.start",
            &[subscriptions, products, starts],
        )
        .db("recording billed usage")?;
    }
    let mut attempt = tx.transaction().db("recording billed usage")?;
    match rows.copy(&mut attempt, "billed_usage") {
        Ok(()) => return attempt.commit().db("recording billed usage"),
        Err(Failure::Database { error, .. })
            if error.code() == Some(&SqlState::UNIQUE_VIOLATION) =>
        {
            attempt.rollback().db("recording billed usage")?;
        }
        Err(failure) => return Err(failure),
    }
    tx.batch_execute(&format!(
        "CREATE TEMPORARY TABLE billed_usage_written ON COMMIT DROP AS \
         SELECT {COLUMNS} FROM billed_usage WITH NO DATA"
    ))
    .db("recording billed usage")?;
    rows.copy(tx, "billed_usage_written")?;
    tx.batch_execute(&format!(
        "INSERT INTO billed_usage ({COLUMNS}) SELECT {COLUMNS} FROM billed_usage_written \
         ON CONFLICT (subscription, product, period_start) DO UPDATE SET \
         owner = excluded.owner, period_end = excluded.period_end, \
         records = excluded.records, quantity = excluded.quantity, \
         amount = excluded.amount, skipped = excluded.skipped; \
         DROP TABLE billed_usage_written"
    ))
    .db("recording billed usage")?;
    Ok(())
}

/// The rows to write, the latest of each key, and their owners.
struct Rows<'a, 'r> {
    latest: &'a BTreeMap<(&'r str, &'r str, chrono::NaiveDate), &'r BilledUsage>,
    owners: &'a Owners,
    more: &'a Owners,
}

impl Rows<'_, '_> {
    /// Copies the rows into `table` with one binary `COPY`.
    fn copy(&self, tx: &mut Transaction<'_>, table: &str) -> Result<(), Failure> {
        let sink = tx
            .copy_in(&format!(
                "COPY {table} ({COLUMNS}) FROM STDIN (FORMAT binary)"
            ))
            .db("recording billed usage")?;
        let mut writer = BinaryCopyInWriter::new(sink, &TYPES);
        for row in self.latest.values() {
            let id = row.subscription.as_str();
            let owner = self
                .owners
                .get(id)
                .or_else(|| self.more.get(id))
                .ok_or_else(|| {
                    backend(format!(
                        "billed usage of subscription {id}, which is not stored"
                    ))
                })?;
            // A date's `Display` is its serde text, without the detour through a JSON value.
            let (start, end) = (row.period.start().to_string(), row.period.end().to_string());
            let records = i64::try_from(row.records)
                .map_err(|_| backend(format!("billed usage records {} too many", row.records)))?;
            let values: [&(dyn ToSql + Sync); 9] = [
                owner,
                &id,
                &row.product.as_str(),
                &start,
                &end,
                &records,
                &row.quantity,
                &row.amount,
                &row.skipped,
            ];
            writer.write(&values).db("recording billed usage")?;
        }
        writer.finish().db("recording billed usage")?;
        Ok(())
    }
}

/// The owners of the rows' subscriptions that `owners` does not name, read from their
/// watermarks' rows.
fn more_owners<'r>(
    tx: &mut impl GenericClient,
    rows: impl Iterator<Item = &'r BilledUsage>,
    owners: &Owners,
) -> Result<Owners, StoreError> {
    let mut missing: Vec<&str> = rows
        .map(|row| row.subscription.as_str())
        .filter(|id| !owners.contains_key(*id))
        .collect();
    if missing.is_empty() {
        return Ok(Owners::new());
    }
    missing.dedup();
    tx.query(
        "SELECT subscription, owner FROM subscription_watermarks WHERE subscription = ANY($1)",
        &[&missing],
    )
    .context("reading the owners of billed usage")?
    .iter()
    .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
    .collect::<Result<_, postgres::Error>>()
    .context("reading the owners of billed usage")
}

/// Checks the rows that name what they replace against the stored rows of their keys, read
/// `FOR UPDATE`: a run recording the same keys at once waits for this batch to end, then
/// reads what it wrote, so two runs that read the same billed usage cannot both pass.
///
/// Returns the keys of the rows checked (each stored, once they pass): subscriptions,
/// products and period starts.
fn check_replaced(
    tx: &mut impl GenericClient,
    index: usize,
    rows: &[BilledUsage],
) -> Result<Option<Keys>, StoreError> {
    let checked: Vec<&BilledUsage> = rows.iter().filter(|r| r.replaces.is_some()).collect();
    if checked.is_empty() {
        return Ok(None);
    }
    let subscriptions: Vec<&str> = checked.iter().map(|r| r.subscription.as_str()).collect();
    let products: Vec<&str> = checked.iter().map(|r| r.product.as_str()).collect();
    let starts = checked
        .iter()
        .map(|r| text(&r.period.start()))
        .collect::<Result<Vec<String>, StoreError>>()?;
    let found = tx
        .query(
            "SELECT b.subscription, b.product, b.period_start, b.period_end, b.records, \
             b.quantity, b.amount, b.skipped FROM billed_usage b \
             JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (subscription, product, start) \
             ON b.subscription = k.subscription AND b.product = k.product \
             AND b.period_start = k.start \
             ORDER BY b.subscription, b.product, b.period_start FOR UPDATE OF b",
            &[&subscriptions, &products, &starts],
        )
        .context("reading billed usage")?;
    let mut stored = HashMap::with_capacity(found.len());
    for r in &found {
        let row = from_row(r)?;
        let key = (
            row.subscription.clone(),
            row.product.clone(),
            row.period.start(),
        );
        stored.insert(key, row);
    }
    for row in checked {
        let key = (
            row.subscription.clone(),
            row.product.clone(),
            row.period.start(),
        );
        plock_core::store::check_billed_usage(index, row, stored.get(&key))?;
    }
    let subscriptions = subscriptions.into_iter().map(str::to_owned).collect();
    let products = products.into_iter().map(str::to_owned).collect();
    Ok(Some([subscriptions, products, starts]))
}

/// Keys of billed usage rows as three arrays: subscriptions, products, period starts.
type Keys = [Vec<String>; 3];

/// Every stored row, in key order.
pub(crate) fn read(client: &mut impl GenericClient) -> Result<Vec<BilledUsage>, StoreError> {
    let rows = client
        .query(
            &format!(
                "SELECT {SELECT} FROM billed_usage ORDER BY subscription, product, period_start"
            ),
            &[],
        )
        .context("reading billed usage")?;
    rows.iter().map(from_row).collect()
}

/// A row selected by [`SELECT`], each value validated.
fn from_row(row: &postgres::Row) -> Result<BilledUsage, StoreError> {
    let get = |i: usize| row.try_get::<_, String>(i).context("reading billed usage");
    BilledUsageColumns {
        subscription: get(0)?,
        product: get(1)?,
        start: get(2)?,
        end: get(3)?,
        records: row.try_get(4).context("reading billed usage")?,
        quantity: row.try_get(5).context("reading billed usage")?,
        amount: row.try_get(6).context("reading billed usage")?,
        skipped: row.try_get(7).context("reading billed usage")?,
    }
    .into_billed()
}
