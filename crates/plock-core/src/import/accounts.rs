//! The accounts CSV: one row per account, keyed by its key.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;

use super::contact_cells::ContactCells;
use super::table::{ImportErrors, Row, Table};
use super::{Csv, cell_text, neutralise, parse_bool, parse_date};
use crate::account::{
    Account, AccountName, AccountState, ExternalId, ExternalSystem, PaymentTerms, Tag,
};
use crate::book::AccountBook;
use crate::id::{AccountId, AccountKey};
use crate::money::Currency;
use crate::store::{Batch, Change};

/// The external systems with a column of their own (`ext_<name>`).
pub const EXTERNAL_COLUMNS: [&str; 6] = [
    "ext_hubspot",
    "ext_salesforce",
    "ext_fortnox",
    "ext_business_central",
    "ext_netvisor",
    "ext_kleer",
];

/// The columns of the accounts CSV, in export order.
pub const ACCOUNT_COLUMNS: [&str; 23] = [
    "key",
    "name",
    "currency",
    "state",
    "email",
    "phone",
    "address_1",
    "address_2",
    "address_3",
    "address_4",
    "country",
    "organisation_number",
    "tags",
    "master_key",
    "group_billing",
    "created",
    "ext_hubspot",
    "ext_salesforce",
    "ext_fortnox",
    "ext_business_central",
    "ext_netvisor",
    "ext_kleer",
    "payment_terms",
];

const REQUIRED: [&str; 3] = ["key", "name", "currency"];

/// One validated row.
struct AccountRow {
    line: u64,
    /// The contact cells as written: a re-import merges them into the stored contact.
    cells: ContactCells,
    account: Account,
    tags: Vec<Tag>,
    external: Vec<(ExternalSystem, ExternalId)>,
    state: AccountState,
    master: Option<AccountKey>,
    group_billing: bool,
    /// The row's payment terms, if its cell gives them: an empty cell keeps the stored ones.
    payment_terms: Option<PaymentTerms>,
}

/// The payment terms of a `payment_terms` cell: whole days, 0 to 365.
fn parse_terms(text: &str) -> Result<PaymentTerms, String> {
    let days = text
        .trim()
        .parse::<u16>()
        .map_err(|_| format!("must be whole days, 0 to {}", PaymentTerms::MAX_DAYS))?;
    PaymentTerms::new(days).map_err(|e| reason_of(&e))
}

fn parse_state(text: &str) -> Result<AccountState, String> {
    match text.to_ascii_lowercase().as_str() {
        "active" => Ok(AccountState::Active),
        "pending" => Ok(AccountState::Pending),
        "archived" => Ok(AccountState::Archived),
        _ => Err("must be active, pending or archived".into()),
    }
}

fn parse_row(
    t: &Table,
    row: &Row,
    today: NaiveDate,
    errors: &mut ImportErrors,
) -> Option<AccountRow> {
    let before = errors.total();
    let line = row.line;
    let mut check = |column: &str, value: &str, result: Result<(), String>| {
        if let Err(reason) = result {
            errors.push(line, column, value, reason);
        }
    };
    let text = |c: &str| cell_text(t, row, c);
    let key_text = text("key").unwrap_or_default();
    let key = AccountKey::new(&key_text).map_err(|e| e.reason.to_owned());
    check(
        "key",
        &key_text,
        key.as_ref().map(drop).map_err(Clone::clone),
    );
    let name_text = text("name").unwrap_or_default();
    let name = AccountName::new(&name_text).map_err(|e| reason_of(&e));
    check(
        "name",
        &name_text,
        name.as_ref().map(drop).map_err(Clone::clone),
    );
    let currency_text = text("currency").unwrap_or_default();
    let currency = currency_text.parse::<Currency>().map_err(|e| e.to_string());
    check(
        "currency",
        &currency_text,
        currency.as_ref().map(drop).map_err(Clone::clone),
    );
    let state = text("state").map_or(Ok(AccountState::Active), |s| parse_state(&s));
    check(
        "state",
        &text("state").unwrap_or_default(),
        state.as_ref().map(drop).map_err(Clone::clone),
    );
    let cells = ContactCells::read(text);
    let contact = cells.new_contact();
    if let Err(crate::account::AccountError::Invalid {
        field,
        value,
        reason,
    }) = &contact
    {
        check(column_of(field), value, Err(reason.clone()));
    }
    let mut tags = Vec::new();
    if let Some(list) = text("tags") {
        for part in list.split('|') {
            match Tag::new(part) {
                Ok(tag) => tags.push(tag),
                Err(e) => check("tags", part, Err(e.reason.to_owned())),
            }
        }
    }
    let master = text("master_key").map(|m| AccountKey::new(&m).map_err(|e| (m, e.reason)));
    let master = match master {
        Some(Err((m, reason))) => {
            check("master_key", &m, Err(reason.to_owned()));
            None
        }
        Some(Ok(m)) => Some(m),
        None => None,
    };
    let group_billing = text("group_billing").map_or(Ok(false), |g| parse_bool(&g));
    check(
        "group_billing",
        &text("group_billing").unwrap_or_default(),
        group_billing.as_ref().map(drop).map_err(Clone::clone),
    );
    let created = text("created").map_or(Ok(today), |c| parse_date(&c));
    check(
        "created",
        &text("created").unwrap_or_default(),
        created.as_ref().map(drop).map_err(Clone::clone),
    );
    let payment_terms = text("payment_terms").map(|p| parse_terms(&p)).transpose();
    check(
        "payment_terms",
        &text("payment_terms").unwrap_or_default(),
        payment_terms.as_ref().map(drop).map_err(Clone::clone),
    );
    let mut external = Vec::new();
    for column in EXTERNAL_COLUMNS {
        if let Some(value) = text(column) {
            let system = column.trim_start_matches("ext_").parse::<ExternalSystem>();
            match (system, ExternalId::new(&value)) {
                (Ok(system), Ok(id)) => external.push((system, id)),
                (_, Err(e)) | (Err(e), _) => check(column, &value, Err(e.reason.to_owned())),
            }
        }
    }
    if errors.total() != before {
        return None;
    }
    let (Ok(key), Ok(name), Ok(currency), Ok(state), Ok(contact), Ok(group_billing), Ok(created)) =
        (key, name, currency, state, contact, group_billing, created)
    else {
        return None;
    };
    let Ok(payment_terms) = payment_terms else {
        return None;
    };
    let id = AccountId::from_key(&key);
    Some(AccountRow {
        line,
        cells,
        account: Account::new(id, key, name, contact, currency, created)
            .with_payment_terms(payment_terms.unwrap_or_default()),
        tags,
        external,
        state,
        master,
        group_billing,
        payment_terms,
    })
}

