//! An account's lifecycle: its states and the actions that move it between them.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Where an account is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AccountState {
    /// Found in the company's data, not yet confirmed: never billed, cannot join a group.
    Pending,
    /// A confirmed customer, billed through its subscriptions.
    Active,
    /// Deactivated: never billed again; its history stays readable.
    Archived,
}

impl fmt::Display for AccountState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            AccountState::Pending => "Pending",
            AccountState::Active => "Active",
            AccountState::Archived => "Archived",
        })
    }
}

/// An action on accounts that a state may refuse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// Pending -> Active.
    Approve,
    /// Pending -> removed.
    Dismiss,
    /// Active -> Archived.
    Archive,
    /// Archived -> Active.
    Restore,
    /// Joining a group, as child or master.
    Link,
}

impl Action {
    fn verb(self) -> &'static str {
        match self {
            Action::Approve => "approve",
            Action::Dismiss => "dismiss",
            Action::Archive => "archive",
            Action::Restore => "restore",
            Action::Link => "link",
        }
    }

    pub(crate) fn rule(self) -> &'static str {
        match self {
            Action::Approve => "only a Pending account can be approved",
            Action::Dismiss => "only a Pending account can be dismissed",
            Action::Archive => "only an Active account can be archived",
            Action::Restore => "only an Archived account can be restored",
            Action::Link => "only Active accounts can be linked",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.verb())
    }
}
