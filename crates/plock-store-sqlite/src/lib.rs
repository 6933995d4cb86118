//! plock-store-sqlite: plock-core's [`Store`](plock_core::Store) on one SQLite database file.
//!
//! The schema is meant to be read by an operator with the `sqlite3` shell: one table per
//! kind of thing, one column per field, amounts and quantities as the exact decimal's text.
//! A [`Batch`](plock_core::store::Batch) is one transaction: all of it is written, or none.
//! Readers on other connections see the last committed batch and are never blocked by a
//! writer (write-ahead logging); a second writer waits for the first ([`BUSY_TIMEOUT`]).
//!
//! # Example
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{AccountName, Contact, Tag};
//! use plock_core::store::{Batch, Change, StoreError};
//! use plock_core::{Account, AccountId, AccountKey, Currency, Store};
//! use plock_store_sqlite::SqliteStore;
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut store = SqliteStore::in_memory()?;
//! let account = Account::new(
//!     AccountId::new("dentist-johnson")?,
//!     AccountKey::new("dentist-johnson")?,
//!     AccountName::new("Dentist Johnson")?,
//!     Contact::default(),
//!     Currency::EUR,
//!     NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?,
//! );
//! store.apply(Batch {
//!     changes: vec![
//!         Change::AddAccount { account },
//!         Change::Tag { id: AccountId::new("dentist-johnson")?, tag: Tag::new("dental")? },
//!     ],
//! })?;
//! let stored = store.account(&AccountId::new("dentist-johnson")?)?.ok_or("missing")?;
//! assert!(stored.tags().contains(&Tag::new("Dental")?));
//!
//! // A refused change leaves the database as it was.
//! let refused = store.apply(Batch::one(Change::Approve { id: AccountId::new("dentist-johnson")? }));
//! assert!(matches!(refused, Err(StoreError::Account { index: 0, .. })));
//! # Ok(())
//! # }
//! ```
//!
//! The schema, the migration rule and the reasons for both are in the workspace's
//! `docs/sqlite.md`.
#![deny(missing_docs)]

mod billed_usage;
mod blocks;
mod book_text;
mod codec;
mod deflate;
mod files;
#[cfg(feature = "fuzz-support")]
pub mod fuzzing;
mod invoice_json;
mod key_blocks;
mod key_places;
mod marked;
mod operate;
mod record_ids;
mod run_encode;
mod run_input;
mod run_record;
mod run_streamed;
mod run_usage;
mod schema;
mod store;
mod subscription_rows;
mod subscription_watermarks;
mod watermarks;
mod write;

pub use marked::BookMark;
pub use operate::UsageImport;
pub use schema::{APPLICATION_ID, SCHEMA_VERSION};
pub use store::{BUSY_TIMEOUT, SqliteStore};
