//! The account book: every account of a company together, and the rules no single account can
//! enforce (unique keys and external ids, group structure, dismissed keys).
//!
//! Accounts are added, linked into groups, tagged and given external ids through the
//! [`AccountBook`], whose methods check the rules across accounts before they change anything;
//! [`AccountBook::check_invariants`] checks all of them again. Stores apply their batches to a
//! book, so the rules hold whatever keeps the data.
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{Account, AccountName, Contact, ExternalId, ExternalSystem};
//! use plock_core::book::AccountBook;
//! use plock_core::id::{AccountId, AccountKey};
//! use plock_core::money::Currency;
//!
//! let account = |key: &str| -> Result<Account, Box<dyn std::error::Error>> {
//!     let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
//!     Ok(Account::new(AccountId::new(key)?, AccountKey::new(key)?, AccountName::new(key)?, Contact::default(), Currency::EUR, day))
//! };
//! let mut book = AccountBook::new();
//! book.add(account("globex")?)?;
//! book.add(account("initech")?)?;
//! let fortnox_5001 = ExternalId::new("5001")?;
//! book.set_external_id(&AccountId::new("globex")?, ExternalSystem::Fortnox, fortnox_5001.clone())?;
//!
//! // An external id belongs to one account, and so does a key.
//! assert!(book.set_external_id(&AccountId::new("initech")?, ExternalSystem::Fortnox, fortnox_5001.clone()).is_err());
//! assert!(book.add(account("globex")?).is_err());
//!
//! let found = book.by_external_id(&ExternalSystem::Fortnox, &fortnox_5001).ok_or("not found")?;
//! assert_eq!(found.id().as_str(), "globex");
//! assert_eq!(book.len(), 2);
//! book.check_invariants()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::account::external::{ExternalId, ExternalSystem};
use crate::account::tag::{MAX_TAGS_PER_ACCOUNT, Tag, TagFilter};
use crate::account::{Account, AccountError, AccountName, AccountState, Contact};
use crate::group::{check_archive_master, check_link};
use crate::id::{AccountId, AccountKey};
use crate::money::Currency;

mod invariants;
#[cfg(test)]
pub(crate) mod test_books;

/// A rule of the book found broken, by [`AccountBook::check_invariants`] (a bug, or a data
/// file edited by hand).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("account book invariant broken at {}: {rule}", account.as_ref().map_or("the indexes".to_owned(), |a| format!("account {:?}", a.as_str())))]
pub struct InvariantViolation {
    /// The account where the rule breaks, if it is one account's.
    pub account: Option<AccountId>,
    /// The rule.
    pub rule: String,
}

/// Every account of a company, with the cross-account rules enforced. Every method that
/// refuses leaves the book exactly as it was.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};
/// use plock_core::account::{AccountName, Contact, Tag};
///
/// let mut book = AccountBook::new();
/// for key in ["dentist-johnson", "retailer-acme"] {
///     let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
///     book.add(Account::new(AccountId::new(key)?, AccountKey::new(key)?, AccountName::new(key)?, Contact::default(), Currency::EUR, day))?;
/// }
/// book.tag(&AccountId::new("dentist-johnson")?, Tag::new("dental")?)?;
/// // A refused change leaves the book as it was.
/// assert!(book.tag(&AccountId::new("nobody")?, Tag::new("dental")?).is_err());
/// let ids: Vec<&str> = book.iter().map(|a| a.id().as_str()).collect();
/// assert_eq!(ids, ["dentist-johnson", "retailer-acme"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BookData", into = "BookData")]
pub struct AccountBook {
    /// Boxed: a map node has room for 11 entries and holds 6 when ids come in order, so an
    /// empty slot costs a pointer instead of a whole account.
    accounts: BTreeMap<AccountId, Box<Account>>,
    dismissed: BTreeSet<AccountKey>,
    // Indexes, derived from `accounts` and rebuilt on load.
    by_key: BTreeMap<AccountKey, AccountId>,
    by_external: BTreeMap<(ExternalSystem, ExternalId), AccountId>,
    children: BTreeMap<AccountId, BTreeSet<AccountId>>,
}

