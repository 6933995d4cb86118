//! Binary `COPY … TO STDOUT` streams read a row and a field at a time: PostgreSQL's binary
//! format, a signature and header, then each row as its field count and each field as its
//! length and bytes (length -1 for NULL), ended by a count of -1.

use std::io::Read;

use plock_core::store::StoreError;
use postgres::types::{FromSql, Type};

use crate::codec::{Context, backend};

/// A binary `COPY … TO STDOUT` stream, read a row and a field at a time into one buffer.
pub(crate) struct CopyOutRows<R> {
    reader: R,
    field: Vec<u8>,
    null: bool,
}

impl<R: Read> CopyOutRows<R> {
    pub(crate) fn new(mut reader: R) -> Result<CopyOutRows<R>, StoreError> {
        let mut header = [0u8; 19];
        reader.read_exact(&mut header).context("reading usage")?;
        if header.get(..11) != Some(b"PGCOPY\n\xff\r\n\0".as_slice()) {
            return Err(backend("the server's binary COPY has an unknown signature"));
        }
        let extension = header
            .get(15..19)
            .map_or(0, |b| u32::from_be_bytes(b.try_into().unwrap_or_default()));
        std::io::copy(
            &mut (&mut reader).take(u64::from(extension)),
            &mut std::io::sink(),
        )
        .context("reading usage")?;
        Ok(CopyOutRows {
            reader,
            field: Vec::new(),
            null: false,
        })
    }

    /// Starts the next row, `false` at the end; a row must have `fields` fields.
    pub(crate) fn next_row(&mut self, fields: i16) -> Result<bool, StoreError> {
        let mut count = [0u8; 2];
        self.reader
            .read_exact(&mut count)
            .context("reading usage")?;
        match i16::from_be_bytes(count) {
            -1 => Ok(false),
            n if n == fields => Ok(true),
            n => Err(backend(format!(
                "a usage row of {n} fields, {fields} expected"
            ))),
        }
    }

    /// The next field's bytes, `None` for NULL.
    pub(crate) fn field(&mut self) -> Result<Option<&[u8]>, StoreError> {
        let mut len = [0u8; 4];
        self.reader.read_exact(&mut len).context("reading usage")?;
        let len = i32::from_be_bytes(len);
        self.null = len < 0;
        if self.null {
            return Ok(None);
        }
        let len = usize::try_from(len).unwrap_or(0);
        self.field.clear();
        // Read into the buffer's spare room: a block's text is never zeroed first.
        let read = (&mut self.reader)
            .take(u64::try_from(len).unwrap_or(u64::MAX))
            .read_to_end(&mut self.field)
            .context("reading usage")?;
        if read != len {
            return Err(backend("the server's binary COPY ended inside a field"));
        }
        Ok(Some(&self.field))
    }

    /// The next field, not NULL, decoded as `ty`.
    pub(crate) fn decode<T: for<'a> FromSql<'a>>(
        &mut self,
        ty: &Type,
        what: &str,
    ) -> Result<T, StoreError> {
        let bytes = self
            .field()?
            .ok_or_else(|| backend(format!("stored {what} is NULL")))?;
        T::from_sql(ty, bytes).map_err(|e| backend(format!("stored {what} is invalid: {e}")))
    }
}
