//! A usage import: blocks of checked records ([`UsageBlock`]) written with binary `COPY`, in
//! one transaction that holds a share lock on every account, so that none is dismissed or
//! re-keyed before the import commits.
//!
//! The rows of several blocks are encoded into one buffer and sent with one `COPY` once it
//! holds [`COPY_BYTES`]: a statement per few hundred thousand rows rather than per block.

use std::cell::RefMut;
use std::collections::HashMap;
use std::io::Write;

use bytes::{BufMut, BytesMut};
use plock_core::import::UsageBlock;
use plock_core::store::StoreError;
use postgres::Client;
use postgres::types::{IsNull, ToSql, Type};

use crate::codec::{Context, USAGE_COLUMNS, backend, split_time, unix_day};
use crate::failure::Failure;
use crate::failure::refusal;
use crate::store::PostgresStore;

/// Encoded rows sent at a time, each time with one `COPY`.
const COPY_BYTES: usize = 16 << 20;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

impl PostgresStore {
    /// Starts an import of usage in blocks, all in one transaction, committed by
    /// [`UsageImport::commit`]; dropped uncommitted, nothing is written. The blocks' records
    /// must have been checked against the accounts; a key no account holds is refused.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the transaction cannot start.
    pub fn usage_import(&self) -> Result<UsageImport<'_>, StoreError> {
        let mut client = self.client()?;
        client
            .batch_execute("BEGIN")
            .context("starting a usage import")?;
        let mut import = UsageImport {
            client,
            owners: HashMap::new(),
            buf: BytesMut::new(),
            records: 0,
            open: true,
        };
        let rows = import
            .client
            .query(
                "SELECT key, owner FROM accounts ORDER BY id FOR KEY SHARE",
                &[],
            )
            .map_err(|error| {
                // A lock wait lost to another writer is a conflict, as in a batch.
                let what = "reading the accounts of usage";
                refusal(Failure::Database { what, error }, 0, "usage import")
            })?;
        for row in rows {
            let key: String = row.try_get(0).context("reading the accounts of usage")?;
            let owner: String = row.try_get(1).context("reading the accounts of usage")?;
            import.owners.insert(key, owner);
        }
        Ok(import)
    }
}

/// Usage being imported: see [`PostgresStore::usage_import`].
pub struct UsageImport<'s> {
    client: RefMut<'s, Client>,
    /// Each account key's invoice owner.
    owners: HashMap<String, String>,
    /// Rows encoded and not yet sent.
    buf: BytesMut,
    records: u64,
    /// In a transaction not yet ended.
    open: bool,
}

impl std::fmt::Debug for UsageImport<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UsageImport")
            .field("records", &self.records)
            .finish_non_exhaustive()
    }
}

impl UsageImport<'_> {
    /// Adds a block's records (not yet committed).
    ///
    /// # Errors
    /// [`StoreError::NotFound`] for an account key no account holds; [`StoreError::Backend`]
    /// when the rows cannot be sent.
    pub fn add(&mut self, block: &UsageBlock) -> Result<(), StoreError> {
        let (owners, buf) = (&self.owners, &mut self.buf);
        block.for_each_record(|r| {
            let owner = owners.get(r.account).ok_or_else(|| StoreError::NotFound {
                index: 0,
                what: "account key",
                id: r.account.to_owned(),
            })?;
            let (at, nanos) = split_time(r.timestamp);
            buf.put_i16(8);
            text(buf, owner)?;
            text(buf, r.account)?;
            text(buf, r.metric)?;
            buf.put_i32(4);
            buf.put_i32(unix_day(r.timestamp.date_naive()));
            value(buf, &at, &Type::TIMESTAMPTZ)?;
            buf.put_i32(2);
            buf.put_i16(nanos);
            value(buf, &r.quantity, &Type::NUMERIC)?;
            match r.record_id {
                Some(id) => text(buf, id)?,
                None => buf.put_i32(-1),
            }
            Ok::<(), StoreError>(())
        })?;
        self.records = self
            .records
            .saturating_add(u64::try_from(block.len()).unwrap_or(u64::MAX));
        if self.buf.len() >= COPY_BYTES {
            self.send()?;
        }
        Ok(())
    }

    /// Sends the rows encoded with one `COPY`.
    fn send(&mut self) -> Result<(), StoreError> {
        if self.buf.is_empty() {
            return Ok(());
        }
        let mut writer = self
            .client
            .copy_in(&format!(
                "COPY usage ({USAGE_COLUMNS}) FROM STDIN (FORMAT binary)"
            ))
            .context("writing usage")?;
        let mut head = Vec::with_capacity(19);
        head.extend_from_slice(SIGNATURE);
        head.extend_from_slice(&[0; 8]);
        let sent = writer
            .write_all(&head)
            .and_then(|()| writer.write_all(&self.buf))
            .and_then(|()| writer.write_all(&(-1i16).to_be_bytes()));
        sent.map_err(|e| backend(format!("sending usage: {e}")))?;
        writer.finish().context("writing usage")?;
        self.buf.clear();
        Ok(())
    }

    /// Commits every record added; returns how many.
    ///
    /// # Errors
    /// [`StoreError::Backend`]; nothing is written then.
    pub fn commit(mut self) -> Result<u64, StoreError> {
        self.send()?;
        self.open = false;
        self.client
            .batch_execute("COMMIT")
            .context("committing the usage import")?;
        Ok(self.records)
    }
}

impl Drop for UsageImport<'_> {
    fn drop(&mut self) {
        if self.open {
            // Not committed: nothing is written. A connection that cannot roll back is
            // broken, and its transaction ends with it.
            let _ = self.client.batch_execute("ROLLBACK");
        }
    }
}

/// A text field.
fn text(buf: &mut BytesMut, value: &str) -> Result<(), StoreError> {
    let len = i32::try_from(value.len()).map_err(|_| backend("a text value is too long"))?;
    buf.put_i32(len);
    buf.put_slice(value.as_bytes());
    Ok(())
}

/// A value in the binary form its [`ToSql`] writes for `ty`.
fn value(buf: &mut BytesMut, value: &(dyn ToSql + Sync), ty: &Type) -> Result<(), StoreError> {
    let at = buf.len();
    buf.put_i32(0);
    let written = value
        .to_sql_checked(ty, buf)
        .map_err(|e| backend(format!("encoding {ty}: {e}")))?;
    let len = match written {
        IsNull::Yes => -1,
        IsNull::No => {
            i32::try_from(buf.len().saturating_sub(at).saturating_sub(4)).unwrap_or(i32::MAX)
        }
    };
    if let Some(slot) = buf.get_mut(at..at.saturating_add(4)) {
        slot.copy_from_slice(&len.to_be_bytes());
    }
    Ok(())
}
