//! plock-store-postgres: plock-core's [`Store`](plock_core::Store) on PostgreSQL 15 or newer.
//!
//! Several plock processes, on several machines, can work on one company at once: every
//! [`Batch`](plock_core::store::Batch) is one transaction, the cross-account rules are checked with
//! the rows they depend on locked, and what locks cannot cover (one key, one external id, one
//! invoice number for two new rows) is a unique constraint. Usage moves in and out with binary
//! `COPY`. Every table that grows with customers carries the invoice owner's account id, so a
//! distributed PostgreSQL (Citus) can shard the company by invoice owner.
//!
//! # Example
//!
//! ```no_run
//! use plock_core::account::{AccountName, Contact};
//! use plock_core::store::{Batch, Change};
//! use plock_core::*;
//! use plock_store_postgres::PostgresStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut store = PostgresStore::create("postgres://plock@localhost/billing")?;
//! let account = Account::new(
//!     AccountId::new("dentist-johnson")?,
//!     AccountKey::new("dentist-johnson")?,
//!     AccountName::new("Dentist Johnson")?,
//!     Contact::default(),
//!     Currency::EUR,
//!     chrono::NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?,
//! );
//! store.apply(Batch::one(Change::AddAccount { account }))?;
//! assert!(store.account(&AccountId::new("dentist-johnson")?)?.is_some());
//! # Ok(())
//! # }
//! ```
//!
//! The schema, the locking, the owner column and the measurements behind the usage paths are
//! in the workspace's `docs/postgres.md`.
#![deny(missing_docs)]

mod billed_usage;
mod bind;
mod check;
mod codec;
mod copy;
mod copy_out;
mod failure;
mod id_strip;
mod import;
mod inserts;
mod key_blocks;
mod made_up_ids;
mod operate;
mod owners;
mod queries;
mod run;
mod run_read;
mod schema;
mod store;
mod subscription_rows;
mod subscription_writes;
pub mod testing;
mod usage;
mod usage_read;
mod watermarks;
mod write;

use plock_core::UsageTable;
use plock_core::store::{CompanySnapshot, StoreError};

pub use import::UsageImport;
pub use schema::SCHEMA_VERSION;
pub use store::PostgresStore;
pub use write::RETRIES;

use crate::codec::Context;

impl PostgresStore {
    /// Every usage record, packed in a usage table, from one committed state.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn usage_table(&self) -> Result<UsageTable, StoreError> {
        let mut client = self.client()?;
        let mut tx = queries::read(&mut client)?;
        let book = store::read_book(&mut tx)?;
        let usage = usage_read::usage_table(&mut tx, &book)?;
        tx.commit().context("ending a read")?;
        Ok(usage)
    }

    /// What a billing run reads, from one committed state: the accounts, subscriptions and
    /// metrics (the snapshot's `usage` left empty), and every usage record packed in a usage
    /// table, the blocks' text streamed into plock-core's parallel usage reader. The records
    /// never exist one by one in memory. A second connection in the same snapshot reads the
    /// subscriptions, metrics and billed usage meanwhile.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn billing_input(&self) -> Result<(CompanySnapshot, UsageTable), StoreError> {
        run_read::billing_input(self)
    }
}
