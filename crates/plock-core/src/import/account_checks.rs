//! The checks of an accounts file that look beyond one row: keys and external ids used once,
//! masters known, and known accounts changed only where an import may change them.

use std::collections::{BTreeMap, HashMap};

use super::account_row::{AccountRow, column_of};
use super::table::ImportErrors;
use crate::account::{AccountState, ExternalId, ExternalSystem};
use crate::book::AccountBook;
use crate::id::AccountKey;

/// Checks the rows against each other and the book: keys and external ids used once, masters
/// known, and known accounts changed only where an import may change them. `written_keys`
/// are the file's keys as written, valid or not, so a bad master row does not also fail its
/// children.
pub(super) fn check_rows_together(
    written_keys: &HashMap<String, u64>,
    rows: &[AccountRow],
    book: &AccountBook,
    errors: &mut ImportErrors,
) {
    let mut seen_keys: BTreeMap<&AccountKey, u64> = BTreeMap::new();
    let mut seen_ext: BTreeMap<(&ExternalSystem, &ExternalId), &AccountKey> = BTreeMap::new();
    let by_key: BTreeMap<&AccountKey, &AccountRow> =
        rows.iter().map(|r| (r.account.key(), r)).collect();
    for row in rows {
        let key = row.account.key();
        if let Some(first) = seen_keys.insert(key, row.line) {
            errors.push(
                row.line,
                "key",
                key.as_str(),
                format!("duplicate key; first used on line {first}"),
            );
        }
        for (system, id) in &row.external {
            if let Some(other) = seen_ext.insert((system, id), key).filter(|o| *o != key) {
                errors.push(
                    row.line,
                    &format!("ext_{system}"),
                    id.as_str(),
                    format!("also given to account key {other}"),
                );
            }
            if let Some(owner) = book.by_external_id(system, id).filter(|o| o.key() != key) {
                errors.push(
                    row.line,
                    &format!("ext_{system}"),
                    id.as_str(),
                    format!("already belongs to account {}", owner.id()),
                );
            }
        }
        check_master(row, &by_key, written_keys, book, errors);
        check_existing(row, book, errors);
    }
}

/// Checks `row`'s master: known (in the file or the book), not the row itself, not a child,
/// and the row not Pending.
fn check_master(
    row: &AccountRow,
    by_key: &BTreeMap<&AccountKey, &AccountRow>,
    written_keys: &HashMap<String, u64>,
    book: &AccountBook,
    errors: &mut ImportErrors,
) {
    let key = row.account.key();
    if let Some(master) = &row.master {
        let master_row = by_key.get(master).copied();
        let master_known = book.by_key(master);
        let master_of_master = master_row.and_then(|m| m.master.clone()).or_else(|| {
            master_known
                .and_then(|m| m.master())
                .and_then(|id| book.get(id))
                .map(|m| m.key().clone())
        });
        if master_row.is_none()
            && master_known.is_none()
            && !written_keys.contains_key(master.as_str())
        {
            errors.push(
                row.line,
                "master_key",
                master.as_str(),
                "no account has this key, in the file or already imported",
            );
        } else if master == key {
            errors.push(
                row.line,
                "master_key",
                master.as_str(),
                "an account cannot be its own master",
            );
        } else if master_of_master.is_some() {
            errors.push(
                row.line,
                "master_key",
                master.as_str(),
                "this master is itself a child (groups are one level deep)",
            );
        }
        if row.state == AccountState::Pending {
            errors.push(
                row.line,
                "master_key",
                master.as_str(),
                "a Pending account cannot join a group",
            );
        }
    }
}

/// Checks a row whose key is already an account: its contact cells merge, and its state,
/// master and group billing are those stored (the account commands change them).
fn check_existing(row: &AccountRow, book: &AccountBook, errors: &mut ImportErrors) {
    let key = row.account.key();
    if let Some(existing) = book.by_key(key) {
        if let Err(crate::account::AccountError::Invalid {
            field,
            value,
            reason,
        }) = row.cells.merged(existing.contact())
        {
            errors.push(row.line, column_of(field), &value, reason);
        }
        if existing.state() != row.state {
            errors.push(
                row.line,
                "state",
                &format!("{:?}", row.state).to_lowercase(),
                format!(
                    "account exists as {}; change its state with the account commands",
                    existing.state()
                ),
            );
        }
        let existing_master = existing
            .master()
            .and_then(|id| book.get(id))
            .map(|m| m.key());
        if existing_master != row.master.as_ref() {
            errors.push(
                row.line,
                "master_key",
                row.master.as_ref().map_or("", |m| m.as_str()),
                "account exists with another master; use link/unlink",
            );
        }
        if existing.group_billing() != row.group_billing {
            errors.push(
                row.line,
                "group_billing",
                &row.group_billing.to_string(),
                "account exists with the other setting",
            );
        }
    }
}