/// What is persisted: the accounts and the dismissed keys; indexes are derived.
#[derive(Serialize, Deserialize)]
struct BookData {
    accounts: Vec<Account>,
    dismissed: BTreeSet<AccountKey>,
}

impl TryFrom<BookData> for AccountBook {
    type Error = InvariantViolation;
    fn try_from(data: BookData) -> Result<AccountBook, InvariantViolation> {
        let mut accounts = data.accounts;
        // A stored book comes in id order, so the sort is one pass over it, and the map is
        // built from sorted entries at once instead of searched from its root per account.
        accounts.sort_by(|a, b| a.id().cmp(b.id()));
        if let Some(id) = invariants::first_repeat(accounts.iter().map(|a| (a.id(), a.id()))) {
            return Err(InvariantViolation {
                account: Some(id.clone()),
                rule: "ids are unique".into(),
            });
        }
        let mut book = AccountBook {
            accounts: accounts
                .into_iter()
                .map(|a| (a.id().clone(), Box::new(a)))
                .collect(),
            dismissed: data.dismissed,
            ..AccountBook::default()
        };
        book.rebuild_indexes()?;
        book.check_rules()?;
        Ok(book)
    }
}

impl From<AccountBook> for BookData {
    fn from(book: AccountBook) -> BookData {
        BookData {
            accounts: book.accounts.into_values().map(|a| *a).collect(),
            dismissed: book.dismissed,
        }
    }
}

impl AccountBook {
    /// An empty book.
    pub fn new() -> AccountBook {
        AccountBook::default()
    }

    /// The account with `id`.
    pub fn get(&self, id: &AccountId) -> Option<&Account> {
        self.accounts.get(id).map(Box::as_ref)
    }

    /// The account with primary key `key`.
    pub fn by_key(&self, key: &AccountKey) -> Option<&Account> {
        self.by_key.get(key).and_then(|id| self.get(id))
    }

    /// Every account's primary key, in key order (the index's own order: nothing to sort).
    pub(crate) fn keys(&self) -> impl ExactSizeIterator<Item = &AccountKey> {
        self.by_key.keys()
    }

    /// Every account's primary key and id, in key order.
    pub(crate) fn keys_and_ids(&self) -> impl ExactSizeIterator<Item = (&AccountKey, &AccountId)> {
        self.by_key.iter()
    }

    /// The account holding `id` in `system`.
    pub fn by_external_id(&self, system: &ExternalSystem, id: &ExternalId) -> Option<&Account> {
        self.by_external
            .get(&(system.clone(), id.clone()))
            .and_then(|owner| self.get(owner))
    }

    /// The children of `master`, sorted by id.
    pub fn children(&self, master: &AccountId) -> impl Iterator<Item = &Account> {
        self.children
            .get(master)
            .into_iter()
            .flatten()
            .filter_map(|id| self.get(id))
    }

    /// Every account, sorted by id.
    pub fn iter(&self) -> impl Iterator<Item = &Account> {
        self.accounts.values().map(Box::as_ref)
    }

