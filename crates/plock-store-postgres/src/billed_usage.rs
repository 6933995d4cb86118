//! What billing runs billed of usage, period by period ([`BilledUsage`]): written with a
//! run's invoices, read back for the next run, which bills late usage against it.

use std::collections::{BTreeMap, HashMap};

use plock_core::billing::BilledUsage;
use plock_core::store::StoreError;
use postgres::GenericClient;

use plock_store_sql::codec::text;

use crate::codec::{Context, backend};

/// Records `rows` (of change `index`), each replacing the stored row of its key, under its
/// subscription's invoice owner, once each row's [`BilledUsage::replaces`] is checked against
/// the stored row: one statement to check, one to read the owners, one to write the rows.
pub(crate) fn write(
    tx: &mut impl GenericClient,
    index: usize,
    rows: &[BilledUsage],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    check_replaced(tx, index, rows)?;
    // The latest row of each key: one statement cannot write a key twice.
    let latest: BTreeMap<_, &BilledUsage> = rows.iter().map(|row| (row.key(), row)).collect();
    let ids: Vec<&str> = latest.keys().map(|(id, _, _)| *id).collect();
    let owners: HashMap<String, String> = tx
        .query(
            "SELECT id, owner FROM subscriptions WHERE id = ANY($1)",
            &[&ids],
        )
        .context("reading the owners of billed usage")?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, postgres::Error>>()
        .context("reading the owners of billed usage")?;
    let mut columns: [Vec<String>; 5] = Default::default();
    for row in latest.values() {
        let id = row.subscription.as_str();
        let owner = owners.get(id).ok_or_else(|| {
            backend(format!(
                "billed usage of subscription {id}, which is not stored"
            ))
        })?;
        let json = serde_json::to_string(&row.to_stored()).context("encoding billed usage")?;
        let values = [
            owner.clone(),
            id.to_owned(),
            row.product.as_str().to_owned(),
            text(&row.period.start())?,
            json,
        ];
        for (column, value) in columns.iter_mut().zip(values) {
            column.push(value);
        }
    }
    let [owner, subscription, product, start, json] = &columns;
    tx.execute(
        "INSERT INTO billed_usage (owner, subscription, product, period_start, row) \
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
         ON CONFLICT (subscription, product, period_start) \
         DO UPDATE SET owner = excluded.owner, row = excluded.row",
        &[owner, subscription, product, start, json],
    )
    .context("recording billed usage")?;
    Ok(())
}

/// Checks the rows that name what they replace against the stored rows of their keys, read
/// `FOR UPDATE`: a run recording the same keys at once waits for this batch to end, then
/// reads what it wrote, so two runs that read the same billed usage cannot both pass.
fn check_replaced(
    tx: &mut impl GenericClient,
    index: usize,
    rows: &[BilledUsage],
) -> Result<(), StoreError> {
    let checked: Vec<&BilledUsage> = rows.iter().filter(|r| r.replaces.is_some()).collect();
    if checked.is_empty() {
        return Ok(());
    }
    let subscriptions: Vec<&str> = checked.iter().map(|r| r.subscription.as_str()).collect();
    let products: Vec<&str> = checked.iter().map(|r| r.product.as_str()).collect();
    let starts = checked
        .iter()
        .map(|r| text(&r.period.start()))
        .collect::<Result<Vec<String>, StoreError>>()?;
    let found = tx
        .query(
            "SELECT b.row FROM billed_usage b \
             JOIN unnest($1::text[], $2::text[], $3::text[]) AS k (subscription, product, start) \
             ON b.subscription = k.subscription AND b.product = k.product \
             AND b.period_start = k.start \
             ORDER BY b.subscription, b.product, b.period_start FOR UPDATE OF b",
            &[&subscriptions, &products, &starts],
        )
        .context("reading billed usage")?;
    let mut stored = HashMap::with_capacity(found.len());
    for r in &found {
        let text: String = r.try_get(0).context("reading billed usage")?;
        let row: BilledUsage = serde_json::from_str(&text).context("decoding billed usage")?;
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
    Ok(())
}

/// Every stored row, in key order.
pub(crate) fn read(client: &mut impl GenericClient) -> Result<Vec<BilledUsage>, StoreError> {
    let rows = client
        .query(
            "SELECT row FROM billed_usage ORDER BY subscription, product, period_start",
            &[],
        )
        .context("reading billed usage")?;
    rows.iter()
        .map(|r| {
            let text: String = r.try_get(0).context("reading billed usage")?;
            serde_json::from_str(&text).context("decoding billed usage")
        })
        .collect()
}
