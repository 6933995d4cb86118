//! What billing runs billed of usage, period by period ([`BilledUsage`]): written with a
//! run's invoices, read back for the next run, which bills late usage against it.

use plock_core::billing::BilledUsage;
use plock_core::store::StoreError;
use postgres::GenericClient;

use plock_store_sql::codec::text;

use crate::codec::Context;

/// Records `rows`, each replacing the stored row of its key.
pub(crate) fn write(tx: &mut impl GenericClient, rows: &[BilledUsage]) -> Result<(), StoreError> {
    if rows.is_empty() {
        return Ok(());
    }
    let stmt = tx
        .prepare(
            "INSERT INTO billed_usage (subscription, product, period_start, row) \
             VALUES ($1, $2, $3, $4) \
             ON CONFLICT (subscription, product, period_start) DO UPDATE SET row = excluded.row",
        )
        .context("recording billed usage")?;
    for row in rows {
        let json = serde_json::to_string(row).context("encoding billed usage")?;
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
