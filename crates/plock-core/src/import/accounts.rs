//! The accounts CSV: one row per account, keyed by its key.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::account_row::{AccountRow, column_of};
use super::contact_cells::ContactCells;
use super::progress::RowProgress;
use super::table::{ImportErrors, Row, Table};
use super::terms_cell::TermsCell;
use super::{Csv, cell_text, neutralise, parse_bool, parse_date};
use crate::account::{Account, AccountName, AccountState, ExternalId, ExternalSystem, Tag};
use crate::book::AccountBook;
use crate::id::{AccountId, AccountKey};
use crate::money::Currency;
use crate::store::{Batch, Change};

/// The external systems with a column of their own (`ext_<name>`).
pub const EXTERNAL_COLUMNS: [&str; 6] = super::with_external_columns!();

/// The columns of the accounts CSV, in export order.
pub const ACCOUNT_COLUMNS: [&str; 23] = super::with_external_columns!(
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
    "payment_terms",
);

pub(super) const REQUIRED: [&str; 3] = ["key", "name", "currency"];

fn parse_state(text: &str) -> Result<AccountState, String> {
    match text.to_ascii_lowercase().as_str() {
        "active" => Ok(AccountState::Active),
        "pending" => Ok(AccountState::Pending),
        "archived" => Ok(AccountState::Archived),
        _ => Err("must be active, pending or archived".into()),
    }
}

/// Records a refused cell; gives the value when it is valid.
fn keep<T>(
    errors: &mut ImportErrors,
    line: u64,
    column: &str,
    value: &str,
    result: Result<T, String>,
) -> Option<T> {
    result
        .map_err(|reason| errors.push(line, column, value, reason))
        .ok()
}

pub(super) fn parse_row(
    t: &Table,
    row: &Row,
    today: NaiveDate,
    errors: &mut ImportErrors,
) -> Option<AccountRow> {
    let before = errors.total();
    let line = row.line;
    let text = |c: &str| cell_text(t, row, c);
    let given = |c: &str| text(c).unwrap_or_default();
    let key_text = given("key");
    let key = AccountKey::new(&key_text).map_err(|e| e.reason.to_owned());
    let key = keep(errors, line, "key", &key_text, key);
    let name_text = given("name");
    let name = AccountName::new(&name_text).map_err(|e| reason_of(&e));
    let name = keep(errors, line, "name", &name_text, name);
    let currency_text = given("currency");
    let currency = currency_text.parse::<Currency>().map_err(|e| e.to_string());
    let currency = keep(errors, line, "currency", &currency_text, currency);
    let state = text("state").map_or(Ok(AccountState::Active), |s| parse_state(&s));
    let state = keep(errors, line, "state", &given("state"), state);
    let cells = ContactCells::read(text);
    let contact = match cells.new_contact() {
        Ok(contact) => Some(contact),
        Err(crate::account::AccountError::Invalid {
            field,
            value,
            reason,
        }) => keep(errors, line, column_of(field), &value, Err(reason)),
        Err(_) => None,
    };
    let tags = tags_of(text("tags"), line, errors);
    let master = master_of(text("master_key"), line, errors);
    let group_billing = text("group_billing").map_or(Ok(false), |g| parse_bool(&g));
    let group_billing = keep(
        errors,
        line,
        "group_billing",
        &given("group_billing"),
        group_billing,
    );
    let created = text("created").map_or(Ok(today), |c| parse_date(&c));
    let created = keep(errors, line, "created", &given("created"), created);
    let external = external_of(&text, line, errors);
    let terms = TermsCell::parse(text("payment_terms").as_deref());
    let payment_terms = keep(
        errors,
        line,
        "payment_terms",
        &given("payment_terms"),
        terms,
    );
    if errors.total() != before {
        return None;
    }
    let (key, name, currency, state, contact, group_billing, created, payment_terms) = (
        key?,
        name?,
        currency?,
        state?,
        contact?,
        group_billing?,
        created?,
        payment_terms?,
    );
    let id = AccountId::from_key(&key);
    Some(AccountRow {
        line,
        cells,
        account: Account::new(id, key, name, contact, currency, created)
            .with_payment_terms(payment_terms.for_new()),
        tags,
        external,
        state,
        master,
        group_billing,
        payment_terms,
    })
}

/// The tags of a `tags` cell, `|`-separated; a refused one is an error.
fn tags_of(list: Option<String>, line: u64, errors: &mut ImportErrors) -> Vec<Tag> {
    let Some(list) = list else {
        return Vec::new();
    };
    list.split('|')
        .filter_map(|part| {
            let tag = Tag::new(part).map_err(|e| e.reason.to_owned());
            keep(errors, line, "tags", part, tag)
        })
        .collect()
}

