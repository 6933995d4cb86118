//! Discovery (docs/domain.md, section 10): customers found in a connected data source
//! become a sync plan — new Pending candidates, field updates, linked accounts missing from the
//! source — that a person reviews before it is applied.
//!
//! An account is linked to a source when it holds an external id in the source's system; a
//! candidate gets one (the source key), so later syncs update it instead of duplicating it.
//!
//! [`parse_source`] reads a source's customers ([`SOURCE_COLUMNS`]); [`plan_discovery`] compares
//! them with the book; [`SyncPlan::batch`] is what applying the reviewed plan changes.
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::ExternalSystem;
//! use plock_core::book::AccountBook;
//! use plock_core::discovery::{parse_source, plan_discovery};
//!
//! let today = NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?;
//! let source = "key,name,currency,email\n\
//!               hs-101,Dentist Johnson,SEK,johnson@dentist.example\n\
//!               hs-102,Retailer Acme,EUR,\n";
//! let customers = parse_source(source.as_bytes())?;
//! let plan = plan_discovery(&ExternalSystem::HubSpot, &customers, &AccountBook::new(), today);
//! // Two Pending candidates for a person to approve or dismiss.
//! assert_eq!(plan.candidates.len(), 2);
//! assert!(plan.updates.is_empty() && plan.missing.is_empty());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::account::{
    Account, AccountName, AccountState, Contact, ContactInput, ExternalId, ExternalSystem,
};
use crate::book::AccountBook;
use crate::id::{AccountId, AccountKey};
use crate::import::table::{ImportErrors, Table};
use crate::money::Currency;
use crate::store::{Batch, Change};

/// The columns of a source file: the customer, and its ids in other systems (the
/// accounts file's `ext_*` columns).
pub const SOURCE_COLUMNS: [&str; 12] = crate::import::with_external_columns!(
    "key",
    "name",
    "currency",
    "email",
    "country",
    "organisation_number",
);

/// One customer record of a data source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceCustomer {
    /// The source's key for the customer; becomes the account key.
    pub key: AccountKey,
    /// Its name.
    pub name: AccountName,
    /// Its contact details.
    pub contact: Contact,
    /// Its currency.
    pub currency: Currency,
    /// Its ids in other systems (a CRM, an ERP), as the source knows them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<(ExternalSystem, ExternalId)>,
}

/// A field of a linked account the source has changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldUpdate {
    /// The account.
    pub account: AccountId,
    /// The source's key for it.
    pub key: AccountKey,
    /// The new name, when it changed.
    pub name: Option<AccountName>,
    /// The new contact, when it changed.
    pub contact: Option<Contact>,
    /// Whether the account must first be linked to the source (matched by key): applying
    /// the plan gives it the source key as its id in the source system, so a later sync
    /// finds it by that id and flags it when the source no longer has it.
    pub link: bool,
    /// Ids in other systems the source gives and the account lacks or holds otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub external_ids: Vec<(ExternalSystem, ExternalId)>,
}

/// What a sync would change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPlan {
    /// The source system.
    pub source: ExternalSystem,
    /// New Pending accounts.
    pub candidates: Vec<Account>,
    /// Changes to linked accounts.
    pub updates: Vec<FieldUpdate>,
    /// Linked accounts the source no longer has: flagged, never archived automatically.
    pub missing: Vec<AccountId>,
    /// Source keys dismissed before: never proposed again.
    pub dismissed: Vec<AccountKey>,
}

impl SyncPlan {
    /// Is there nothing to apply?
    pub fn is_empty(&self) -> bool {
        self.candidates.is_empty() && self.updates.is_empty()
    }

    fn link(&self, changes: &mut Vec<Change>, id: &AccountId, key: &AccountKey) {
        if let Ok(external_id) = ExternalId::new(key.as_str()) {
            changes.push(Change::SetExternalId {
                id: id.clone(),
                system: self.source.clone(),
                external_id,
            });
        }
    }

    /// The batch an operator applies to act on the accounts flagged missing: archive them
    /// (`archive = true`; billing stops, history stays), or dismiss the flag by unlinking them
    /// from the source (their id in the source system is removed, so later syncs neither
    /// flag them nor match them by that id).
    pub fn settle_missing(&self, archive: bool) -> Batch {
        let changes = self
            .missing
            .iter()
            .map(|id| {
                if archive {
                    Change::Archive { id: id.clone() }
                } else {
                    Change::RemoveExternalId {
                        id: id.clone(),
                        system: self.source.clone(),
                    }
                }
            })
            .collect();
        Batch { changes }
    }

