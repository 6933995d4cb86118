//! What a billing run reads, from one committed state, on two connections at once.
//!
//! The store's connection reads the account book, then the usage (which needs the book's
//! keys); meanwhile a second connection, in the same snapshot (`pg_export_snapshot()`,
//! `SET TRANSACTION SNAPSHOT`), reads the subscriptions, the metrics and the billed usage,
//! so that their statements and decoding run while the first connection waits for the
//! server or the usage is parsed. Where the second connection cannot be opened (the
//! server's connection limit, say), the first reads everything, one after the other.

use plock_core::billing::BilledUsage;
use plock_core::store::{CompanySnapshot, StoreError};
use plock_core::{Metric, Subscription, UsageTable};
use postgres::{Client, GenericClient};

use crate::codec::{Context, backend};
use crate::store::PostgresStore;

/// What the second connection reads.
type Side = (Vec<Subscription>, Vec<Metric>, Vec<BilledUsage>);

/// The accounts, subscriptions and metrics (the snapshot's `usage` left empty), the billed
/// usage, and every usage record packed in a usage table.
///
/// # Errors
/// [`StoreError::Backend`] when the database fails or holds what the store refuses.
pub(crate) fn billing_input(
    store: &PostgresStore,
) -> Result<(CompanySnapshot, UsageTable), StoreError> {
    let mut client = store.client()?;
    let mut tx = crate::queries::read(&mut client)?;
    let snapshot: String = tx
        .query_one("SELECT pg_export_snapshot()", &[])
        .and_then(|row| row.try_get(0))
        .context("exporting the run's snapshot")?;
    let config = store.config();
    let (accounts, usage, side) = std::thread::scope(|scope| {
        let side = scope.spawn(|| side_connection(config, &snapshot).map(read_side));
        let main = crate::store::read_book(&mut tx).and_then(|accounts| {
            let usage = crate::usage_read::usage_table(&mut tx, &accounts)?;
            Ok((accounts, usage))
        });
        let side = side
            .join()
            .map_err(|_| backend("the run's second connection failed"))?;
        main.map(|(accounts, usage)| (accounts, usage, side))
    })?;
    let (subscriptions, metrics, billed_usage) = match side {
        Some(read) => read?,
        None => read_side_in(&mut tx)?,
    };
    tx.commit().context("ending a read")?;
    let company = CompanySnapshot {
        accounts,
        subscriptions,
        metrics,
        usage: Vec::new(),
        billed_usage,
    };
    Ok((company, usage))
}

/// A second connection in a read-only transaction on `snapshot`; `None` when it cannot be
/// opened, and the store's connection reads alone.
fn side_connection(config: &str, snapshot: &str) -> Option<Client> {
    // The server names snapshots in hexadecimal digits and dashes.
    let plain = snapshot.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-');
    if !plain || snapshot.is_empty() {
        return None;
    }
    let mut client = crate::store::connect(config).ok()?;
    client
        .batch_execute(&format!(
            "START TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; \
             SET TRANSACTION SNAPSHOT '{snapshot}'"
        ))
        .ok()?;
    Some(client)
}

/// The subscriptions, metrics and billed usage, on the second connection.
fn read_side(mut client: Client) -> Result<Side, StoreError> {
    let read = read_side_in(&mut client)?;
    client.batch_execute("COMMIT").context("ending a read")?;
    Ok(read)
}

/// The subscriptions, metrics and billed usage, in `client`'s transaction.
fn read_side_in(client: &mut impl GenericClient) -> Result<Side, StoreError> {
    let subscriptions = crate::queries::read_subscriptions(client, "TRUE ORDER BY id", &[])?;
    let metrics = crate::store::read_metrics(client)?;
    let billed_usage = crate::billed_usage::read(client)?;
    Ok((subscriptions, metrics, billed_usage))
}

#[cfg(test)]
mod tests {
    use super::side_connection;

    #[test]
    fn a_snapshot_name_that_is_not_the_servers_opens_no_connection() {
        // Refused before any connection is tried: the name is put in a statement.
        assert!(side_connection("host=127.0.0.1 port=1", "'; DROP TABLE accounts; --").is_none());
        assert!(side_connection("host=127.0.0.1 port=1", "").is_none());
    }
}
