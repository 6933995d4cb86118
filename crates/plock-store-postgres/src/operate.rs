//! What an operator's command needs beyond the port: a batch tried and rolled back, the
//! account book alone, usage imported in chunks in one transaction, a wait limit on other
//! writers' locks.

use std::collections::HashMap;
use std::time::Duration;

use plock_core::store::{Batch, CompanySnapshot, StoreError};
use plock_core::{AccountBook, UsageRecord};
use postgres::error::SqlState;
use postgres::{Client, IsolationLevel, Transaction};

use crate::PostgresStore;
use plock_store_sql::codec::book;
use plock_store_sql::error::chain;

use crate::codec::{ACCOUNT_JSON, Context, account_value, backend};
use crate::failure::Failure;

/// Why [`PostgresStore::add_usage_in_chunks`] imported nothing.
#[derive(Debug)]
pub enum UsageImportError<E> {
    /// The source of the chunks failed.
    Source(E),
    /// The store refused or failed.
    Store(StoreError),
}

impl PostgresStore {
    /// Applies `batch` inside a transaction and rolls it back: what
    /// [`Store::apply`](plock_core::Store::apply) would refuse, without writing anything.
    ///
    /// # Errors
    /// The first refused change, as `apply` returns it.
    pub fn dry_run(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut tx = client.transaction().context("starting a dry run")?;
        let mut index = 0;
        let outcome = crate::write::apply_in(&mut tx, batch, &mut index);
        let rolled_back = tx.rollback().context("rolling back a dry run");
        outcome.map_err(|failure| refusal(failure, index, "batch"))?;
        rolled_back
    }

    /// The accounts and dismissed keys, without subscriptions or usage, from one committed
    /// state.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn account_book(&self) -> Result<AccountBook, StoreError> {
        let mut client = self.client()?;
        let mut tx = read(&mut client)?;
        let accounts = tx
            .query(
                &format!("SELECT {ACCOUNT_JSON} FROM accounts a ORDER BY a.id"),
                &[],
            )
            .context("reading accounts")?
            .iter()
            .map(|row| account_value(row, 0))
            .collect::<Result<Vec<_>, _>>()?;
        let dismissed = tx
            .query("SELECT key FROM dismissed_keys ORDER BY key", &[])
            .context("reading dismissed keys")?
            .iter()
            .map(|row| row.try_get::<_, String>(0))
            .collect::<Result<Vec<_>, _>>()
            .context("reading dismissed keys")?;
        tx.commit().context("ending a read")?;
        book(accounts, dismissed)
    }

    /// The company without its usage (`usage` is empty), from one committed state: what
    /// exports and subscription imports read.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn company_without_usage(&self) -> Result<CompanySnapshot, StoreError> {
        let mut client = self.client()?;
        let mut tx = read(&mut client)?;
        let (accounts, subscriptions, metrics) = crate::store::read_company(&mut tx)?;
        let billed_usage = crate::billed_usage::read(&mut tx)?;
        tx.commit().context("ending a read")?;
        Ok(CompanySnapshot {
            accounts,
            subscriptions,
            metrics,
            usage: Vec::new(),
            billed_usage,
        })
    }

    /// Adds the records `next` yields, chunk after chunk, each with one binary `COPY`, all in
    /// one transaction committed only when `next` ends with `Ok(None)`: an error from `next`
    /// or from the store leaves the store unchanged. The accounts of the records' keys are
    /// share-locked until the commit, so none is dismissed under the import. Returns the
    /// records written.
    ///
    /// # Errors
    /// [`UsageImportError::Source`] with `next`'s error; [`UsageImportError::Store`] when a
    /// key names no account ([`StoreError::NotFound`]), a deadlock with another writer
    /// ([`StoreError::Conflict`]), or [`StoreError::Backend`].
    pub fn add_usage_in_chunks<E>(
        &mut self,
        next: &mut dyn FnMut() -> Result<Option<Vec<UsageRecord>>, E>,
    ) -> Result<u64, UsageImportError<E>> {
        let mut client = self.client().map_err(UsageImportError::Store)?;
        let mut tx = client
            .transaction()
            .context("starting a usage import")
            .map_err(UsageImportError::Store)?;
        // Only the database answers for keys: the import changes no account.
        let none = AccountBook::new();
        let mut owners = HashMap::new();
        let mut written: u64 = 0;
        while let Some(records) = next().map_err(UsageImportError::Source)? {
            add_chunk(&mut tx, &none, &mut owners, &records).map_err(UsageImportError::Store)?;
            written = written.saturating_add(u64::try_from(records.len()).unwrap_or(u64::MAX));
        }
        tx.commit()
            .context("committing the usage import")
            .map_err(UsageImportError::Store)?;
        Ok(written)
    }

    /// Limits how long a statement waits for a row or table another writer holds to
    /// `timeout`, after which it fails with a message saying `lock timeout`; PostgreSQL's
    /// default is to wait for ever. A limit the connection has already (from the connection
    /// string's `options`, the role or the database) is kept: the operator's choice.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn limit_lock_wait(&self, timeout: Duration) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let current: String = client
            .query_one("SELECT current_setting('lock_timeout')", &[])
            .and_then(|row| row.try_get(0))
            .context("reading the lock timeout")?;
        if current != "0" {
            return Ok(());
        }
        client
            .batch_execute(&format!("SET lock_timeout = {}", timeout.as_millis()))
            .context("setting the lock timeout")
    }
}

fn add_chunk(
    tx: &mut Transaction<'_>,
    none: &AccountBook,
    owners: &mut HashMap<String, String>,
    records: &[UsageRecord],
) -> Result<(), StoreError> {
    crate::usage::add_usage(tx, none, none, owners, 0, records)
        .map_err(|failure| refusal(failure, 0, "usage import"))
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

/// A failure as the store reports it: a refusal as it is, a deadlock or a lost race with
/// another writer as a conflict on `what`, anything else as a backend failure.
fn refusal(failure: Failure, index: usize, what: &'static str) -> StoreError {
    match failure {
        Failure::Refused(error) => error,
        Failure::Database { what: doing, error } => {
            let raced = [
                SqlState::T_R_SERIALIZATION_FAILURE,
                SqlState::T_R_DEADLOCK_DETECTED,
                SqlState::UNIQUE_VIOLATION,
            ]
            .iter()
            .any(|code| error.code() == Some(code));
            if raced {
                StoreError::Conflict {
                    index,
                    what,
                    id: error
                        .as_db_error()
                        .map(|e| e.message().to_owned())
                        .unwrap_or_default(),
                    reason: "conflicted with another writer; nothing was written, try again",
                }
            } else {
                backend(format!("{doing}: {}", chain(&error)))
            }
        }
    }
}
