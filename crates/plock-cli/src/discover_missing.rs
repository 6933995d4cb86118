//! The accounts a discovery sync flags as missing from its source: kept by default, archived
//! when the operator asks, except those named to keep.

use plock_core::AccountId;
use plock_core::account::AccountState;
use plock_core::discovery::SyncPlan;

use crate::app::{Opened, find_account};
use crate::exit::{Class, CliError, fail};
use crate::store_errors::store_error;

/// The Active accounts of `plan.missing` to archive, children before masters: none unless
/// asked; never one named in `keep`. A name in `keep` that is not missing from the source is refused, as a likely typo.
///
/// # Errors
/// An unknown account in `keep`, or one the source still has.
pub fn to_archive(
    s: &Opened,
    plan: &SyncPlan,
    missing: &Missing,
) -> Result<Vec<AccountId>, CliError> {
    let mut kept = Vec::with_capacity(missing.keep.len());
    for text in &missing.keep {
        let account = find_account(&*s.store, text)?;
        if !plan.missing.contains(account.id()) {
            return Err(fail(
                Class::Validation,
                format!(
                    "--keep {text}: account {} is not missing from the source",
                    account.id()
                ),
            ));
        }
        kept.push(account.id().clone());
    }
    if !missing.archive {
        return Ok(Vec::new());
    }
    // Children first: a master is archived only once its children are.
    let mut children = Vec::new();
    let mut others = Vec::new();
    for id in plan.missing.iter().filter(|id| !kept.contains(id)) {
        match s.store.account(id).map_err(store_error)? {
            Some(a) if a.state() == AccountState::Active => {
                if a.master().is_some() {
                    children.push(id.clone());
                } else {
                    others.push(id.clone());
                }
            }
            _ => {}
        }
    }
    children.extend(others);
    Ok(children)
}

/// What `discover --yes` does with the accounts the source no longer has.
pub struct Missing {
    /// Archive them (never without being asked).
    pub archive: bool,
    /// Accounts to keep all the same, as typed.
    pub keep: Vec<String>,
}