/// The column of a contact field an error names.
fn column_of(field: &str) -> &str {
    match field {
        "address" => "address_1",
        "organisation number" => "organisation_number",
        other => other,
    }
}

fn reason_of(e: &crate::account::AccountError) -> String {
    match e {
        crate::account::AccountError::Invalid { reason, .. } => reason.clone(),
        other => other.to_string(),
    }
}

/// Validates an accounts CSV against the accounts already in `book` and plans the batch that
/// imports it. New keys become accounts (id = key); known keys with identical rows change
/// nothing, so importing a file twice is harmless; known keys whose name, contact, currency,
/// tags or external ids differ are updated; a different state, master or group-billing
/// switch is refused (change those with the account commands).
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::AccountBook;
/// use plock_core::import::plan_account_import;
///
/// let today = NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?;
/// let csv = "key,name,currency,tags\ndentist-johnson,Dentist Johnson,SEK,dental|smb\nprospect,Prospect AB,XXX,\n";
/// // Every problem at once, with its line, column and value.
/// let problems = plan_account_import(csv.as_bytes(), &AccountBook::new(), today).unwrap_err();
/// assert_eq!(problems.total(), 1);
/// let problem = problems.errors().first().ok_or("no problem")?;
/// assert_eq!((problem.line, problem.column.as_str(), problem.value.as_str()), (3, "currency", "XXX"));
///
/// let fixed = csv.replace("XXX", "SEK");
/// let plan = plan_account_import(fixed.as_bytes(), &AccountBook::new(), today)?;
/// // Two accounts and two tags.
/// assert_eq!(plan.changes.len(), 4);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Every problem of the file at once; nothing is planned when there is one.
pub fn plan_account_import(
    bytes: &[u8],
    book: &AccountBook,
    today: NaiveDate,
) -> Result<Batch, ImportErrors> {
    let table = Table::parse(bytes, &ACCOUNT_COLUMNS, &REQUIRED)?;
    let mut errors = table.problems.clone();
    let rows: Vec<AccountRow> = table
        .rows
        .iter()
        .filter_map(|r| parse_row(&table, r, today, &mut errors))
        .collect();

    let mut seen_keys: BTreeMap<&AccountKey, u64> = BTreeMap::new();
    let mut seen_ext: BTreeMap<(&ExternalSystem, &ExternalId), &AccountKey> = BTreeMap::new();
    // Keys as written, valid or not, so a bad master row does not also fail its children.
    let written_keys: BTreeSet<String> = table
        .rows
        .iter()
        .filter_map(|r| table.cell(r, "key"))
        .map(str::to_owned)
        .collect();
    let by_key: BTreeMap<&AccountKey, &AccountRow> =
        rows.iter().map(|r| (r.account.key(), r)).collect();
    for row in &rows {
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
        check_master(row, &by_key, &written_keys, book, &mut errors);
        check_existing(row, book, &mut errors);
    }
    errors.into_result(())?;
    Ok(plan(rows, book))
}

