//! Why an account action or value was refused.

use crate::account::external::ExternalSystem;
use crate::account::state::{AccountState, Action};
use crate::id::{AccountId, AccountKey, IdError};

fn join(ids: &[AccountId]) -> String {
    ids.iter()
        .map(|id| format!("{:?}", id.as_str()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why an account action or value was refused. Every variant names the account (or field)
/// and the offending value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountError {
    /// A field value failed validation.
    #[error("invalid {field} {value:?}: {reason}")]
    Invalid {
        /// The field (`name`, `email`, `country`, `tag`, ...).
        field: &'static str,
        /// The value as given.
        value: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The account's state does not allow the action.
    #[error("account {:?} is {state}: cannot {action} ({})", account.as_str(), action.rule())]
    Transition {
        /// The account.
        account: AccountId,
        /// Its state.
        state: AccountState,
        /// The refused action.
        action: Action,
    },
    /// No account has this id.
    #[error("no account with id {:?}", account.as_str())]
    NotFound {
        /// The id looked up.
        account: AccountId,
    },
    /// The id is taken.
    #[error("an account with id {:?} already exists", account.as_str())]
    DuplicateId {
        /// The id.
        account: AccountId,
    },
    /// The primary key is taken.
    #[error("account key {:?} already belongs to account {:?}", key.as_str(), owner.as_str())]
    DuplicateKey {
        /// The key.
        key: AccountKey,
        /// Its owner.
        owner: AccountId,
    },
    /// The key was dismissed before; discovery never proposes it again.
    #[error("account key {:?} was dismissed; it is not proposed again", key.as_str())]
    KeyDismissed {
        /// The key.
        key: AccountKey,
    },
    /// The (system, id) pair belongs to another account.
    #[error("{system} id {:?} already belongs to account {:?}", id, owner.as_str())]
    DuplicateExternalId {
        /// The system.
        system: ExternalSystem,
        /// The id in it.
        id: String,
        /// The account holding it.
        owner: AccountId,
    },
    /// The account has no id in that system.
    #[error("account {:?} has no {system} id", account.as_str())]
    NoExternalId {
        /// The account.
        account: AccountId,
        /// The system.
        system: ExternalSystem,
    },
    /// An account cannot be its own master.
    #[error("account {:?} cannot be its own master", account.as_str())]
    SelfLink {
        /// The account.
        account: AccountId,
    },
    /// Groups are one level deep: a master has no master.
    #[error("account {:?} is a child of {:?}, so it cannot be a master (groups are one level deep)", master.as_str(), its_master.as_str())]
    MasterIsChild {
        /// The would-be master.
        master: AccountId,
        /// Its own master.
        its_master: AccountId,
    },
    /// Groups are one level deep: a child has no children.
    #[error("account {:?} is the master of {}, so it cannot become a child (groups are one level deep)", child.as_str(), join(children))]
    ChildIsMaster {
        /// The would-be child.
        child: AccountId,
        /// Its children.
        children: Vec<AccountId>,
    },
    /// The child already has a master.
    #[error("account {:?} is already a child of {:?}; unlink it first", child.as_str(), master.as_str())]
    AlreadyLinked {
        /// The child.
        child: AccountId,
        /// Its master.
        master: AccountId,
    },
    /// The account has no master to unlink from.
    #[error("account {:?} has no master", account.as_str())]
    NotLinked {
        /// The account.
        account: AccountId,
    },
    /// A master cannot be archived while it has children that are not archived.
    #[error("account {:?} is the master of non-archived accounts {}: archive or unlink them first", master.as_str(), join(children))]
    MasterHasLiveChildren {
        /// The master.
        master: AccountId,
        /// The children that are not archived.
        children: Vec<AccountId>,
    },
    /// A child cannot be restored while its master is archived.
    #[error("account {:?} cannot be restored while its master {:?} is archived: restore the master first", child.as_str(), master.as_str())]
    MasterArchived {
        /// The child.
        child: AccountId,
        /// Its archived master.
        master: AccountId,
    },
    /// A child cannot switch group billing on; only a master consolidates.
    #[error("account {:?} is a child of {:?}: only a master has group billing", account.as_str(), master.as_str())]
    GroupBillingOnChild {
        /// The child.
        account: AccountId,
        /// Its master.
        master: AccountId,
    },
    /// A named limit would be exceeded.
    #[error("account {:?} would exceed the limit of {limit} {what}", account.as_str())]
    LimitExceeded {
        /// The account.
        account: AccountId,
        /// What is limited (`tags`, `children`, ...).
        what: &'static str,
        /// The limit.
        limit: usize,
    },
}

/// A refused tag, external system or external id is an invalid field of its account.
impl From<IdError> for AccountError {
    fn from(e: IdError) -> AccountError {
        AccountError::Invalid {
            field: e.kind,
            value: e.value,
            reason: e.reason.to_owned(),
        }
    }
}

impl AccountError {
    pub(crate) fn invalid(
        field: &'static str,
        value: &str,
        reason: impl Into<String>,
    ) -> AccountError {
        AccountError::Invalid {
            field,
            value: crate::id::shown(value),
            reason: reason.into(),
        }
    }
}
