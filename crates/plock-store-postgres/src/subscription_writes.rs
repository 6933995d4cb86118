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

    /// Writes the rows held, replacing stored rows of their ids.
    pub(crate) fn flush(&mut self, tx: &mut Transaction<'_>) -> Result<(), Failure> {
        if self.columns.first().is_none_or(Vec::is_empty) {
            return Ok(());
        }
        let columns = std::mem::take(&mut self.columns);
        let names = names(SUBSCRIPTION_COLUMNS);
        let arrays: Vec<String> = (1..=names.len()).map(|n| format!("${n}::text[]")).collect();
        let updates: Vec<String> = names
            .iter()
            .skip(1)
            .map(|c| format!("{c} = excluded.{c}"))
            .collect();
        let sql = format!(
            "INSERT INTO subscriptions ({SUBSCRIPTION_COLUMNS}) SELECT * FROM unnest({}) \
             ON CONFLICT ({}) DO UPDATE SET {}",
            arrays.join(", "),
            names.first().copied().unwrap_or_default(),
            updates.join(", ")
        );
        let params: Vec<&(dyn postgres::types::ToSql + Sync)> = columns
            .iter()
            .map(|c| c as &(dyn postgres::types::ToSql + Sync))
            .collect();
        tx.execute(&sql, &params).db("writing subscriptions")?;
        Ok(())
    }
}