/// The master key of a `master_key` cell; a refused one is an error.
fn master_of(text: Option<String>, line: u64, errors: &mut ImportErrors) -> Option<AccountKey> {
    let text = text?;
    let master = AccountKey::new(&text).map_err(|e| e.reason.to_owned());
    keep(errors, line, "master_key", &text, master)
}

/// The ids in other systems of the `ext_*` cells; a refused one is an error.
fn external_of(
    text: &dyn Fn(&str) -> Option<String>,
    line: u64,
    errors: &mut ImportErrors,
) -> Vec<(ExternalSystem, ExternalId)> {
    let mut external = Vec::new();
    for column in EXTERNAL_COLUMNS {
        if let Some(value) = text(column) {
            let system = column.trim_start_matches("ext_").parse::<ExternalSystem>();
            match (system, ExternalId::new(&value)) {
                (Ok(system), Ok(id)) => external.push((system, id)),
                (_, Err(e)) | (Err(e), _) => {
                    errors.push(line, column, &value, e.reason);
                }
            }
        }
    }
    external
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
/// payment terms, tags or external ids differ are updated; a different state, master or
/// group-billing switch is refused (change those with the account commands).
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
    plan_account_import_counted(bytes, book, today, &())
}

/// [`plan_account_import`], telling `progress` each chunk of rows checked.
///
/// # Errors
/// Every problem of the file at once; nothing is planned when there is one.
pub fn plan_account_import_counted(
    bytes: &[u8],
    book: &AccountBook,
    today: NaiveDate,
    progress: &dyn RowProgress,
) -> Result<Batch, ImportErrors> {
    super::streamed::plan_account_import_from(bytes, book, today, progress).map(|plan| plan.batch)
}

/// The changes that come after every account is added, in this order: links, group billing,
/// then archiving, children before their masters.
#[derive(Default)]
struct Deferred {
    links: Vec<Change>,
    group: Vec<Change>,
    archive_children: Vec<Change>,
    archive_masters: Vec<Change>,
}

pub(super) fn plan(rows: Vec<AccountRow>, book: &AccountBook) -> Batch {
    let mut changes = Vec::new();
    let mut deferred = Deferred::default();
    let masters: BTreeSet<AccountKey> = rows.iter().filter_map(|r| r.master.clone()).collect();
    for row in rows {
        match book.by_key(row.account.key()) {
            None => {
                let is_master = masters.contains(row.account.key());
                add_new(row, book, is_master, &mut changes, &mut deferred);
            }
            Some(existing) => update_existing(row, existing, &mut changes),
        }
    }
    changes.extend(deferred.links);
    changes.extend(deferred.group);
    changes.extend(deferred.archive_children);
    changes.extend(deferred.archive_masters);
    Batch { changes }
}

/// The changes that add a new account: the account, its tags and external ids now; its link,
/// group billing and archiving once every account exists.
fn add_new(
    row: AccountRow,
    book: &AccountBook,
    is_master: bool,
    changes: &mut Vec<Change>,
    deferred: &mut Deferred,
) {
    let id = row.account.id().clone();
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
        deferred.links.push(Change::Link {
            child: id.clone(),
            master: master_id(master, book),
        });
    }
    if row.group_billing {
        deferred.group.push(Change::SetGroupBilling {
            master: id.clone(),
            on: true,
        });
    }
    if row.state == AccountState::Archived {
        if is_master {
            deferred.archive_masters.push(Change::Archive { id });
        } else {
            deferred.archive_children.push(Change::Archive { id });
        }
    }
}

/// The changes that bring a known account to its row: name, contact and currency where they
/// differ, payment terms the row gives, tags it lacks, external ids that differ.
fn update_existing(row: AccountRow, existing: &Account, changes: &mut Vec<Change>) {
    let id = existing.id().clone();
    let edit = Change::EditAccount {
        id: id.clone(),
        name: (existing.name() != row.account.name()).then(|| row.account.name().clone()),
        contact: row
            .cells
            .merged(existing.contact())
            .ok()
            .filter(|merged| merged != existing.contact()),
        currency: (existing.currency() != row.account.currency()).then_some(row.account.currency()),
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
    if let Some(terms) = row.payment_terms.change_of(existing.payment_terms()) {
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
            TermsCell::export(a.payment_terms()),
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
        csv.row(cells.iter().map(|c| neutralise(c)));
    }
    csv.finish()
}
