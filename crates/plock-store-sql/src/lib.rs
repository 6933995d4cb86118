//! plock-store-sql: what plock's two SQL stores (`plock-store-sqlite`, `plock-store-postgres`)
//! do the same way, without a database driver.
//!
//! - [`codec`]: scalars to and from their stored text, and stored values read back into
//!   domain values, validated, with errors that name the thing, the field and the value;
//! - [`rows`]: what each column of the `accounts`, `subscriptions` and `invoices` tables
//!   holds, asked for by column name ([`Row::values`]);
//! - [`batch`], [`neighbourhood`] and [`plan`]: a [`Batch`](plock_core::store::Batch) applied through a store's
//!   [`Writer`]: its neighbourhood read into an account book, the changes checked against
//!   it, and the account rows that differ planned into per-table writes;
//! - [`read`]: pages and tag filters for the reads; [`error`]: failures as
//!   [`StoreError::Backend`](plock_core::store::StoreError::Backend).
//!
//! Each store keeps what differs: its driver, its dialect (`?1` or `$1`, `json_each` or
//! `ANY`), its schema and migrations, its bulk paths (SQLite's usage blocks, PostgreSQL's
//! binary `COPY`) and PostgreSQL's locks and `owner` column.
//!
//! # Why values by column name
//!
//! The two schemas differ (PostgreSQL keeps a whole subscription as JSON beside an `owner`
//! column; SQLite spreads it over columns), so one row struct per table would be wrong for
//! one of them, and two structs with a field-by-field binding each would be the copies this
//! crate removes. A row here knows what every column of its table holds; a store lists its
//! columns once, in its schema's order, and binds the [`SqlValue`]s it gets back with one
//! small conversion to its driver's types. A store's reads decode its own row layout and
//! hand plain values to [`codec`], which validates them.
//!
//! # Example
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{AccountName, Contact};
//! use plock_core::{Account, AccountId, AccountKey, Currency};
//! use plock_store_sql::{AccountRow, Row, SqlValue};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let account = Account::new(
//!     AccountId::new("acme")?,
//!     AccountKey::new("acme-key")?,
//!     AccountName::new("Acme")?,
//!     Contact::default(),
//!     Currency::EUR,
//!     NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?,
//! );
//! let row = AccountRow { account: &account, owner: account.id() };
//! let values = row.values(&["id", "key", "currency", "master"])?;
//! assert_eq!(
//!     values,
//!     [
//!         SqlValue::Text("acme".into()),
//!         SqlValue::Text("acme-key".into()),
//!         SqlValue::Text("EUR".into()),
//!         SqlValue::Null,
//!     ]
//! );
//! assert!(row.value("colour").is_err());
//! # Ok(())
//! # }
//! ```
#![deny(missing_docs)]

pub mod batch;
pub mod billed_usage;
pub mod codec;
pub mod error;
pub mod neighbourhood;
pub mod plan;
pub mod read;
pub mod rows;
pub mod sql;
pub mod value;
pub mod watermarks;
pub mod writer;

pub use rows::{AccountRow, InvoiceRow, Row, SubscriptionRow};
pub use value::SqlValue;
pub use writer::Writer;
