//! What a billing run reads: the account book, the subscriptions, the metrics, what earlier
//! runs billed of usage, and every usage record packed into the engine's table, all in one
//! read transaction.
//!
//! Reading and decoding overlap where they can: SQLite is read on the calling thread only
//! (one connection, one snapshot), and what is read is decoded on other threads while the
//! next table is read. The accounts' text is parsed into the book while the subscriptions
//! are read; the subscriptions are decoded on the pool as they are read, a batch at a time,
//! and while the usage blocks are read into the table, which needs the book.

use std::sync::mpsc::sync_channel;
use std::thread::{Scope, ScopedJoinHandle};

use plock_core::store::{CompanySnapshot, StoreError};
use plock_core::{Subscription, UsageTable};
use rusqlite::Connection;

use crate::codec::backend;
use crate::store::{SqliteStore, read_metrics};
use crate::subscription_rows::Encoded;

/// Subscription rows read before they are handed to be decoded: the first batch is decoded
/// while the next are read.
const ROWS_A_BATCH: usize = 4096;

/// Batches of read rows waiting to be decoded, at most (about 4 MB each at M).
const BATCHES_AHEAD: usize = 8;

/// Every subscription, in order of id, read on this thread and decoded on the pool while the
/// rest are read (SQLite's reads and the accounts' parsing alone keep a core busy).
///
/// # Errors
/// [`StoreError::Backend`] for a failed read; a refused subscription is the thread's error.
fn subscriptions_while_read<'scope>(
    scope: &'scope Scope<'scope, '_>,
    tx: &Connection,
) -> Result<ScopedJoinHandle<'scope, Result<Vec<Subscription>, StoreError>>, StoreError> {
    let (to, from) = sync_channel::<Vec<Encoded>>(BATCHES_AHEAD);
    let decoding = scope.spawn(move || {
        let mut decoded = Vec::new();
        for batch in from {
            decoded.extend(crate::subscription_rows::decode_all(batch)?);
        }
        Ok(decoded)
    });
    // A send fails only when decoding has stopped at a refused row: its error is the one
    // the join returns.
    crate::subscription_rows::encoded_in_batches(
        tx,
        "1 ORDER BY id",
        &[],
        ROWS_A_BATCH,
        |batch| to.send(batch).is_ok(),
    )?;
    Ok(decoding)
}

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
            let decoding = subscriptions_while_read(scope, tx)?;
            let metrics = read_metrics(tx)?;
            let billed_usage = crate::billed_usage::read(tx)?;
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
