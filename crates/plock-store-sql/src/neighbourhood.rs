//! The accounts a batch's rules may look at.

use std::collections::BTreeSet;

use plock_core::store::{Batch, Change};
use plock_core::{AccountBook, AccountId};

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
/// The writer's failure, or [`StoreError::Backend`](plock_core::store::StoreError::Backend) for stored accounts that break a rule of
/// the book.
pub fn neighbourhood<W: Writer>(writer: &mut W, batch: &Batch) -> Result<AccountBook, W::Error> {
    let named = Named::of(batch);
    if named.ids.is_empty() {
        return Ok(AccountBook::new());
    }
    let mut scope: BTreeSet<String> = named.ids.iter().map(|id| (*id).to_owned()).collect();
    let keys: Vec<&str> = named.keys.iter().copied().collect();
    scope.extend(writer.ids_of_keys(&keys)?);
    scope.extend(writer.external_id_owners(&named.external)?);
    let list: Vec<&str> = scope.iter().map(String::as_str).collect();
    let masters = writer.masters_of(&list)?;
    let children = writer.children_of(&list)?;
    scope.extend(masters);
    scope.extend(children);
    let list: Vec<&str> = scope.iter().map(String::as_str).collect();
    writer.book_of(&list, &keys)
}
