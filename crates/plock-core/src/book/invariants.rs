//! The book's rules checked all at once, and its indexes rebuilt from its accounts: for a
//! loaded book, and for the state-machine tests.

use std::collections::BTreeSet;

use crate::account::tag::MAX_TAGS_PER_ACCOUNT;
use crate::account::{Account, AccountState};
use crate::book::{AccountBook, InvariantViolation};
use crate::group::MAX_CHILDREN_PER_MASTER;
use crate::id::AccountId;

impl AccountBook {
    /// Checks every rule of the book: unique keys and external ids, indexes matching the
    /// accounts, groups one level deep with no self links, no Pending account linked, an
    /// Active child under an Active master, limits respected.
    ///
    /// # Errors
    /// The first broken rule.
    pub fn check_invariants(&self) -> Result<(), InvariantViolation> {
        let broken = |account: &AccountId, rule: &str| InvariantViolation {
            account: Some(account.clone()),
            rule: rule.to_owned(),
        };
        let mut keys = 0usize;
        let mut external = 0usize;
        let mut linked = 0usize;
        for (id, account) in &self.accounts {
            if account.id() != id {
                return Err(broken(id, "stored under its own id"));
            }
            if self.by_key.get(account.key()) != Some(id) {
                return Err(broken(id, "its key is indexed to it and unique"));
            }
            keys = keys.saturating_add(1);
            for (system, ext) in account.external_ids().iter() {
                if self.by_external.get(&(system.clone(), ext.clone())) != Some(id) {
                    return Err(broken(id, "each (system, id) belongs to one account"));
                }
                external = external.saturating_add(1);
            }
            if account.tags().len() > MAX_TAGS_PER_ACCOUNT {
                return Err(broken(id, "at most MAX_TAGS_PER_ACCOUNT tags"));
            }
            if let Some(master_id) = account.master() {
                linked = linked.saturating_add(1);
                if master_id == id {
                    return Err(broken(id, "no account is its own master"));
                }
                let Some(master) = self.accounts.get(master_id) else {
                    return Err(broken(id, "its master exists"));
                };
                if master.master().is_some() {
                    return Err(broken(id, "groups are one level deep"));
                }
                if account.state() == AccountState::Pending
                    || master.state() == AccountState::Pending
                {
                    return Err(broken(id, "no Pending account is linked"));
                }
                if account.state() == AccountState::Active && master.state() != AccountState::Active
                {
                    return Err(broken(id, "an Active child has an Active master"));
                }
                if account.group_billing() {
                    return Err(broken(id, "a child has no group billing"));
                }
                if !self.children.get(master_id).is_some_and(|c| c.contains(id)) {
                    return Err(broken(id, "its master lists it as a child"));
                }
            }
        }
        for (master, children) in &self.children {
            if children.len() > MAX_CHILDREN_PER_MASTER {
                return Err(broken(master, "at most MAX_CHILDREN_PER_MASTER children"));
            }
        }
        let indexed_children: usize = self.children.values().map(BTreeSet::len).sum();
        if keys != self.by_key.len()
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

    /// Builds the indexes from the accounts, refusing a key or an external id used twice.
    pub(super) fn rebuild_indexes(&mut self) -> Result<(), InvariantViolation> {
        let accounts: Vec<Account> = self.accounts.values().map(|a| Account::clone(a)).collect();
        for account in &accounts {
            if self.by_key.contains_key(account.key()) {
                return Err(InvariantViolation {
                    account: Some(account.id().clone()),
                    rule: "keys are unique".into(),
                });
            }
            for (system, id) in account.external_ids().iter() {
                if self.by_external.contains_key(&(system.clone(), id.clone())) {
                    return Err(InvariantViolation {
                        account: Some(account.id().clone()),
                        rule: "each (system, id) belongs to one account".into(),
                    });
                }
            }
            self.index(account);
            if let Some(master) = account.master() {
                self.children
                    .entry(master.clone())
                    .or_default()
                    .insert(account.id().clone());
            }
        }
        Ok(())
    }
}
