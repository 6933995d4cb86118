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

/// The columns of a source file.
pub const SOURCE_COLUMNS: [&str; 6] = [
    "key",
    "name",
    "currency",
    "email",
    "country",
    "organisation_number",
];

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
}

/// A field of a linked account the source has changed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldUpdate {
    /// The account.
    pub account: AccountId,
    /// The new name, when it changed.
    pub name: Option<AccountName>,
    /// The new contact, when it changed.
    pub contact: Option<Contact>,
    /// Whether the account must first be linked to the source (matched by key).
    pub link: bool,
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

    /// The batch that applies the plan (flags and dismissed keys change nothing).
    pub fn batch(&self) -> Batch {
        let mut changes = Vec::new();
        for account in &self.candidates {
            changes.push(Change::AddDiscovered {
                account: account.clone(),
            });
            if let Ok(id) = ExternalId::new(account.key().as_str()) {
                changes.push(Change::SetExternalId {
                    id: account.id().clone(),
                    system: self.source.clone(),
                    external_id: id,
                });
            }
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
        }
        Batch { changes }
    }
}

/// Compares a source's customers with the book.
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
    let mut seen = BTreeSet::new();
    let mut sorted: Vec<&SourceCustomer> = customers.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(&b.key));
    for c in sorted {
        if !seen.insert(&c.key) {
            continue;
        }
        let linked = ExternalId::new(c.key.as_str())
            .ok()
            .and_then(|ext| book.by_external_id(source, &ext));
        let known = linked.or_else(|| book.by_key(&c.key));
        match known {
            Some(account) => {
                let name = (account.name() != &c.name).then(|| c.name.clone());
                let merged = merge(account.contact(), &c.contact);
                let contact = (account.contact() != &merged).then_some(merged);
                let link = linked.is_none();
                if name.is_some() || contact.is_some() {
                    plan.updates.push(FieldUpdate {
                        account: account.id().clone(),
                        name,
                        contact,
                        link,
                    });
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
            && !seen.iter().any(|k| k.as_str() == ext.as_str())
        {
            plan.missing.push(account.id().clone());
        }
    }
    plan
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
        match (key, name, currency, contact) {
            (Ok(key), Ok(name), Ok(currency), Ok(contact)) => out.push(SourceCustomer {
                key,
                name,
                contact,
                currency,
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
