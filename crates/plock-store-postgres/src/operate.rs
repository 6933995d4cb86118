//! What an operator's command needs beyond the port: a batch tried and rolled back, the
//! account book alone, a wait limit on other writers' locks.

use std::time::Duration;

use plock_core::AccountBook;
use plock_core::store::{Batch, CompanySnapshot, StoreError};

use crate::codec::Context;
use crate::failure::refusal;
use crate::queries::read;
use crate::store::PostgresStore;

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
        let book = crate::store::read_book(&mut tx)?;
        tx.commit().context("ending a read")?;
        Ok(book)
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
