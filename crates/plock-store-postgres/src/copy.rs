//! Rows encoded in PostgreSQL's binary `COPY` format into one buffer, sent a mebibyte at a
//! time. The client's own row writer waits on its connection for every row; this one only
//! for every mebibyte, which is most of the difference between a few hundred thousand rows a
//! second and over a million.
//!
//! The format: a signature and two zero words; each row a field count, then each field its
//! length (`-1` for NULL) and its bytes in the type's binary form; `-1` at the end.

use std::io::Write;

use bytes::{BufMut, BytesMut};
use postgres::CopyInWriter;
use postgres::types::{IsNull, ToSql, Type};

use crate::failure::{Db, Failure};

/// How much is encoded before it is sent.
const FLUSH_BYTES: usize = 1 << 20;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// A binary `COPY … FROM STDIN` in progress.
pub(crate) struct CopyRows<'a> {
    writer: CopyInWriter<'a>,
    buf: BytesMut,
}

impl<'a> CopyRows<'a> {
    pub(crate) fn new(writer: CopyInWriter<'a>) -> CopyRows<'a> {
        let mut buf = BytesMut::with_capacity(FLUSH_BYTES + (64 << 10));
        buf.put_slice(SIGNATURE);
        buf.put_i32(0);
        buf.put_i32(0);
        CopyRows { writer, buf }
    }

    /// Starts a row of `fields` fields.
    pub(crate) fn row(&mut self, fields: i16) -> Result<(), Failure> {
        if self.buf.len() >= FLUSH_BYTES {
            self.flush()?;
        }
        self.buf.put_i16(fields);
        Ok(())
    }

    pub(crate) fn text(&mut self, value: &str) -> Result<(), Failure> {
        let len = i32::try_from(value.len())
            .map_err(|_| Failure::Refused(crate::codec::backend("a text value is too long")))?;
        self.buf.put_i32(len);
        self.buf.put_slice(value.as_bytes());
        Ok(())
    }

    pub(crate) fn optional_text(&mut self, value: Option<&str>) -> Result<(), Failure> {
        match value {
            Some(value) => self.text(value),
            None => {
                self.buf.put_i32(-1);
                Ok(())
            }
        }
    }

    pub(crate) fn int2(&mut self, value: i16) {
        self.buf.put_i32(2);
        self.buf.put_i16(value);
    }

    /// A value in the binary form its [`ToSql`] writes for `ty`.
    pub(crate) fn value(&mut self, value: &(dyn ToSql + Sync), ty: &Type) -> Result<(), Failure> {
        let at = self.buf.len();
        self.buf.put_i32(0);
        let written = value
            .to_sql_checked(ty, &mut self.buf)
            .map_err(|e| Failure::Refused(crate::codec::backend(format!("encoding {ty}: {e}"))))?;
        let len = match written {
            IsNull::Yes => -1,
            IsNull::No => i32::try_from(self.buf.len().saturating_sub(at).saturating_sub(4))
                .unwrap_or(i32::MAX),
        };
        if let Some(slot) = self.buf.get_mut(at..at.saturating_add(4)) {
            slot.copy_from_slice(&len.to_be_bytes());
        }
        Ok(())
    }

    fn flush(&mut self) -> Result<(), Failure> {
        self.writer
            .write_all(&self.buf)
            .map_err(|e| Failure::Refused(crate::codec::backend(format!("sending rows: {e}"))))?;
        self.buf.clear();
        Ok(())
    }

    /// Ends the `COPY`; returns the rows written.
    pub(crate) fn finish(mut self) -> Result<u64, Failure> {
        self.buf.put_i16(-1);
        self.flush()?;
        self.writer.finish().db("finishing a COPY")
    }
}
