//! What a billing run reads: the account book, the subscriptions, the metrics, what earlier
//! runs billed of usage, and every usage record packed into the engine's table, all in one
//! read transaction.
//!
//! Reading and decoding overlap where they can: SQLite is read on the calling thread only
//! (one connection, one snapshot), and what is read is decoded on other threads while the
//! next table is read. The accounts' text is parsed into the book while the subscriptions
//! are read; the subscriptions are decoded while the usage blocks are read into the table,
//! which needs the book.

use plock_core::UsageTable;
use plock_core::store::{CompanySnapshot, StoreError};
use rusqlite::Connection;

use crate::codec::backend;
use crate::store::{SqliteStore, read_metrics};

impl SqliteStore {
    /// Everything a billing run reads, in `tx` (a read transaction of this store's
    /// connection).
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a failed read or a stored value that is refused.
    pub(crate) fn read_run_input(
        &self,
        tx: &Connection,
    ) -> Result<(CompanySnapshot, UsageTable), StoreError> {
        let (accounts, dismissed) = self.book_text_in(tx)?;
        std::thread::scope(|scope| {
            let book = scope.spawn(move || accounts.finish(&dismissed));
            let subscriptions = crate::subscription_rows::encoded_where(tx, "1 ORDER BY id", &[])?;
            let metrics = read_metrics(tx)?;
            let billed_usage = crate::billed_usage::read(tx)?;
            let decoding = scope.spawn(move || crate::subscription_rows::decode_all(subscriptions));
            let accounts = book
                .join()
                .unwrap_or_else(|_| Err(backend("reading the account book failed")))?;
            let usage = crate::run_usage::usage_table(tx, &accounts);
            let subscriptions = decoding
                .join()
                .unwrap_or_else(|_| Err(backend("decoding the subscriptions failed")));
            let company = CompanySnapshot {
                accounts,
                subscriptions: subscriptions?,
                metrics,
                usage: Vec::new(),
                billed_usage,
            };
            Ok((company, usage?))
        })
    }
}
