//! Reads that both the store's reads and its writes make.

use plock_core::Subscription;
use plock_core::store::StoreError;
use postgres::{Client, GenericClient, IsolationLevel, Transaction};

use plock_store_sql::codec::invoice_number;

use crate::codec::{Context, Param, SUBSCRIPTION_SELECT};

pub(crate) fn read_subscriptions(
    client: &mut impl GenericClient,
    filter: &str,
    params: &[Param<'_>],
) -> Result<Vec<Subscription>, StoreError> {
    let sql = format!("SELECT {SUBSCRIPTION_SELECT} FROM subscriptions WHERE {filter}");
    let rows = client
        .query(&sql, params)
        .context("reading subscriptions")?;
    crate::subscription_rows::decode_all(&rows)
}

/// The number the next run starts from; `lock` holds the row until the transaction ends, so
/// runs recording at once number one after the other.
pub(crate) fn next_invoice_number(
    client: &mut impl GenericClient,
    lock: bool,
) -> Result<u64, StoreError> {
    let sql = if lock {
        "SELECT value FROM meta WHERE name = 'next_invoice_number' FOR UPDATE"
    } else {
        "SELECT value FROM meta WHERE name = 'next_invoice_number'"
    };
    let next: i64 = client
        .query_one(sql, &[])
        .and_then(|row| row.try_get(0))
        .context("reading the next invoice number")?;
    invoice_number(next)
}

/// A read-only transaction on one committed state.
pub(crate) fn read(client: &mut Client) -> Result<Transaction<'_>, StoreError> {
    client
        .build_transaction()
        .isolation_level(IsolationLevel::RepeatableRead)
        .read_only(true)
        .start()
        .context("starting a read")
}
