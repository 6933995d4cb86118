//! Which rows a batch reads and writes: the accounts its rules may look at, and the rows of
//! the accounts tables that differ after it.

use std::collections::BTreeSet;

use plock_core::store::{Batch, Change, StoreError};
use plock_core::{Account, AccountBook, AccountId};

use crate::codec::{book, owner_in};
use crate::rows::{AccountRow, Row};
use crate::value::SqlValue;
use crate::writer::Writer;

/// What a batch names: account ids, account keys and external ids `(system, id)`.
#[derive(Debug, Default)]
pub struct Named<'a> {
    /// Account ids.
    pub ids: BTreeSet<&'a str>,
    /// Account keys of new accounts.
    pub keys: BTreeSet<&'a str>,
    /// External ids given to accounts.
    pub external: Vec<(&'a str, &'a str)>,
}

impl Named<'_> {
    /// What `batch` names.
    pub fn of(batch: &Batch) -> Named<'_> {
        let mut named = Named::default();
        for change in &batch.changes {
            named.ids.extend(change.account().map(AccountId::as_str));
            match change {
                Change::AddAccount { account } | Change::AddDiscovered { account } => {
                    named.ids.extend(account.master().map(AccountId::as_str));
                    named.keys.insert(account.key().as_str());
                    named.external.extend(
                        account
                            .external_ids()
                            .iter()
                            .map(|(s, id)| (s.name(), id.as_str())),
                    );
                }
                Change::SetExternalId {
                    system,
                    external_id,
                    ..
                } => named.external.push((system.name(), external_id.as_str())),
                Change::Link { master, .. } => {
                    named.ids.insert(master.as_str());
                }
                Change::PutSubscription { subscription } => {
                    named.ids.insert(subscription.account().as_str());
                }
                // Every other change names no account beyond `Change::account`'s.
                _ => {}
            }
        }
        named
    }
}

/// The accounts the batch's rules may look at, as a book: the accounts it names, the holders
/// of the keys and external ids it names, and their masters and children.
///
/// # Errors
/// The writer's failure, or [`StoreError::Backend`] for stored accounts that break a rule of
/// the book.
pub fn neighbourhood<W: Writer>(writer: &mut W, batch: &Batch) -> Result<AccountBook, W::Error> {
    let named = Named::of(batch);
    if named.ids.is_empty() {
        return Ok(AccountBook::new());
    }
    let mut scope: BTreeSet<String> = named.ids.iter().map(|id| (*id).to_owned()).collect();
    let keys: Vec<&str> = named.keys.iter().copied().collect();
    scope.extend(writer.ids_of_keys(&keys)?);
    for (system, id) in &named.external {
        scope.extend(writer.external_id_owner(system, id)?);
    }
    let list: Vec<&str> = scope.iter().map(String::as_str).collect();
    let masters = writer.masters_of(&list)?;
    let children = writer.children_of(&list)?;
    scope.extend(masters);
    scope.extend(children);
    let list: Vec<&str> = scope.iter().map(String::as_str).collect();
    let accounts = writer.accounts(&list)?;
    let dismissed = writer.dismissed(&keys)?;
    Ok(book(accounts, dismissed)?)
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
        columns: &[&str],
    ) -> Result<AccountWrites, StoreError> {
        let mut writes = AccountWrites::default();
        for old in original.iter() {
            writes.remove(old, same_key(work, old));
        }
        for new in work.iter() {
            let owner = owner_in(work, new);
            let values = AccountRow { account: new, owner: &owner }.values(columns)?;
            let old = same_key(original, new);
            match old {
                Some(old) => {
                    let owner = owner_in(original, old);
                    let before = AccountRow { account: old, owner: &owner };
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
