//! The book's rules checked all at once, and its indexes rebuilt from its accounts: for a
//! loaded book, and for the state-machine tests.

use std::collections::{BTreeMap, BTreeSet};

use crate::account::tag::MAX_TAGS_PER_ACCOUNT;
use crate::account::{Account, AccountState, ExternalId, ExternalSystem};
use crate::book::{AccountBook, InvariantViolation};
use crate::group::MAX_CHILDREN_PER_MASTER;
use crate::id::{AccountId, AccountKey};

impl AccountBook {
    /// Checks every rule of the book: unique keys and external ids, indexes matching the
    /// accounts, groups one level deep with no self links, no Pending account linked, an
    /// Active child under an Active master, limits respected.
    ///
    /// # Errors
    /// The first broken rule.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        self.check_indexes()?;
        self.check_rules()
    }

    /// Checks that the indexes hold exactly the accounts' keys, external ids and links.
    fn check_indexes(&self) -> Result<(), InvariantViolation> {
        let mut external = 0usize;
        let mut linked = 0usize;
        for (id, account) in &self.accounts {
            if account.id() != id {
                return Err(broken(id, "stored under its own id"));
            }
            if self.by_key.get(account.key()) != Some(id) {
                return Err(broken(id, "its key is indexed to it and unique"));
            }
            for (system, ext) in account.external_ids().iter() {
                if self.by_external.get(&(system.clone(), ext.clone())) != Some(id) {
                    return Err(broken(id, "each (system, id) belongs to one account"));
                }
                external = external.saturating_add(1);
            }
            if let Some(master_id) = account.master() {
                linked = linked.saturating_add(1);
                if !self.children.get(master_id).is_some_and(|c| c.contains(id)) {
                    return Err(broken(id, "its master lists it as a child"));
                }
            }
        }
        let indexed_children: usize = self.children.values().map(BTreeSet::len).sum();
        if self.accounts.len() != self.by_key.len()
            || external != self.by_external.len()
            || linked != indexed_children
        {
            return Err(InvariantViolation {
                account: None,
                rule: "indexes hold exactly the accounts' keys, ids and links".into(),
            });
        }
        Ok(())
    }

    /// Checks the rules of accounts and groups: limits, groups one level deep with no self
    /// links, no Pending account linked, an Active child under an Active master. A loaded
    /// book checks only these: its indexes are built from its accounts.
    pub(super) fn check_rules(&self) -> Result<(), InvariantViolation> {
        for (id, account) in &self.accounts {
            if account.tags().len() > MAX_TAGS_PER_ACCOUNT {
                return Err(broken(id, "at most MAX_TAGS_PER_ACCOUNT tags"));
            }
            if let Some(master_id) = account.master() {
                check_master(self, id, account, master_id)?;
            }
        }
        for (master, children) in &self.children {
            if children.len() > MAX_CHILDREN_PER_MASTER {
                return Err(broken(master, "at most MAX_CHILDREN_PER_MASTER children"));
            }
        }
        Ok(())
    }

    /// Builds the indexes from the accounts, refusing a key or an external id used twice.
    pub(super) fn rebuild_indexes(&mut self) -> Result<(), InvariantViolation> {
        // Each index is built from its entries sorted (a stable sort: of two accounts
        // sharing a key, the later in id order is the one refused), at once.
        let mut keys: Vec<(&AccountKey, &AccountId)> =
            self.accounts.values().map(|a| (a.key(), a.id())).collect();
        keys.sort_by(|a, b| a.0.cmp(b.0));
        if let Some(id) = first_repeat(keys.iter().copied()) {
            return Err(broken(id, "keys are unique"));
        }
        let mut external: Vec<((&ExternalSystem, &ExternalId), &AccountId)> = self
            .accounts
            .values()
            .flat_map(|a| a.external_ids().iter().map(|(s, e)| ((s, e), a.id())))
            .collect();
        external.sort_by(|a, b| a.0.cmp(&b.0));
        if let Some(id) = first_repeat(external.iter().copied()) {
            return Err(broken(id, "each (system, id) belongs to one account"));
        }
        let mut children: BTreeMap<AccountId, BTreeSet<AccountId>> = BTreeMap::new();
        for account in self.accounts.values() {
            if let Some(master) = account.master() {
                children
                    .entry(master.clone())
                    .or_default()
                    .insert(account.id().clone());
            }
        }
        self.by_key = keys
            .into_iter()
            .map(|(k, id)| (k.clone(), id.clone()))
            .collect();
        self.by_external = external
            .into_iter()
            .map(|((s, e), id)| ((s.clone(), e.clone()), id.clone()))
            .collect();
        self.children = children;
        Ok(())
    }
}

/// The account of the first entry whose key equals the entry's before it, in `sorted`
/// (entries sorted by key).
pub(super) fn first_repeat<'a, K: PartialEq>(
    sorted: impl Iterator<Item = (K, &'a AccountId)>,
) -> Option<&'a AccountId> {
    let mut before: Option<K> = None;
    for (key, id) in sorted {
        if before.as_ref() == Some(&key) {
            return Some(id);
        }
        before = Some(key);
    }
    None
}

/// The rule `rule` broken by account `account`.
fn broken(account: &AccountId, rule: &str) -> InvariantViolation {
    InvariantViolation {
        account: Some(account.clone()),
        rule: rule.to_owned(),
    }
}

/// Checks the link of `account` (under `id`) to its master `master_id`.
fn check_master(
    book: &AccountBook,
    id: &AccountId,
    account: &Account,
    master_id: &AccountId,
) -> Result<(), InvariantViolation> {
    if master_id == id {
        return Err(broken(id, "no account is its own master"));
    }
    let Some(master) = book.accounts.get(master_id) else {
        return Err(broken(id, "its master exists"));
    };
    if master.master().is_some() {
        return Err(broken(id, "groups are one level deep"));
    }
    if account.state() == AccountState::Pending || master.state() == AccountState::Pending {
        return Err(broken(id, "no Pending account is linked"));
    }
    if account.state() == AccountState::Active && master.state() != AccountState::Active {
        return Err(broken(id, "an Active child has an Active master"));
    }
    if account.group_billing() {
        return Err(broken(id, "a child has no group billing"));
    }
    Ok(())
}