/// Checks `row`'s master: known (in the file or the book), not the row itself, not a child,
/// and the row not Pending.
fn check_master(
    row: &AccountRow,
    by_key: &BTreeMap<&AccountKey, &AccountRow>,
    written_keys: &BTreeSet<String>,
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
        if master_row.is_none() && master_known.is_none() && !written_keys.contains(master.as_str())
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

fn plan(rows: Vec<AccountRow>, book: &AccountBook) -> Batch {
    let mut changes = Vec::new();
    let mut links = Vec::new();
    let mut group = Vec::new();
    let mut archive_children = Vec::new();
    let mut archive_masters = Vec::new();
    let masters: BTreeSet<AccountKey> = rows.iter().filter_map(|r| r.master.clone()).collect();
    for row in rows {
        let id = row.account.id().clone();
        match book.by_key(row.account.key()) {
            None => {
                // Added Active, so links can form; states follow once the group exists.
                let state = if row.state == AccountState::Pending {
                    AccountState::Pending
                } else {
                    AccountState::Active
                };
                changes.push(Change::AddAccount {
                    account: row.account.clone().with_state(state),
                });
                for tag in row.tags {
                    changes.push(Change::Tag {
                        id: id.clone(),
                        tag,
                    });
                }
                for (system, external_id) in row.external {
                    changes.push(Change::SetExternalId {
                        id: id.clone(),
                        system,
                        external_id,
                    });
                }
                if let Some(master) = &row.master {
                    links.push(Change::Link {
                        child: id.clone(),
                        master: master_id(master, book),
                    });
                }
                if row.group_billing {
                    group.push(Change::SetGroupBilling {
                        master: id.clone(),
                        on: true,
                    });
                }
                if row.state == AccountState::Archived {
                    if masters.contains(row.account.key()) {
                        archive_masters.push(Change::Archive { id: id.clone() });
                    } else {
                        archive_children.push(Change::Archive { id: id.clone() });
                    }
                }
            }
            Some(existing) => {
                let id = existing.id().clone();
                let edit = Change::EditAccount {
                    id: id.clone(),
                    name: (existing.name() != row.account.name())
                        .then(|| row.account.name().clone()),
                    contact: row
                        .cells
                        .merged(existing.contact())
                        .ok()
                        .filter(|merged| merged != existing.contact()),
                    currency: (existing.currency() != row.account.currency())
                        .then_some(row.account.currency()),
                };
                if !matches!(
                    &edit,
                    Change::EditAccount {
                        name: None,
                        contact: None,
                        currency: None,
                        ..
                    }
                ) {
                    changes.push(edit);
                }
                if let Some(terms) = row.payment_terms.filter(|t| *t != existing.payment_terms()) {
                    changes.push(Change::SetPaymentTerms {
                        id: id.clone(),
                        terms,
                    });
                }
                for tag in row
                    .tags
                    .into_iter()
                    .filter(|t| !existing.tags().contains(t))
                {
                    changes.push(Change::Tag {
                        id: id.clone(),
                        tag,
                    });
                }
                for (system, external_id) in row.external {
                    if existing.external_ids().get(&system) != Some(&external_id) {
                        changes.push(Change::SetExternalId {
                            id: id.clone(),
                            system,
                            external_id,
                        });
                    }
                }
            }
        }
    }
    changes.extend(links);
    changes.extend(group);
    changes.extend(archive_children);
    changes.extend(archive_masters);
    Batch { changes }
}

fn master_id(key: &AccountKey, book: &AccountBook) -> AccountId {
    match book.by_key(key) {
        Some(known) => known.id().clone(),
        None => AccountId::from_key(key),
    }
}

/// Writes accounts as the accounts CSV (the import format), in id order. Cells a spreadsheet
/// would run as a formula are neutralised with a leading `'`.
pub fn export_accounts(book: &AccountBook) -> String {
    let mut csv = Csv::new(&ACCOUNT_COLUMNS);
    for a in book.iter() {
        let c = a.contact();
        let master_key = a
            .master()
            .and_then(|m| book.get(m))
            .map(|m| m.key().to_string());
        let mut cells = vec![
            a.key().to_string(),
            a.name().to_string(),
            a.currency().to_string(),
            format!("{}", a.state()).to_lowercase(),
            c.email().map(|e| e.as_str().to_owned()).unwrap_or_default(),
            c.phone().unwrap_or_default().to_owned(),
            c.address_lines().first().cloned().unwrap_or_default(),
            c.address_lines().get(1).cloned().unwrap_or_default(),
            c.address_lines().get(2).cloned().unwrap_or_default(),
            c.address_lines().get(3).cloned().unwrap_or_default(),
            c.country()
                .map(|x| x.as_str().to_owned())
                .unwrap_or_default(),
            c.organisation_number().unwrap_or_default().to_owned(),
            a.tags()
                .iter()
                .map(Tag::as_str)
                .collect::<Vec<_>>()
                .join("|"),
            master_key.unwrap_or_default(),
            if a.group_billing() {
                "true".into()
            } else {
                String::new()
            },
            a.created_on().to_string(),
        ];
        for column in EXTERNAL_COLUMNS {
            let system = column
                .trim_start_matches("ext_")
                .parse::<ExternalSystem>()
                .ok();
            cells.push(
                system
                    .and_then(|s| a.external_ids().get(&s).map(|id| id.to_string()))
                    .unwrap_or_default(),
            );
        }
        cells.push(
            Some(a.payment_terms())
                .filter(|t| *t != PaymentTerms::DEFAULT)
                .map(|t| t.days().to_string())
                .unwrap_or_default(),
        );
        csv.row(cells.iter().map(|c| neutralise(c)));
    }
    csv.finish()
}
