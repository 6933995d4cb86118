//! Account groups (docs/domain.md, section 4): the structure rules of master and child.
//!
//! Groups are one level deep, so cycles cannot exist. Consolidation of a group's charges is the
//! billing run's business (`billing`); this module only decides which links may exist.
//!
//! A master has at most [`MAX_CHILDREN_PER_MASTER`] children; a child has one master and no
//! children of its own; only Active accounts are linked. Links are made with
//! [`AccountBook::link`](crate::book::AccountBook::link), which applies these rules. With
//! [group billing](crate::book::AccountBook::set_group_billing) on, a billing run puts the charges
//! of each child whose subscription matches the master's on the master's invoice.
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{Account, AccountError, AccountName, Contact};
//! use plock_core::book::AccountBook;
//! use plock_core::id::{AccountId, AccountKey};
//! use plock_core::money::Currency;
//!
//! let mut book = AccountBook::new();
//! for key in ["acme", "acme-oslo", "acme-oslo-harbour"] {
//!     let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
//!     book.add(Account::new(AccountId::new(key)?, AccountKey::new(key)?, AccountName::new(key)?, Contact::default(), Currency::EUR, day))?;
//! }
//! let (acme, oslo, harbour) = (AccountId::new("acme")?, AccountId::new("acme-oslo")?, AccountId::new("acme-oslo-harbour")?);
//! book.link(&oslo, &acme)?;
//! book.set_group_billing(&acme, true)?;
//! assert_eq!(book.children(&acme).count(), 1);
//!
//! // Groups are one level deep: a child cannot be a master.
//! let refused = book.link(&harbour, &oslo).unwrap_err();
//! assert!(matches!(refused, AccountError::MasterIsChild { .. }));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use crate::account::{Account, AccountError, AccountState, Action};
use crate::id::AccountId;

/// The most children one master may have.
pub const MAX_CHILDREN_PER_MASTER: usize = 100_000;

/// Checks that `child` may become a child of `master`, which has `master_children` children
/// already. `child_children` are the child's own children.
pub(crate) fn check_link(
    child: &Account,
    master: &Account,
    child_children: &[AccountId],
    master_children: usize,
) -> Result<(), AccountError> {
    if child.id() == master.id() {
        return Err(AccountError::SelfLink {
            account: child.id().clone(),
        });
    }
    for account in [child, master] {
        account.require(Action::Link, AccountState::Active)?;
    }
    if let Some(current) = child.master() {
        return Err(AccountError::AlreadyLinked {
            child: child.id().clone(),
            master: current.clone(),
        });
    }
    if let Some(its_master) = master.master() {
        return Err(AccountError::MasterIsChild {
            master: master.id().clone(),
            its_master: its_master.clone(),
        });
    }
    if !child_children.is_empty() {
        return Err(AccountError::ChildIsMaster {
            child: child.id().clone(),
            children: child_children.to_vec(),
        });
    }
    if master_children >= MAX_CHILDREN_PER_MASTER {
        return Err(AccountError::LimitExceeded {
            account: master.id().clone(),
            what: "children",
            limit: MAX_CHILDREN_PER_MASTER,
        });
    }
    Ok(())
}

/// Checks that `master` may be archived: none of its children is still Pending or Active.
pub(crate) fn check_archive_master<'a>(
    master: &Account,
    children: impl Iterator<Item = &'a Account>,
) -> Result<(), AccountError> {
    let live: Vec<AccountId> = children
        .filter(|c| c.state() != AccountState::Archived)
        .map(|c| c.id().clone())
        .collect();
    if live.is_empty() {
        Ok(())
    } else {
        Err(AccountError::MasterHasLiveChildren {
            master: master.id().clone(),
            children: live,
        })
    }
}
