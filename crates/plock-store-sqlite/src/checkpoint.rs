//! The checkpoint of a large batch left to the next connection.
//!
//! In write-ahead logging, a commit is durable once the log is synced; copying the log's
//! pages into the database (the checkpoint) is SQLite's own housekeeping, done by the
//! committing connection when the log is over 1,000 pages and by the last connection to
//! close. A recorded billing run at M writes about 100 MB to the log: its checkpoint writes
//! and syncs those pages again, which is a tenth of the run's time and nothing the run's
//! result waits for.

use plock_core::store::StoreError;
use rusqlite::config::DbConfig;

use crate::codec::Context;
use crate::store::SqliteStore;

impl SqliteStore {
    /// Leaves the checkpoint of this connection's next commits to the next connection:
    /// neither the commit nor the close copies the log into the database. What an earlier
    /// connection left in the log is copied first, as far as readers allow (a passive
    /// checkpoint), so that the log does not grow from one such command to the next.
    ///
    /// The log (`PATH-wal`) then stays beside the database, holding the committed batch,
    /// until another connection's commit (SQLite's automatic checkpoint) or its close, as the
    /// last one, copies it; a reader reads the batch from the log in the meantime, and a
    /// power loss loses nothing (the log was synced at the commit).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when SQLite refuses a setting or the checkpoint fails.
    pub fn leave_checkpoint(&self) -> Result<(), StoreError> {
        let conn = self.conn();
        conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
            .context("copying the log into the database")?;
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .context("leaving the checkpoint to the next connection")?;
        conn.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true)
            .context("leaving the checkpoint to the next connection")?;
        Ok(())
    }
}
