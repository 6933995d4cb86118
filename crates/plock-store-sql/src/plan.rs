//! The rows of the accounts tables that differ after a batch, and the statements both
//! dialects write them with alike.

use std::collections::BTreeSet;

use plock_core::store::StoreError;
use plock_core::{Account, AccountBook};

use crate::codec::owner_in;
use crate::rows::{AccountRow, Row};
use crate::sql::{names, update};
use crate::value::SqlValue;

/// One statement and the values of its placeholders, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    /// The SQL.
    pub sql: String,
    /// The values.
    pub values: Vec<SqlValue>,
}

impl Statement {
    fn new(sql: &str, values: Vec<SqlValue>) -> Statement {
        Statement {
            sql: sql.to_owned(),
            values,
        }
    }
}

/// A tag row: `(owner, account, tag, folded)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagRow {
    /// The account's invoice owner.
    pub owner: String,
    /// The account.
    pub account: String,
    /// The tag as written.
    pub tag: String,
    /// The tag case-folded, as tags compare.
    pub folded: String,
}

/// An external id row: `(owner, account, system, external_id)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExternalIdRow {
    /// The account's invoice owner.
    pub owner: String,
    /// The account.
    pub account: String,
    /// The system's name.
    pub system: String,
    /// The id in it.
    pub external_id: String,
}

/// The rows of the accounts tables that differ between the book as read and as the batch
/// left it. A store writes them in this order: the deletions first, so a key or an external
/// id another account gave up in the batch is free when it is written again.
#[derive(Debug, Default)]
pub struct AccountWrites {
    /// Accounts gone (dismissed), or replaced by another account under the same id: their
    /// tags and external ids go with them.
    pub deleted: Vec<String>,
    /// External ids removed: `(account, system)`.
    pub external_ids_removed: Vec<(String, String)>,
    /// Tags removed: `(account, folded tag)`.
    pub tags_removed: Vec<(String, String)>,
    /// Changed accounts, the store's columns' values, the id first.
    pub updated: Vec<Vec<SqlValue>>,
    /// New accounts, the store's columns' values.
    pub inserted: Vec<Vec<SqlValue>>,
    /// Tags added.
    pub tags_added: Vec<TagRow>,
    /// External ids added.
    pub external_ids_added: Vec<ExternalIdRow>,
    /// Keys newly dismissed.
    pub dismissed_keys: Vec<String>,
}

fn tags_of(account: &Account) -> BTreeSet<String> {
    account
        .tags()
        .iter()
        .map(|t| t.as_str().to_owned())
        .collect()
}

impl AccountWrites {
    /// The writes from `original` to `work`, account rows as the values of `columns` (the
    /// store's `accounts` columns, `id` first): a changed tag is one tag row, a changed name
    /// one updated account row. An account is updated when one of `columns` differs, so a
    /// store with an `owner` column rewrites the rows whose invoice owner moved.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a column the table does not have.
    pub fn plan(
        original: &AccountBook,
        work: &AccountBook,
        columns: &str,
    ) -> Result<AccountWrites, StoreError> {
        let columns = &names(columns);
        let mut writes = AccountWrites::default();
        for old in original.iter() {
            writes.remove(old, same_key(work, old));
        }
        for new in work.iter() {
            let owner = owner_in(work, new);
            let values = AccountRow {
                account: new,
                owner: &owner,
            }
            .values(columns)?;
            let old = same_key(original, new);
            match old {
                Some(old) => {
                    let owner = owner_in(original, old);
                    let before = AccountRow {
                        account: old,
                        owner: &owner,
                    };
                    if before.values(columns)? != values {
                        writes.updated.push(values);
                    }
                }
                None => writes.inserted.push(values),
            }
            writes.add(new, old, owner.as_str());
        }
        writes.dismissed_keys = work
            .dismissed()
            .filter(|k| !original.is_dismissed(k))
            .map(|k| k.as_str().to_owned())
            .collect();
        Ok(writes)
    }