    /// The batch that applies the plan (flags and dismissed keys change nothing).
    pub fn batch(&self) -> Batch {
        let mut changes = Vec::new();
        for account in &self.candidates {
            changes.push(Change::AddDiscovered {
                account: account.clone(),
            });
            self.link(&mut changes, account.id(), account.key());
        }
        for update in &self.updates {
            if update.name.is_some() || update.contact.is_some() {
                changes.push(Change::EditAccount {
                    id: update.account.clone(),
                    name: update.name.clone(),
                    contact: update.contact.clone(),
                    currency: None,
                });
            }
            if update.link {
                self.link(&mut changes, &update.account, &update.key);
            }
            for (system, external_id) in &update.external_ids {
                changes.push(Change::SetExternalId {
                    id: update.account.clone(),
                    system: system.clone(),
                    external_id: external_id.clone(),
                });
            }
        }
        Batch { changes }
    }
}

/// Compares a source's customers with the book, in O(n log n) of the customers and the
/// accounts: every account is looked up by key or by id, never searched for.
///
/// A customer matched by its id in the source system is linked already; one matched only by
/// its key (an account added by hand or imported) is linked when the plan is applied, so it
/// is flagged missing once the source no longer has it. Candidates are linked too.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::AccountBook;
/// use plock_core::account::ExternalSystem;
/// use plock_core::discovery::{parse_source, plan_discovery};
/// use plock_core::store::apply_to_book;
///
/// let today = NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?;
/// let mut book = AccountBook::new();
/// let first = parse_source(b"key,name,currency\nhs-101,Dentist Johnson,SEK\n")?;
/// let plan = plan_discovery(&ExternalSystem::HubSpot, &first, &book, today);
/// for (index, change) in plan.batch().changes.iter().enumerate() {
///     apply_to_book(&mut book, index, change)?;
/// }
/// // The next sync finds the customer renamed, and updates the account it created.
/// let renamed = parse_source(b"key,name,currency\nhs-101,Johnson Dental Care,SEK\n")?;
/// let plan = plan_discovery(&ExternalSystem::HubSpot, &renamed, &book, today);
/// assert!(plan.candidates.is_empty());
/// let update = plan.updates.first().ok_or("no update")?;
/// assert_eq!(update.name.as_ref().map(|n| n.as_str()), Some("Johnson Dental Care"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan_discovery(
    source: &ExternalSystem,
    customers: &[SourceCustomer],
    book: &AccountBook,
    today: NaiveDate,
) -> SyncPlan {
    let mut plan = SyncPlan {
        source: source.clone(),
        candidates: Vec::new(),
        updates: Vec::new(),
        missing: Vec::new(),
        dismissed: Vec::new(),
    };
    let mut seen: BTreeSet<&str> = BTreeSet::new();
    let mut sorted: Vec<&SourceCustomer> = customers.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for c in sorted {
        if !seen.insert(c.key.as_str()) {
            continue;
        }
        let linked = ExternalId::new(c.key.as_str())
            .ok()
            .and_then(|ext| book.by_external_id(source, &ext));
        let known = linked.or_else(|| book.by_key(&c.key));
        match known {
            Some(account) => {
                if let Some(update) = update_of(source, c, account, linked.is_some(), book) {
                    plan.updates.push(update);
                }
            }
            None if book.is_dismissed(&c.key) => plan.dismissed.push(c.key.clone()),
            None => {
                let id = AccountId::from_key(&c.key);
                let account = Account::new(
                    id,
                    c.key.clone(),
                    c.name.clone(),
                    c.contact.clone(),
                    c.currency,
                    today,
                )
                .with_state(AccountState::Pending);
                plan.candidates.push(account);
            }
        }
    }
    for account in book.iter() {
        if let Some(ext) = account.external_ids().get(source)
            && account.state() != AccountState::Archived
            && !seen.contains(ext.as_str())
        {
            plan.missing.push(account.id().clone());
        }
    }
    plan
}

