//! The subscriptions a batch puts, written with one statement (`INSERT … SELECT … FROM
//! unnest(…) ON CONFLICT …`) rather than one a subscription: a subscription import puts
//! thousands in one batch. They are held until the batch next reads subscriptions, or ends.

use plock_store_sql::SqlValue;
use postgres::Transaction;

use crate::codec::{SUBSCRIPTION_COLUMNS, backend, names};
use crate::failure::{Db, Failure};

/// Subscription rows not yet written, column by column in [`SUBSCRIPTION_COLUMNS`]' order.
#[derive(Debug, Default)]
pub(crate) struct PendingSubscriptions {
    columns: Vec<Vec<Option<String>>>,
}

impl PendingSubscriptions {
    /// Holds a row, its values in [`SUBSCRIPTION_COLUMNS`]' order (text or NULL, as every
    /// column of `subscriptions` is).
    pub(crate) fn push(&mut self, values: Vec<SqlValue>) -> Result<(), Failure> {
        let width = names(SUBSCRIPTION_COLUMNS).len();
        if values.len() != width {
            return Err(Failure::Refused(backend(format!(
                "a subscription row of {} values, {width} expected",
                values.len()
            ))));
        }
        self.columns.resize_with(width, Vec::new);
        for (column, value) in self.columns.iter_mut().zip(values) {
            column.push(match value {
                SqlValue::Null => None,
                SqlValue::Text(text) => Some(text),
                other => {
                    return Err(Failure::Refused(backend(format!(
                        "a subscription column holds {other:?}, not text"
                    ))));
                }
            });
        }
        Ok(())
    }

    /// Writes the rows held, replacing stored rows of their ids: the subscriptions, then
    /// their watermarks' rows, each written only where it differs from the stored one (a
    /// write of the same values is still a new version of the row).
    pub(crate) fn flush(&mut self, tx: &mut Transaction<'_>) -> Result<(), Failure> {
        if self.columns.first().is_none_or(Vec::is_empty) {
            return Ok(());
        }
        let columns = std::mem::take(&mut self.columns);
        let names = names(SUBSCRIPTION_COLUMNS);
        // The last two values are the watermark's, the rest the `subscriptions` row's.
        let row_names = names
            .get(..names.len().saturating_sub(2))
            .unwrap_or_default();
        let arrays: Vec<String> = (1..=row_names.len())
            .map(|n| format!("${n}::text[]"))
            .collect();
        let updates: Vec<String> = row_names
            .iter()
            .skip(1)
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO subscriptions ({}) SELECT * FROM unnest({}) \
             ON CONFLICT ({}) DO UPDATE SET {}",
            row_names.join(", "),
            arrays.join(", "),
            row_names.first().copied().unwrap_or_default(),
            updates.join(", ")
        );
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = columns
            .iter()
            .take(row_names.len())
            .map(|c| c as &(dyn postgres::types::ToSql + Sync))
            .collect();
        tx.execute(&sql, &params).db("writing subscriptions")?;
        let watermark_params: Vec<&(dyn postgres::types::ToSql + Sync)> = [0, 1]
            .into_iter()
            .chain(row_names.len()..names.len())
            .filter_map(|n| columns.get(n))
            .map(|c| c as &(dyn postgres::types::ToSql + Sync))
            .collect();
        tx.execute(
            "INSERT INTO subscription_watermarks AS w (subscription, owner, in_advance, in_arrears) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) \
             ON CONFLICT (subscription) DO UPDATE SET owner = excluded.owner, \
             in_advance = excluded.in_advance, in_arrears = excluded.in_arrears \
             WHERE (w.owner, w.in_advance, w.in_arrears) \
             IS DISTINCT FROM (excluded.owner, excluded.in_advance, excluded.in_arrears)",
            &watermark_params,
        )
        .db("writing what subscriptions are billed through")?;
        Ok(())
    }
}