    /// The statements that remove rows: accounts gone (their tags and external ids go with
    /// them), then external ids and tags, numbered by `placeholder(column, n)`.
    pub fn removals(&self, placeholder: impl Fn(&str, usize) -> String) -> Vec<Statement> {
        let text = |s: &String| SqlValue::Text(s.clone());
        let mut out = Vec::new();
        let accounts = format!("DELETE FROM accounts WHERE id = {}", placeholder("id", 1));
        for id in &self.deleted {
            out.push(Statement::new(&accounts, vec![text(id)]));
        }
        // A tag or an external id: its account and one more column name the row.
        let delete = |table: &str, column: &str| {
            format!(
                "DELETE FROM {table} WHERE account = {} AND {column} = {}",
                placeholder("account", 1),
                placeholder(column, 2)
            )
        };
        let external_ids = delete("external_ids", "system");
        let tags = delete("account_tags", "folded");
        let removed = (self
            .external_ids_removed
            .iter()
            .map(|row| (&external_ids, row)))
        .chain(self.tags_removed.iter().map(|row| (&tags, row)));
        for (sql, (id, value)) in removed {
            out.push(Statement::new(sql, vec![text(id), text(value)]));
        }
        out
    }

    /// The statements that update changed accounts, `columns` as [`AccountWrites::plan`] was
    /// given them.
    pub fn updates(
        &self,
        columns: &str,
        placeholder: impl Fn(&str, usize) -> String,
    ) -> Vec<Statement> {
        let sql = update("accounts", columns, placeholder);
        self.updated
            .iter()
            .map(|values| Statement::new(&sql, values.clone()))
            .collect()
    }

    /// The statements that remember the keys newly dismissed.
    pub fn dismissals(&self, placeholder: impl Fn(&str, usize) -> String) -> Vec<Statement> {
        let sql = format!(
            "INSERT INTO dismissed_keys (key) VALUES ({}) ON CONFLICT DO NOTHING",
            placeholder("key", 1)
        );
        self.dismissed_keys
            .iter()
            .map(|key| Statement::new(&sql, vec![SqlValue::Text(key.clone())]))
            .collect()
    }

    /// The deletions of account `old`, which is `new` after the batch.
    fn remove(&mut self, old: &Account, new: Option<&Account>) {
        let id = old.id().as_str();
        let Some(new) = new else {
            self.deleted.push(id.to_owned());
            return;
        };
        for (system, external_id) in old.external_ids().iter() {
            if new.external_ids().get(system) != Some(external_id) {
                self.external_ids_removed
                    .push((id.to_owned(), system.name().to_owned()));
            }
        }
        let kept = tags_of(new);
        for tag in old.tags().iter().filter(|t| !kept.contains(t.as_str())) {
            self.tags_removed
                .push((id.to_owned(), tag.as_str().to_lowercase()));
        }
    }

    /// The tags and external ids account `new` has and `old` had not.
    fn add(&mut self, new: &Account, old: Option<&Account>, owner: &str) {
        let id = new.id().as_str();
        let had = old.map(tags_of).unwrap_or_default();
        for tag in new.tags().iter().filter(|t| !had.contains(t.as_str())) {
            self.tags_added.push(TagRow {
                owner: owner.to_owned(),
                account: id.to_owned(),
                tag: tag.as_str().to_owned(),
                folded: tag.as_str().to_lowercase(),
            });
        }
        for (system, external_id) in new.external_ids().iter() {
            if old.and_then(|o| o.external_ids().get(system)) != Some(external_id) {
                self.external_ids_added.push(ExternalIdRow {
                    owner: owner.to_owned(),
                    account: id.to_owned(),
                    system: system.name().to_owned(),
                    external_id: external_id.as_str().to_owned(),
                });
            }
        }
    }
}

/// The account of `book` under `account`'s id with its key: the same account before and
/// after a batch. Under another key it is another account.
fn same_key<'b>(book: &'b AccountBook, account: &Account) -> Option<&'b Account> {
    book.get(account.id()).filter(|a| a.key() == account.key())
}
