//! What billing runs billed of usage, period by period ([`BilledUsage`]): written with a
//! run's invoices, read back for the next run, which bills late usage against it.

use plock_core::billing::BilledUsage;
use plock_core::store::StoreError;
use postgres::GenericClient;

use plock_store_sql::codec::text;

use crate::codec::Context;

/// Records `rows` (of change `index`), each replacing the stored row of its key, once each
/// row's [`BilledUsage::replaces`] is checked against the stored row.
pub(crate) fn write(
    tx: &mut impl GenericClient,
    index: usize,
    rows: &[BilledUsage],
) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    check_replaced(tx, index, rows)?;
    let stmt = tx
        .prepare(
            "INSERT INTO billed_usage (subscription, product, period_start, row) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (subscription, product, period_start) DO UPDATE SET row = excluded.row",
        )
        .context("recording billed usage")?;
    for row in rows {
        let json = serde_json::to_string(&row.to_stored()).context("encoding billed usage")?;
        let start = text(&row.period.start())?;
        tx.execute(
            &stmt,
            &[
                &row.subscription.as_str(),
                &row.product.as_str(),
                &start,
                &json,
            ],
        )
        .context("recording billed usage")?;
    }
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
    let mut stored = std::collections::HashMap::with_capacity(found.len());
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
