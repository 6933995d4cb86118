//! A usage import: blocks of checked records ([`UsageBlock`]) written with one binary `COPY`
//! into `usage_blocks`, in one transaction that holds a share lock on every account, so that
//! none is dismissed or re-keyed before the import commits.
//!
//! The import runs in three stages at once. The caller reads and checks the next blocks; a
//! thread of the import's own, which holds the store's connection until the import ends,
//! gathers the blocks' lines by account key ([`crate::key_blocks`]) and streams them, a row
//! of `usage_blocks` a key, a mebibyte at a time into one `COPY` that lasts the whole
//! import; and the server stores what was sent before. The server's work is most of an import's, so it never waits for
//! the client's: while the thread encodes, the server reads what the socket holds.

use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::thread::JoinHandle;

use bytes::{BufMut, BytesMut};
use plock_core::import::UsageBlock;
use plock_core::store::StoreError;
use postgres::{Client, CopyInWriter};

use crate::codec::{Context, backend};
use crate::failure::{Failure, refusal};
use crate::key_blocks::{KeyBlocks, Row};
use crate::owners::Owners;
use crate::store::PostgresStore;

/// The `usage_blocks` columns an import writes.
const BLOCK_COLUMNS: &str = "owner, account_key, records, csv";

/// Encoded rows written to the connection at a time.
const SEND_BYTES: usize = 1 << 20;

/// Blocks handed over and not yet encoded: a bound on the memory an import holds.
const QUEUE_BLOCKS: usize = 16;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// What the caller hands the import's thread.
enum Message {
    Block(UsageBlock),
    Commit,
}

/// What the import's thread gives back: the connection, and the records committed.
type Outcome = (Client, Result<u64, StoreError>);

impl PostgresStore {
    /// Starts an import of usage in blocks, all in one transaction, committed by
    /// [`UsageImport::commit`]; dropped uncommitted, nothing is written. The blocks' records
    /// must have been checked against the accounts; a key no account holds is refused. The
    /// store's connection belongs to the import until it ends.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the transaction cannot start; a conflict when the
    /// accounts stay locked by another writer.
    pub fn usage_import(&self) -> Result<UsageImport<'_>, StoreError> {
        let mut client = self.take_client()?;
        let owners = match begin(&mut client) {
            Ok(owners) => owners,
            Err(e) => {
                let _ = client.batch_execute("ROLLBACK");
                self.put_client(client);
                return Err(e);
            }
        };
        let (queue, blocks) = sync_channel(QUEUE_BLOCKS);
        let worker = std::thread::Builder::new()
            .name("plock-usage-copy".into())
            .spawn(move || write(client, &owners, &blocks))
            .map_err(|e| backend(format!("starting the usage import's thread: {e}")))?;
        Ok(UsageImport {
            store: self,
            queue: Some(queue),
            worker: Some(worker),
            records: 0,
        })
    }
}

/// Starts the transaction and share-locks every account; each account key's owner.
fn begin(client: &mut Client) -> Result<Owners, StoreError> {
    client
        .batch_execute("BEGIN")
        .context("starting a usage import")?;
    let rows = client
        .query(
            "SELECT key, owner FROM accounts ORDER BY id FOR KEY SHARE",
            &[],
        )
        .map_err(|error| {
            // A lock wait lost to another writer is a conflict, as in a batch.
            let what = "reading the accounts of usage";
            refusal(Failure::Database { what, error }, 0, "usage import")
        })?;
    let mut owners = Owners::with_capacity(rows.len());
    for row in rows {
        let key: String = row.try_get(0).context("reading the accounts of usage")?;
        let owner: String = row.try_get(1).context("reading the accounts of usage")?;
        owners.insert(key, owner);
    }
    Ok(owners)
}

/// The import's thread: streams the blocks into one `COPY`, then commits, or rolls back
/// after a failure or when the import is dropped.
fn write(mut client: Client, owners: &Owners, blocks: &Receiver<Message>) -> Outcome {
    let copied = match client.copy_in(&format!(
        "COPY usage_blocks ({BLOCK_COLUMNS}) FROM STDIN (FORMAT binary)"
    )) {
        Ok(writer) => copy(writer, owners, blocks),
        Err(e) => Err(backend(format!("writing usage: {e}"))),
    };
    let result = match copied {
        Ok(Some(records)) => client
            .batch_execute("COMMIT")
            .context("committing the usage import")
            .map(|()| records),
        Ok(None) => Err(backend("the usage import ended uncommitted")),
        Err(e) => Err(e),
    };
    if result.is_err() {
        // The COPY was abandoned, which fails the transaction: end it. A connection that
        // cannot roll back is broken, and its transaction ends with it.
        let _ = client.batch_execute("ROLLBACK");
    }
    (client, result)
}

