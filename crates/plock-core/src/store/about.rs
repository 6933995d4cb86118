//! Which account a change is about.

use crate::id::AccountId;
use crate::store::Change;

impl Change {
    /// The account the change is about: the account added or edited, the child linked or
    /// unlinked, the master whose group billing is switched; `None` for a change that is not
    /// about one account (a subscription, a metric, usage, a run).
    pub fn account(&self) -> Option<&AccountId> {
        match self {
            Change::AddAccount { account } | Change::AddDiscovered { account } => {
                Some(account.id())
            }
            Change::EditAccount { id, .. }
            | Change::SetPaymentTerms { id, .. }
            | Change::Approve { id }
            | Change::Dismiss { id }
            | Change::Archive { id }
            | Change::Restore { id }
            | Change::Tag { id, .. }
            | Change::Untag { id, .. }
            | Change::SetExternalId { id, .. }
            | Change::RemoveExternalId { id, .. } => Some(id),
            Change::Link { child, .. } | Change::Unlink { child } => Some(child),
            Change::SetGroupBilling { master, .. } => Some(master),
            Change::PutSubscription { .. }
            | Change::PutMetric { .. }
            | Change::AddUsage { .. }
            | Change::RecordRun { .. } => None,
        }
    }
}
