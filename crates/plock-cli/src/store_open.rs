//! Where the company's data is kept, and the one place that opens it.
//!
//! Commands receive a [`Backend`]: plock-core's [`Store`] port and the few operations an
//! operator's command needs beyond it. The embedded default is SQLite, one database file
//! (`--data`, `$PLOCK_DATA`, `./plock.data`); PostgreSQL (`--store`, `$PLOCK_STORE`) is the
//! other, in [`crate::store_postgres`]. Another store is one more implementation of
//! [`Backend`] and one more arm in [`open`]; no command changes.

use std::path::Path;

use plock_core::AccountBook;
use plock_core::Store;
use plock_core::import::UsageBlock;
use plock_core::store::{Batch, CompanySnapshot, StoreError};
use plock_store_sqlite::{BookMark, SqliteStore};

use crate::backend::Backend;
use crate::exit::{Class, CliError, fail};
use crate::location::Location;
use crate::store_errors::store_failed;

impl Backend for SqliteStore {
    fn account_book(&self) -> Result<AccountBook, StoreError> {
        SqliteStore::account_book(self)
    }

    fn company_without_usage(&self) -> Result<CompanySnapshot, StoreError> {
        SqliteStore::company_without_usage(self)
    }

    fn account_book_marked(&self) -> Result<(AccountBook, Option<BookMark>), StoreError> {
        SqliteStore::account_book_marked(self).map(|(book, mark)| (book, Some(mark)))
    }

    fn company_marked(&self) -> Result<(CompanySnapshot, Option<BookMark>), StoreError> {
        SqliteStore::company_marked(self).map(|(company, mark)| (company, Some(mark)))
    }

    fn apply_on_book(
        &mut self,
        batch: Batch,
        book: AccountBook,
        mark: Option<BookMark>,
    ) -> Result<(), StoreError> {
        match mark {
            Some(mark) => SqliteStore::apply_on_book(self, &batch, book, &mark),
            None => self.apply(batch),
        }
    }

    fn billed_in_arrears(&self) -> Result<Vec<plock_core::Subscription>, StoreError> {
        SqliteStore::billed_in_arrears(self)
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
