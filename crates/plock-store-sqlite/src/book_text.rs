//! The account book read from rows selected by [`crate::codec::ACCOUNT_SELECT`]: every
//! account written into one JSON text, which the book's own deserialiser reads once.
//!
//! An import reads every account the batch names, up to the whole book: a `serde_json::Value`
//! tree of each account (a map of fourteen named fields, its contact, its lists) was built,
//! then read and freed, which cost more than the deserialiser itself. The text is the same
//! document, so the book is checked by the same rules and a stored value that breaks one is
//! refused the same way.

use std::io::Write;

use plock_core::AccountBook;
use plock_core::account::PaymentTerms;
use plock_core::store::StoreError;
use serde::de::IgnoredAny;

use crate::codec::Context;

/// The book's JSON text as it is written, an account at a time.
pub(crate) struct BookText {
    text: Vec<u8>,
    accounts: usize,
}

impl BookText {
    /// An empty book's text.
    pub(crate) fn new() -> BookText {
        BookText {
            text: b"{\"accounts\":[".to_vec(),
            accounts: 0,
        }
    }

    /// Adds the account of `row`, selected by [`crate::codec::ACCOUNT_SELECT`].
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a column of another type or a list that is not JSON.
    pub(crate) fn push(&mut self, row: &rusqlite::Row<'_>) -> Result<(), StoreError> {
        if self.accounts > 0 {
            self.text.push(b',');
        }
        self.accounts = self.accounts.saturating_add(1);
        let group_billing: bool = row.get(6).context("reading an account")?;
        let terms = row
            .get::<_, Option<i64>>(15)
            .context("reading an account")?
            .unwrap_or(i64::from(PaymentTerms::DEFAULT.days()));
        let out = &mut self.text;
        out.extend_from_slice(b"{\"id\":");
        text(out, row, 0)?;
        for (name, column) in [
            ("key", 1),
            ("name", 2),
            ("state", 3),
            ("currency", 4),
            ("master", 5),
        ] {
            field(out, name);
            text(out, row, column)?;
        }
        write!(out, ",\"group_billing\":{group_billing},\"created_on\":")
            .context("reading an account")?;
        text(out, row, 7)?;
        out.extend_from_slice(b",\"contact\":{\"email\":");
        text(out, row, 8)?;
        field(out, "phone");
        text(out, row, 9)?;
        field(out, "address_lines");
        list(out, row, 10, "[]")?;
        field(out, "country");
        text(out, row, 11)?;
        field(out, "organisation_number");
        text(out, row, 12)?;
        out.extend_from_slice(b"},\"tags\":");
        list(out, row, 13, "[]")?;
        field(out, "external_ids");
        list(out, row, 14, "{}")?;
        write!(out, ",\"payment_terms\":{terms}}}").context("reading an account")?;
        Ok(())
    }

    /// The book of the accounts pushed and the `dismissed` keys.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the stored accounts break a rule of the account book.
    pub(crate) fn finish(mut self, dismissed: &[String]) -> Result<AccountBook, StoreError> {
        self.text.extend_from_slice(b"],\"dismissed\":");
        serde_json::to_writer(&mut self.text, dismissed).context("reading dismissed keys")?;
        self.text.push(b'}');
        serde_json::from_slice(&self.text)
            .context("the stored accounts break a rule of the account book")
    }
}

/// `,"name":`.
fn field(out: &mut Vec<u8>, name: &str) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b"\":");
}

/// Text column `column` as a JSON string, or `null`.
fn text(out: &mut Vec<u8>, row: &rusqlite::Row<'_>, column: usize) -> Result<(), StoreError> {
    let value = row
        .get_ref(column)
        .context("reading an account")?
        .as_str_or_null()
        .context("reading an account")?;
    serde_json::to_writer(out, &value).context("reading an account")
}

/// A column holding a JSON list (or object) as it is, `empty` when NULL.
fn list(
    out: &mut Vec<u8>,
    row: &rusqlite::Row<'_>,
    column: usize,
    empty: &str,
) -> Result<(), StoreError> {
    let value = row
        .get_ref(column)
        .context("reading an account")?
        .as_str_or_null()
        .context("reading an account")?;
    match value {
        Some(json) => {
            // Checked on its own first: one text spliced in whole must not end the document.
            serde_json::from_str::<IgnoredAny>(json).context("reading an account's lists")?;
            out.extend_from_slice(json.as_bytes());
        }
        None => out.extend_from_slice(empty.as_bytes()),
    }
    Ok(())
}
