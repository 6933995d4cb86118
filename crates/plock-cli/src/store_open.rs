//! Where the company's data is kept, and the one place that opens it.
//!
//! Commands receive a [`Backend`]: plock-core's [`Store`] port and the few operations an
//! operator's command needs beyond it. The embedded default is SQLite, one database file
//! (`--data`, `$PLOCK_DATA`, `./plock.data`); PostgreSQL (`--store`, `$PLOCK_STORE`) is the
//! other, in [`crate::store_postgres`]. Another store is one more implementation of
//! [`Backend`] and one more arm in [`open`]; no command changes.

use std::path::Path;

use plock_core::import::UsageBlock;
use plock_core::store::{Batch, CompanySnapshot, StoreError};
use plock_core::{AccountBook, Store};
use plock_store_sqlite::SqliteStore;

use crate::exit::{Class, CliError, fail};
use crate::location::Location;

/// A store as the commands use it.
pub trait Backend: Store {
    /// The accounts and dismissed keys, without subscriptions or usage.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn account_book(&self) -> Result<AccountBook, StoreError>;
    /// Everything but usage (`usage` is empty).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn company_without_usage(&self) -> Result<CompanySnapshot, StoreError>;
    /// What [`Store::apply`] would refuse; writes nothing.
    ///
    /// # Errors
    /// The first refused change.
    fn dry_run(&mut self, batch: &Batch) -> Result<(), StoreError>;
    /// Adds the blocks of checked records `next` yields, one after another, in one
    /// transaction, committed only if `next` ends with `Ok(None)`; an `Err` from `next`
    /// leaves the store unchanged. Returns the records written.
    ///
    /// # Errors
    /// `next`'s error, or [`StoreError::Backend`] (nothing written in either case).
    fn add_usage_in_chunks(
        &mut self,
        next: &mut dyn FnMut() -> Result<Option<UsageBlock>, CliError>,
    ) -> Result<u64, CliError>;
    /// The store's own check of everything it holds; `Ok` when nothing is wrong.
    ///
    /// # Errors
    /// The first problem found.
    fn check(&self) -> Result<(), StoreError>;
    /// A consistent copy in a new file at `path`, taken while others go on writing.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    fn backup(&self, path: &Path) -> Result<(), StoreError>;
}

impl Backend for SqliteStore {
    fn account_book(&self) -> Result<AccountBook, StoreError> {
        SqliteStore::account_book(self)
    }

    fn company_without_usage(&self) -> Result<CompanySnapshot, StoreError> {
        SqliteStore::company_without_usage(self)
    }

    fn dry_run(&mut self, batch: &Batch) -> Result<(), StoreError> {
        SqliteStore::dry_run(self, batch)
    }

    fn add_usage_in_chunks(
        &mut self,
        next: &mut dyn FnMut() -> Result<Option<UsageBlock>, CliError>,
    ) -> Result<u64, CliError> {
        let mut import = self.usage_import().map_err(store_failed)?;
        while let Some(block) = next()? {
            import.add_block(&block).map_err(store_failed)?;
        }
        import.commit().map_err(store_failed)
    }

    fn check(&self) -> Result<(), StoreError> {
        SqliteStore::check(self)
    }

    fn backup(&self, path: &Path) -> Result<(), StoreError> {
        self.backup_to(path)
    }
}

/// A store failure as the command reports it: a database another process holds is a
/// conflict, anything else an I/O failure.
pub fn store_failed(e: StoreError) -> CliError {
    let message = e.to_string();
    let waited = plock_store_sqlite::BUSY_TIMEOUT.as_secs();
    if message.contains("database is locked") {
        fail(
            Class::Conflict,
            format!(
                "the data file is locked by another plock process (waited {waited} s); try again"
            ),
        )
    } else if message.contains("lock timeout") {
        fail(
            Class::Conflict,
            format!(
                "rows this command changes are locked by another plock process (waited the \
                 store's lock timeout, {waited} s unless the connection sets one); try again"
            ),
        )
    } else {
        fail(Class::Io, message)
    }
}

/// Opens the store at `location`, which must exist (`plock init` creates it).
///
/// # Errors
/// Not found when there is nothing there; I/O when it is not a plock database.
pub fn open(location: &Location) -> Result<Box<dyn Backend>, CliError> {
    let path = match location {
        Location::File(path) => path,
        Location::Postgres(connection) => return crate::store_postgres::open(connection),
    };
    if !path.exists() {
        return Err(fail(
            Class::NotFound,
            format!(
                "no data file at {}; run `plock init` to create one, or pass --data",
                path.display()
            ),
        ));
    }
    let store = SqliteStore::open(path).map_err(|e| named(path, e))?;
    Ok(Box::new(store))
}

/// Creates a new, empty store at `location`; `command` names who refuses to overwrite.
///
/// # Errors
/// Conflict when something is there already (a file or a symbolic link, never followed; a
/// database with plock's schema).
pub fn create(location: &Location, command: &str) -> Result<Box<dyn Backend>, CliError> {
    let path = match location {
        Location::File(path) => path,
        Location::Postgres(connection) => {
            return crate::store_postgres::create(connection, command);
        }
    };
    if path.symlink_metadata().is_ok() {
        return Err(fail(
            Class::Conflict,
            format!(
                "data file {} already exists; {command} never overwrites",
                path.display()
            ),
        ));
    }
    let store = SqliteStore::create(path).map_err(|e| named(path, e))?;
    Ok(Box::new(store))
}

/// A new store in memory, gone when the command ends: the demo's.
///
/// # Errors
/// I/O when SQLite fails.
pub fn in_memory() -> Result<Box<dyn Backend>, CliError> {
    Ok(Box::new(SqliteStore::in_memory().map_err(store_failed)?))
}

fn named(path: &Path, e: StoreError) -> CliError {
    store_failed(e).prefixed(format!("data file {}: ", path.display()))
}
