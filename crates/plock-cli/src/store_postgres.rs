//! The PostgreSQL store as the commands use it: a [`Backend`] on
//! [`plock_store_postgres::PostgresStore`].

use std::path::Path;

use plock_core::AccountBook;
use plock_core::import::UsageBlock;
use plock_core::store::{Batch, CompanySnapshot, StoreError};
use plock_store_postgres::PostgresStore;

use crate::backend::Backend;
use crate::exit::{Class, CliError, fail};
use crate::location::Connection;

/// What `plock backup` says on PostgreSQL: the server's own tools copy a database while
/// others write, with the server's permissions and formats, which a copy by plock would not
/// improve on.
pub const BACKUP_ELSEWHERE: &str = "plock backup copies a SQLite data file; back up a \
     PostgreSQL store with the server's tools: `pg_dump --format=custom` for one consistent \
     copy taken while others write (restore with `pg_restore`), or continuous archiving for \
     point-in-time recovery";

impl Backend for PostgresStore {
    fn account_book(&self) -> Result<AccountBook, StoreError> {
        PostgresStore::account_book(self)
    }

    fn company_without_usage(&self) -> Result<CompanySnapshot, StoreError> {
        PostgresStore::company_without_usage(self)
    }

    fn dry_run(&mut self, batch: &Batch) -> Result<(), StoreError> {
        PostgresStore::dry_run(self, batch)
    }

    fn add_usage_in_chunks(
        &mut self,
        next: &mut dyn FnMut() -> Result<Option<UsageBlock>, CliError>,
    ) -> Result<u64, CliError> {
        let mut import = self
            .usage_import()
            .map_err(crate::store_errors::store_error)?;
        while let Some(block) = next()? {
            import
                .add(block)
                .map_err(crate::store_errors::store_error)?;
        }
        import.commit().map_err(crate::store_errors::store_error)
    }

    fn check(&self) -> Result<(), StoreError> {
        PostgresStore::check(self)
    }

    fn backup(&self, _path: &Path) -> Result<(), StoreError> {
        Err(StoreError::Backend {
            message: BACKUP_ELSEWHERE.to_owned(),
        })
    }
}

/// Connects to the company's database, which must hold plock's schema (`plock init`
/// creates it). A statement waits for another writer's locks as long as a SQLite writer
/// waits for the data file (unless the connection sets its own `lock_timeout`), then fails
/// as a conflict.
///
/// # Errors
/// Not found when the database holds no plock schema; I/O when the server cannot be reached
/// or the schema is foreign or newer than this plock.
pub fn open(connection: &Connection) -> Result<Box<dyn Backend>, CliError> {
    let store = PostgresStore::open(connection.config()).map_err(|e| {
        let class = if e.to_string().contains("holds no plock company") {
            Class::NotFound
        } else {
            Class::Io
        };
        named(connection, class, e, "")
    })?;
    ready(connection, store)
}

/// Creates plock's schema in a database that holds none; `command` names who refuses a
/// database that already holds one.
///
/// # Errors
/// Conflict when the database already holds plock's schema (of any version, a newer one
/// included); I/O when the server cannot be reached or the database holds foreign tables
/// under plock's names.
pub fn create(connection: &Connection, command: &str) -> Result<Box<dyn Backend>, CliError> {
    let store = PostgresStore::create(connection.config()).map_err(|e| {
        if e.to_string().contains("already holds a plock company") {
            let tail = format!("; {command} never changes an existing company");
            named(connection, Class::Conflict, e, &tail)
        } else {
            named(connection, Class::Io, e, "")
        }
    })?;
    ready(connection, store)
}

fn ready(connection: &Connection, store: PostgresStore) -> Result<Box<dyn Backend>, CliError> {
    store
        .limit_lock_wait(plock_store_sqlite::BUSY_TIMEOUT)
        .map_err(|e| named(connection, Class::Io, e, ""))?;
    Ok(Box::new(store))
}

/// A failure to open, naming the database with its password hidden, and hiding the password
/// wherever the server's or the client's message repeats it; `tail` ends the message.
fn named(connection: &Connection, class: Class, e: StoreError, tail: &str) -> CliError {
    let message = match e {
        StoreError::Backend { message } => message,
        other => other.to_string(),
    };
    fail(class, connection.scrub(&format!("{message}{tail}")))
        .prefixed(format!("PostgreSQL store {}: ", connection.shown()))
}