/// Streams the blocks into `writer`, a row of `usage_blocks` a key ([`KeyBlocks`]), until
/// the commit (the records sent) or the end of the queue (`None`: the import was dropped).
/// Dropped unfinished, `writer` abandons the `COPY`.
fn copy(
    mut writer: CopyInWriter<'_>,
    owners: &Owners,
    blocks: &Receiver<Message>,
) -> Result<Option<u64>, StoreError> {
    let mut buf = BytesMut::with_capacity(SEND_BYTES.saturating_mul(2));
    buf.put_slice(SIGNATURE);
    buf.put_i32(0);
    buf.put_i32(0);
    let mut keys = KeyBlocks::default();
    let mut write = |row: Row<'_>| {
        encode_row(&mut buf, &row)?;
        if buf.len() >= SEND_BYTES {
            send(&mut writer, &mut buf)?;
        }
        Ok(())
    };
    let mut records: u64 = 0;
    while let Ok(message) = blocks.recv() {
        match message {
            Message::Block(block) => {
                records = records.saturating_add(u64::try_from(block.len()).unwrap_or(u64::MAX));
                keys.add(owners, block, &mut write)?;
            }
            Message::Commit => {
                keys.flush(&mut write)?;
                buf.put_i16(-1);
                send(&mut writer, &mut buf)?;
                writer.finish().context("writing usage")?;
                return Ok(Some(records));
            }
        }
    }
    Ok(None)
}

/// Appends a row of `usage_blocks`, in [`BLOCK_COLUMNS`]' order.
fn encode_row(buf: &mut BytesMut, row: &Row<'_>) -> Result<(), StoreError> {
    let len = |n: usize| i32::try_from(n).map_err(|_| backend("a usage block is too long"));
    buf.put_i16(4);
    for text in [row.owner.as_bytes(), row.key.as_bytes()] {
        buf.put_i32(len(text.len())?);
        buf.put_slice(text);
    }
    buf.put_i32(4);
    buf.put_i32(i32::try_from(row.records).map_err(|_| backend("a usage block is too long"))?);
    buf.put_i32(len(row.lines.len())?);
    buf.put_slice(row.lines);
    Ok(())
}

/// Sends the rows encoded and empties the buffer.
fn send(writer: &mut CopyInWriter<'_>, buf: &mut BytesMut) -> Result<(), StoreError> {
    use std::io::Write;
    writer
        .write_all(buf)
        .and_then(|()| writer.flush())
        .map_err(|e| backend(format!("sending usage: {e}")))?;
    buf.clear();
    Ok(())
}

/// Usage being imported: see [`PostgresStore::usage_import`].
pub struct UsageImport<'s> {
    store: &'s PostgresStore,
    /// Blocks to the import's thread; `None` once the import has ended.
    queue: Option<SyncSender<Message>>,
    worker: Option<JoinHandle<Outcome>>,
    records: u64,
}

impl std::fmt::Debug for UsageImport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageImport")
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl UsageImport<'_> {
    /// Adds a block's records (not yet committed). The block is written while the caller
    /// goes on: a failure to write it, or a key in it that no account holds, is returned by
    /// a later call or by [`UsageImport::commit`].
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an account key no account holds; [`StoreError::Backend`]
    /// when the rows cannot be sent. The import has ended then, and nothing is written.
    pub fn add(&mut self, block: UsageBlock) -> Result<(), StoreError> {
        let records = u64::try_from(block.len()).unwrap_or(u64::MAX);
        let sent = self
            .queue
            .as_ref()
            .is_some_and(|queue| queue.send(Message::Block(block)).is_ok());
        if !sent {
            // The thread stopped at a failure, which is the answer.
            return Err(self.end().err().unwrap_or_else(ended));
        }
        self.records = self.records.saturating_add(records);
        Ok(())
    }

    /// Commits every record added; returns how many.
    ///
    /// # Errors
    /// [`StoreError::NotFound`] or [`StoreError::Backend`], as [`UsageImport::add`] says;
    /// nothing is written then.
    pub fn commit(mut self) -> Result<u64, StoreError> {
        if let Some(queue) = &self.queue {
            // A thread that has stopped answers with its failure below.
            let _ = queue.send(Message::Commit);
        }
        self.end()
    }

    /// Ends the import: waits for its thread, and gives the store its connection back.
    fn end(&mut self) -> Result<u64, StoreError> {
        self.queue = None;
        let Some(worker) = self.worker.take() else {
            return Err(ended());
        };
        match worker.join() {
            Ok((client, result)) => {
                self.store.put_client(client);
                result
            }
            Err(_) => Err(backend(
                "the usage import's thread failed; the connection is closed and nothing \
                 was written",
            )),
        }
    }
}

fn ended() -> StoreError {
    backend("the usage import has already ended")
}

impl Drop for UsageImport<'_> {
    fn drop(&mut self) {
        if self.worker.is_some() {
            // Not committed: the thread rolls back once its queue is closed.
            let _ = self.end();
        }
    }
}
