//! What an operator's command needs beyond the port: a batch tried and rolled back, the
//! account book alone, usage imported in chunks in one transaction, an online backup.

use std::path::Path;
use std::time::Duration;

use plock_core::store::{Batch, CompanySnapshot, StoreError};
use plock_core::{AccountBook, UsageRecord};
use rusqlite::backup::{Backup, StepResult};
use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};

use crate::SqliteStore;
use crate::codec::{Context, backend};
use crate::files::create_private;
use crate::key_blocks::KeyBlocks;
use crate::key_places::KeyPlaces;

/// The page cache an import works with, in KiB. An import appends blocks and writes its key
/// rows in key order, so a page is written once and rarely read again: a larger cache only
/// holds written pages longer (256 MiB of them raised the peak by as much, for no gain).
const IMPORT_CACHE_KIB: i64 = 32 * 1024;
/// How many times a backup retries a step the source's lock refused.
const BACKUP_TRIES: u32 = 100;
/// The pause between two such tries.
const BACKUP_PAUSE: Duration = Duration::from_millis(100);

impl SqliteStore {
    /// Applies `batch` inside a transaction and rolls it back: what [`Store::apply`] would
    /// refuse, without writing anything.
    ///
    /// [`Store::apply`]: plock_core::Store::apply
    ///
    /// # Errors
    /// The first refused change, as [`Store::apply`] returns it.
    pub fn dry_run(&mut self, batch: &Batch) -> Result<(), StoreError> {
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database for a batch")?;
        crate::write::apply(&tx, batch)?;
        tx.rollback().context("rolling back a dry run")
    }

    /// The accounts and dismissed keys, without subscriptions or usage.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn account_book(&self) -> Result<AccountBook, StoreError> {
        let tx = self.read()?;
        self.book_in(&tx)
    }

    /// The company without its usage (`usage` is empty): what exports and subscription
    /// imports read.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn company_without_usage(&self) -> Result<CompanySnapshot, StoreError> {
        let tx = self.read()?;
        self.company_in(&tx)
    }

    /// The subscriptions billed in arrears for some period: those usage can arrive late for.
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn billed_in_arrears(&self) -> Result<Vec<plock_core::Subscription>, StoreError> {
        let tx = self.read()?;
        crate::write::subscriptions_where(&tx, "w.in_arrears IS NOT NULL ORDER BY id", &[])
    }

    /// Starts an import of usage records in chunks, all in one transaction that holds the
    /// write lock until [`UsageImport::commit`]; dropped uncommitted, nothing is written.
    /// The records' account keys must have been checked against the accounts (the foreign
    /// key to `accounts (key)` refuses the commit otherwise).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the write lock cannot be taken.
    pub fn usage_import(&mut self) -> Result<UsageImport<'_>, StoreError> {
        // The key rows go in key order into an index that holds earlier imports' rows: with
        // SQLite's default 2 MiB of cache (31 pages of 64 KiB) an insert would often read
        // its page from disk again. The command ends with the import, so the cache goes with
        // it.
        self.conn()
            .pragma_update(None, "cache_size", IMPORT_CACHE_KIB.saturating_neg())
            .context("sizing the page cache for an import")?;
        let tx = self
            .conn_mut()
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database for an import")?;
        Ok(UsageImport {
            tx,
            records: 0,
            keys: KeyBlocks::default(),
            places: KeyPlaces::default(),
        })
    }

    /// Copies the database to a new file at `path` with SQLite's online backup: one
    /// consistent state, taken while other processes go on writing. `path` must not exist
    /// (a file or a symbolic link there is refused, never followed or overwritten); the copy
    /// is readable by its owner only.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when `path` exists or the copy fails (the new file is then
    /// removed).
    pub fn backup_to(&self, path: &Path) -> Result<(), StoreError> {
        create_private(path).context(&format!("creating {}", path.display()))?;
        self.copy_to(path).inspect_err(|_| {
            // The file is ours and incomplete; the copy's error is the one to report.
            let _ = std::fs::remove_file(path);
        })
    }

    fn copy_to(&self, path: &Path) -> Result<(), StoreError> {
        let mut dest = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_NOFOLLOW,
        )
        .context(&format!("opening {}", path.display()))?;
        let backup = Backup::new(self.conn(), &mut dest).context("starting the backup")?;
        for _ in 0..BACKUP_TRIES {
            // Every page in one step: the copy is one committed state of the source.
            match backup.step(-1).context("copying the database")? {
                StepResult::Done => return Ok(()),
                StepResult::More | StepResult::Busy | StepResult::Locked => {
                    std::thread::sleep(BACKUP_PAUSE);
                }
                _ => {}
            }
        }
        Err(backend(
            "the backup could not read the database: it stayed locked",
        ))
    }
}

/// Usage records being imported: see [`SqliteStore::usage_import`].
#[derive(Debug)]
pub struct UsageImport<'a> {
    tx: Transaction<'a>,
    records: u64,
    keys: KeyBlocks,
    places: KeyPlaces,
}

impl UsageImport<'_> {
    /// Writes `records` as one block of usage (not yet committed).
    ///
    /// # Errors
    /// [`StoreError::Backend`] when a row cannot be written.
    pub fn add(&mut self, records: &[UsageRecord]) -> Result<(), StoreError> {
        crate::blocks::write(&self.tx, records, &mut self.keys)?;
        self.records = self
            .records
            .saturating_add(u64::try_from(records.len()).unwrap_or(u64::MAX));
        Ok(())
    }

    /// Writes a block of checked records as one block of usage (not yet committed), its
    /// text as it is.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when it cannot be written.
    pub fn add_block(&mut self, block: &plock_core::import::UsageBlock) -> Result<(), StoreError> {
        crate::blocks::write_block(&self.tx, block, &mut self.keys, &mut self.places)?;
        self.records = self
            .records
            .saturating_add(u64::try_from(block.len()).unwrap_or(u64::MAX));
        Ok(())
    }

    /// Commits every record added; returns how many.
    ///
    /// # Errors
    /// [`StoreError::Backend`], for instance when an account key no longer names an account.
    pub fn commit(mut self) -> Result<u64, StoreError> {
        self.keys.flush(&self.tx)?;
        self.places.flush(&self.tx)?;
        self.tx.commit().context("committing the usage import")?;
        Ok(self.records)
    }
}