    /// The accounts in `state` (any state when `None`) passing `tags` (all when `None`).
    pub fn filter<'a>(
        &'a self,
        state: Option<AccountState>,
        tags: Option<&'a TagFilter>,
    ) -> impl Iterator<Item = &'a Account> {
        self.accounts
            .values()
            .map(Box::as_ref)
            .filter(move |a| state.is_none_or(|s| a.state() == s))
            .filter(move |a| tags.is_none_or(|f| f.matches(a.tags())))
    }

    /// How many accounts.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// No accounts?
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// Was `key` dismissed (so discovery never proposes it again)?
    pub fn is_dismissed(&self, key: &AccountKey) -> bool {
        self.dismissed.contains(key)
    }

    /// The dismissed keys, sorted.
    pub fn dismissed(&self) -> impl Iterator<Item = &AccountKey> {
        self.dismissed.iter()
    }

    /// Adds an account (by hand: Active; an import may give another state). Its master link,
    /// if any, is not taken over: link through [`AccountBook::link`].
    ///
    /// # Errors
    /// A taken id, key or external id; too many tags.
    ///
    /// # Examples
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};
    /// use plock_core::account::{AccountName, Contact};
    ///
    /// let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
    /// let account = |id: &str, key: &str| -> Result<Account, Box<dyn std::error::Error>> {
    ///     Ok(Account::new(AccountId::new(id)?, AccountKey::new(key)?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, day))
    /// };
    /// let mut book = AccountBook::new();
    /// book.add(account("acc-1", "globex")?)?;
    /// // Another account with the same key is refused, naming the key.
    /// let refused = book.add(account("acc-2", "globex")?).unwrap_err();
    /// assert!(refused.to_string().contains("globex"));
    /// assert_eq!(book.by_key(&AccountKey::new("globex")?).map(|a| a.id().as_str()), Some("acc-1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add(&mut self, mut account: Account) -> Result<(), AccountError> {
        if self.accounts.contains_key(account.id()) {
            return Err(AccountError::DuplicateId {
                account: account.id().clone(),
            });
        }
        if let Some(owner) = self.by_key.get(account.key()) {
            return Err(AccountError::DuplicateKey {
                key: account.key().clone(),
                owner: owner.clone(),
            });
        }
        for (system, id) in account.external_ids().iter() {
            self.check_external_free(account.id(), system, id)?;
        }
        if account.tags().len() > MAX_TAGS_PER_ACCOUNT {
            return Err(AccountError::LimitExceeded {
                account: account.id().clone(),
                what: "tags",
                limit: MAX_TAGS_PER_ACCOUNT,
            });
        }
        account.set_master(None);
        self.index(&account);
        self.accounts
            .insert(account.id().clone(), Box::new(account));
        Ok(())
    }

    /// Adds an account found by discovery, as Pending.
    ///
    /// # Errors
    /// As [`AccountBook::add`], and [`AccountError::KeyDismissed`] for a dismissed key.
    pub fn add_discovered(&mut self, account: Account) -> Result<(), AccountError> {
        if self.dismissed.contains(account.key()) {
            return Err(AccountError::KeyDismissed {
                key: account.key().clone(),
            });
        }
        self.add(account.with_state(AccountState::Pending))
    }

    /// Pending -> Active.
    ///
    /// # Errors
    /// Unknown account, or not Pending.
    pub fn approve(&mut self, id: &AccountId) -> Result<(), AccountError> {
        self.get_mut(id)?.approve()
    }

    /// Removes a Pending account and remembers its key.
    ///
    /// # Errors
    /// Unknown account, or not Pending.
    pub fn dismiss(&mut self, id: &AccountId) -> Result<Account, AccountError> {
        self.get_ref(id)?.check_dismiss()?;
        let account = *self.accounts.remove(id).ok_or_else(|| not_found(id))?;
        self.unindex(&account);
        self.dismissed.insert(account.key().clone());
        Ok(account)
    }

    /// Active -> Archived. A master whose children are not all archived is refused, listing
    /// them. An archived child keeps its link and leaves consolidation from the next run on.
    ///
    /// # Errors
    /// Unknown account, not Active, or a master with live children.
    pub fn archive(&mut self, id: &AccountId) -> Result<(), AccountError> {
        let account = self.get_ref(id)?;
        account.require(crate::account::Action::Archive, AccountState::Active)?;
        check_archive_master(account, self.children(id))?;
        self.get_mut(id)?.archive()
    }

    /// Archived -> Active. A child whose master is archived is refused: restore the master first.
    ///
    /// # Errors
    /// Unknown account, not Archived, or an archived master.
    pub fn restore(&mut self, id: &AccountId) -> Result<(), AccountError> {
        let account = self.get_ref(id)?;
        account.require(crate::account::Action::Restore, AccountState::Archived)?;
        if let Some(master) = account.master()
            && self.get_ref(master)?.state() == AccountState::Archived
        {
            return Err(AccountError::MasterArchived {
                child: id.clone(),
                master: master.clone(),
            });
        }
        self.get_mut(id)?.restore()
    }

    /// Makes `child` a child of `master`. Both must be Active; groups are one level deep.
    ///
    /// # Errors
    /// Unknown accounts, a self link, a state other than Active, an existing link, depth
    /// beyond one level, or [`MAX_CHILDREN_PER_MASTER`](crate::group::MAX_CHILDREN_PER_MASTER).
    pub fn link(&mut self, child: &AccountId, master: &AccountId) -> Result<(), AccountError> {
        let child_account = self.get_ref(child)?;
        let master_account = self.get_ref(master)?;
        let child_children: Vec<AccountId> = self.children(child).map(|c| c.id().clone()).collect();
        let master_children = self.children.get(master).map_or(0, BTreeSet::len);
        check_link(
            child_account,
            master_account,
            &child_children,
            master_children,
        )?;
        if child_account.group_billing() {
            self.get_mut(child)?.set_group_billing_flag(false);
        }
        self.get_mut(child)?.set_master(Some(master.clone()));
        self.children
            .entry(master.clone())
            .or_default()
            .insert(child.clone());
        Ok(())
    }

    /// Detaches `child` from its master.
    ///
    /// # Errors
    /// Unknown account, or no master.
    pub fn unlink(&mut self, child: &AccountId) -> Result<(), AccountError> {
        let master =
            self.get_ref(child)?
                .master()
                .cloned()
                .ok_or_else(|| AccountError::NotLinked {
                    account: child.clone(),
                })?;
        self.get_mut(child)?.set_master(None);
        self.remove_child(&master, child);
        Ok(())
    }

    /// Switches group billing of a master (or of an account that may become one).
    ///
    /// # Errors
    /// Unknown account, or the account is a child.
    pub fn set_group_billing(&mut self, master: &AccountId, on: bool) -> Result<(), AccountError> {
        if let Some(its_master) = self.get_ref(master)?.master() {
            return Err(AccountError::GroupBillingOnChild {
                account: master.clone(),
                master: its_master.clone(),
            });
        }
        self.get_mut(master)?.set_group_billing_flag(on);
        Ok(())
    }

    /// Adds a tag (a no-op when present in any case).
    ///
    /// # Errors
    /// Unknown account, or [`MAX_TAGS_PER_ACCOUNT`].
    pub fn tag(&mut self, id: &AccountId, tag: Tag) -> Result<(), AccountError> {
        let account = self.get_ref(id)?;
        if !account.tags().contains(&tag) && account.tags().len() >= MAX_TAGS_PER_ACCOUNT {
            return Err(AccountError::LimitExceeded {
                account: id.clone(),
                what: "tags",
                limit: MAX_TAGS_PER_ACCOUNT,
            });
        }
        self.get_mut(id)?.tags_mut().insert(tag);
        Ok(())
    }

    /// Removes a tag (a no-op when absent).
    ///
    /// # Errors
    /// Unknown account.
    pub fn untag(&mut self, id: &AccountId, tag: &Tag) -> Result<(), AccountError> {
        let account = self.get_mut(id)?;
        // Only an account holding the tag is changed: one without details keeps none boxed.
        if account.tags().contains(tag) {
            account.tags_mut().remove(tag);
        }
        Ok(())
    }

    /// Sets the account's id in `system`, replacing an earlier one.
    ///
    /// # Errors
    /// Unknown account, or the (system, id) pair belongs to another account.
    pub fn set_external_id(
        &mut self,
        account: &AccountId,
        system: ExternalSystem,
        id: ExternalId,
    ) -> Result<(), AccountError> {
        self.get_ref(account)?;
        self.check_external_free(account, &system, &id)?;
        if let Some(old) = self
            .get_mut(account)?
            .external_ids_mut()
            .set(system.clone(), id.clone())
        {
            self.by_external.remove(&(system.clone(), old));
        }
        self.by_external.insert((system, id), account.clone());
        Ok(())
    }

    /// Removes the account's id in `system`.
    ///
    /// # Errors
    /// Unknown account, or no id in that system.
    pub fn remove_external_id(
        &mut self,
        account: &AccountId,
        system: &ExternalSystem,
    ) -> Result<ExternalId, AccountError> {
        let missing = || AccountError::NoExternalId {
            account: account.clone(),
            system: system.clone(),
        };
        // Looked up first: an account without details keeps none boxed.
        if self.get_ref(account)?.external_ids().get(system).is_none() {
            return Err(missing());
        }
        let removed = self
            .get_mut(account)?
            .external_ids_mut()
            .remove(system)
            .ok_or_else(missing)?;
        self.by_external.remove(&(system.clone(), removed.clone()));
        Ok(removed)
    }

    /// Renames an account.
    ///
    /// # Errors
    /// Unknown account.
    pub fn rename(&mut self, id: &AccountId, name: AccountName) -> Result<(), AccountError> {
        self.get_mut(id)?.set_name(name);
        Ok(())
    }

    /// Replaces an account's contact details.
    ///
    /// # Errors
    /// Unknown account.
    pub fn set_contact(&mut self, id: &AccountId, contact: Contact) -> Result<(), AccountError> {
        self.get_mut(id)?.set_contact(contact);
        Ok(())
    }

    /// Changes an account's billing currency.
    ///
    /// # Errors
    /// Unknown account.
    pub fn set_currency(&mut self, id: &AccountId, currency: Currency) -> Result<(), AccountError> {
        self.get_mut(id)?.set_currency(currency);
        Ok(())
    }

    /// Changes an account's payment terms.
    ///
    /// # Errors
    /// Unknown account.
    pub fn set_payment_terms(
        &mut self,
        id: &AccountId,
        terms: crate::account::PaymentTerms,
    ) -> Result<(), AccountError> {
        self.get_mut(id)?.set_payment_terms(terms);
        Ok(())
    }

    fn index(&mut self, account: &Account) {
        self.by_key
            .insert(account.key().clone(), account.id().clone());
        for (system, id) in account.external_ids().iter() {
            self.by_external
                .insert((system.clone(), id.clone()), account.id().clone());
        }
    }

    fn unindex(&mut self, account: &Account) {
        self.by_key.remove(account.key());
        for (system, id) in account.external_ids().iter() {
            self.by_external.remove(&(system.clone(), id.clone()));
        }
        if let Some(master) = account.master() {
            self.remove_child(master, account.id());
        }
    }

    fn remove_child(&mut self, master: &AccountId, child: &AccountId) {
        if let Some(children) = self.children.get_mut(master) {
            children.remove(child);
            if children.is_empty() {
                self.children.remove(master);
            }
        }
    }

    fn check_external_free(
        &self,
        account: &AccountId,
        system: &ExternalSystem,
        id: &ExternalId,
    ) -> Result<(), AccountError> {
        match self.by_external.get(&(system.clone(), id.clone())) {
            Some(owner) if owner != account => Err(AccountError::DuplicateExternalId {
                system: system.clone(),
                id: id.as_str().to_owned(),
                owner: owner.clone(),
            }),
            _ => Ok(()),
        }
    }

    fn get_ref(&self, id: &AccountId) -> Result<&Account, AccountError> {
        self.get(id).ok_or_else(|| not_found(id))
    }

    fn get_mut(&mut self, id: &AccountId) -> Result<&mut Account, AccountError> {
        self.accounts
            .get_mut(id)
            .map(Box::as_mut)
            .ok_or_else(|| not_found(id))
    }
}

fn not_found(id: &AccountId) -> AccountError {
    AccountError::NotFound {
        account: id.clone(),
    }
}