/// What the source changes of a known account, if anything: its name, its contact, its link
/// to the source, its ids in other systems (those no other account holds).
fn update_of(
    source: &ExternalSystem,
    c: &SourceCustomer,
    account: &Account,
    linked: bool,
    book: &AccountBook,
) -> Option<FieldUpdate> {
    let name = (account.name() != &c.name).then(|| c.name.clone());
    let merged = merge(account.contact(), &c.contact);
    let contact = (account.contact() != &merged).then_some(merged);
    // A key match links the account unless it holds another id in the source system.
    let link = !linked && account.external_ids().get(source).is_none();
    let external_ids: Vec<(ExternalSystem, ExternalId)> = c
        .external_ids
        .iter()
        .filter(|(system, _)| system != source)
        .filter(|(system, id)| account.external_ids().get(system) != Some(id))
        .filter(|(system, id)| book.by_external_id(system, id).is_none())
        .cloned()
        .collect();
    (name.is_some() || contact.is_some() || link || !external_ids.is_empty()).then(|| FieldUpdate {
        account: account.id().clone(),
        key: c.key.clone(),
        name,
        contact,
        link,
        external_ids,
    })
}

/// The source's contact fields over the account's: a field the source does not give is kept,
/// so a sync never wipes a phone number or address the source does not know.
fn merge(old: &Contact, new: &Contact) -> Contact {
    let input = ContactInput {
        email: new.email().or(old.email()).map(|e| e.as_str()),
        phone: new.phone().or(old.phone()),
        address_lines: if new.address_lines().is_empty() {
            old.address_lines()
        } else {
            new.address_lines()
        }
        .iter()
        .map(String::as_str)
        .collect(),
        country: new.country().or(old.country()).map(|c| c.as_str()),
        organisation_number: new.organisation_number().or(old.organisation_number()),
    };
    // Both inputs were valid contacts, so their fields validate again.
    Contact::new(&input).unwrap_or_else(|_| old.clone())
}

/// Reads a source file (CSV with [`SOURCE_COLUMNS`]).
///
/// # Errors
/// Every problem of the file at once.
pub fn parse_source(bytes: &[u8]) -> Result<Vec<SourceCustomer>, ImportErrors> {
    let table = Table::parse(bytes, &SOURCE_COLUMNS, &["key", "name", "currency"])?;
    let mut errors = table.problems.clone();
    let mut out = Vec::new();
    for row in &table.rows {
        let cell = |c: &str| table.cell(row, c);
        let key = AccountKey::new(cell("key").unwrap_or_default());
        let name = AccountName::new(cell("name").unwrap_or_default());
        let currency = cell("currency").unwrap_or_default().parse::<Currency>();
        let contact = Contact::new(&ContactInput {
            email: cell("email"),
            country: cell("country"),
            organisation_number: cell("organisation_number"),
            ..ContactInput::default()
        });
        let mut external_ids = Vec::new();
        for column in crate::import::EXTERNAL_COLUMNS {
            let Some(value) = cell(column).map(str::trim).filter(|v| !v.is_empty()) else {
                continue;
            };
            let system = column.trim_start_matches("ext_").parse::<ExternalSystem>();
            match (system, ExternalId::new(value)) {
                (Ok(system), Ok(id)) => external_ids.push((system, id)),
                (_, Err(e)) | (Err(e), _) => {
                    errors.push(row.line, column, value, e.to_string());
                }
            }
        }
        match (key, name, currency, contact) {
            (Ok(key), Ok(name), Ok(currency), Ok(contact)) => out.push(SourceCustomer {
                key,
                name,
                contact,
                currency,
                external_ids,
            }),
            (key, name, currency, contact) => {
                if let Err(e) = key {
                    errors.push(row.line, "key", &e.value, e.reason);
                }
                if let Err(e) = name {
                    errors.push(
                        row.line,
                        "name",
                        cell("name").unwrap_or_default(),
                        e.to_string(),
                    );
                }
                if let Err(e) = currency {
                    errors.push(
                        row.line,
                        "currency",
                        cell("currency").unwrap_or_default(),
                        e.to_string(),
                    );
                }
                if let Err(e) = contact {
                    errors.push(row.line, "contact", "", e.to_string());
                }
            }
        }
    }
    errors.into_result(out)
}
