//! One row of an accounts file, validated, as the import's planning and its cross-row checks
//! read it.

use super::contact_cells::ContactCells;
use super::terms_cell::TermsCell;
use crate::account::{Account, AccountState, ExternalId, ExternalSystem, Tag};
use crate::id::AccountKey;

/// One validated row.
pub(super) struct AccountRow {
    pub(super) line: u64,
    /// The contact cells as written: a re-import merges them into the stored contact.
    pub(super) cells: ContactCells,
    pub(super) account: Account,
    pub(super) tags: Vec<Tag>,
    pub(super) external: Vec<(ExternalSystem, ExternalId)>,
    pub(super) state: AccountState,
    pub(super) master: Option<AccountKey>,
    pub(super) group_billing: bool,
    /// The `payment_terms` cell: a re-import changes the stored terms only when it is given.
    pub(super) payment_terms: TermsCell,
}

/// The column of a contact field an error names.
pub(super) fn column_of(field: &str) -> &str {
    match field {
        "address" => "address_1",
        "organisation number" => "organisation_number",
        other => other,
    }
}
