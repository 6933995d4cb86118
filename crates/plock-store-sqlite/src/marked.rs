//! A batch applied on the account book its command read before, when nothing was written
//! since: an import reads the whole book to check its rows, and the batch's rules need a part
//! of the same book (its neighbourhood), so reading it a second time inside the write is
//! spared.
//!
//! Whether anything was written since is SQLite's own answer: `PRAGMA data_version` changes
//! when another connection commits, and the connection's count of changed rows
//! (`sqlite3_total_changes`) when this one writes. Both are read in the read's transaction and
//! again inside the write's, once it holds the write lock; if either moved, the
//! neighbourhood is read as [`Store::apply`](plock_core::Store::apply) reads it.

use plock_core::AccountBook;
use plock_core::store::{Batch, CompanySnapshot, StoreError};
use rusqlite::{Connection, TransactionBehavior};

use crate::SqliteStore;
use crate::codec::Context;

/// The state of the database a book was read in: see [`SqliteStore::company_marked`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookMark {
    /// `PRAGMA data_version` in the read.
    version: i64,
    /// Rows this connection had changed.
    changes: u64,
}

impl BookMark {
    fn of(conn: &Connection) -> Result<BookMark, StoreError> {
        let version = conn
            .pragma_query_value(None, "data_version", |row| row.get::<_, i64>(0))
            .context("reading the data version")?;
        Ok(BookMark {
            version,
            changes: conn.total_changes(),
        })
    }
}

impl SqliteStore {
    /// The company without its usage, as [`SqliteStore::company_without_usage`] reads it, and
    /// the mark of the state it was read in, for [`SqliteStore::apply_on_book`].
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn company_marked(&self) -> Result<(CompanySnapshot, BookMark), StoreError> {
        let tx = self.read()?;
        let company = self.company_in(&tx)?;
        Ok((company, BookMark::of(&tx)?))
    }

    /// The account book, as [`SqliteStore::account_book`] reads it, and the mark of the
    /// state it was read in, for [`SqliteStore::apply_on_book`].
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn account_book_marked(&self) -> Result<(AccountBook, BookMark), StoreError> {
        let tx = self.read()?;
        let book = self.book_in(&tx)?;
        Ok((book, BookMark::of(&tx)?))
    }

    /// Applies `batch` as [`Store::apply`](plock_core::Store::apply) does, taking `book` for
    /// the stored accounts when the database is still in the state `mark` notes. `book` must
    /// be the book read with `mark`, unchanged.
    ///
    /// # Errors
    /// As [`Store::apply`](plock_core::Store::apply).
    pub fn apply_on_book(
        &mut self,
        batch: &Batch,
        book: AccountBook,
        mark: &BookMark,
    ) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database for a batch")?;
        if BookMark::of(&tx)? == *mark {
            crate::write::apply_on(&tx, batch, book)?;
        } else {
            drop(book);
            crate::write::apply(&tx, batch)?;
        }
        tx.commit().context("committing a batch")
    }
}
