//! Accounts (docs/domain.md, section 3): one end customer of the company, its validated
//! fields and its lifecycle state machine.
//!
//! An [`Account`] holds a customer's validated name, [`Contact`], billing currency, [`Tags`] and
//! [`ExternalIds`] (its ids in a CRM or an ERP). Its [`AccountState`] goes from Pending (found,
//! not confirmed) to Active (billed) to Archived (never billed again), and back to Active by a
//! restore. The rules that span accounts, such as unique keys and groups, are the
//! [`AccountBook`](crate::book::AccountBook)'s.
//!
//! ```
//! use chrono::NaiveDate;
//! use plock_core::account::{Account, AccountName, AccountState, Contact, ContactInput};
//! use plock_core::id::{AccountId, AccountKey};
//! use plock_core::money::Currency;
//!
//! let contact = Contact::new(&ContactInput {
//!     email: Some("billing@johnson.example"),
//!     country: Some("SE"),
//!     ..ContactInput::default()
//! })?;
//! let mut account = Account::new(
//!     AccountId::new("dentist-johnson")?,
//!     AccountKey::new("dentist-johnson")?,
//!     AccountName::new("Dentist Johnson")?,
//!     contact,
//!     Currency::SEK,
//!     NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?,
//! );
//! assert_eq!(account.state(), AccountState::Active);
//! account.archive()?;
//! assert_eq!(account.state(), AccountState::Archived);
//! // Only a Pending account can be approved; the refusal says so.
//! let refused = account.approve().unwrap_err();
//! assert!(refused.to_string().contains("only a Pending account can be approved"));
//!
//! // Contact details are validated: a country is an ISO 3166 alpha-2 code.
//! assert!(Contact::new(&ContactInput { country: Some("Sweden"), ..ContactInput::default() }).is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod country;
pub(crate) mod external;
pub(crate) mod tag;

pub use external::{ExternalId, ExternalIds, ExternalSystem, MAX_EXTERNAL_CHARS, SystemKind};
pub use tag::{MAX_TAG_CHARS, MAX_TAGS_PER_ACCOUNT, Tag, TagFilter, Tags};

use std::fmt;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::id::{AccountId, AccountKey, IdError};
use crate::money::Currency;

/// The longest account name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest contact text (phone, address line, organisation number), in characters.
pub const MAX_CONTACT_CHARS: usize = 200;
/// The most address lines of a contact.
pub const MAX_ADDRESS_LINES: usize = 4;

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

    fn rule(self) -> &'static str {
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

/// Trimmed, `1..=max` characters, no control characters.
fn text(field: &'static str, value: &str, max: usize) -> Result<String, AccountError> {
    let trimmed = value.trim();
    if trimmed.is_empty() {
        Err(AccountError::invalid(field, value, "must not be empty"))
    } else if trimmed.chars().count() > max {
        Err(AccountError::invalid(
            field,
            value,
            format!("must be at most {max} characters"),
        ))
    } else if trimmed.chars().any(char::is_control) {
        Err(AccountError::invalid(
            field,
            value,
            "must not contain control characters",
        ))
    } else {
        Ok(trimmed.to_owned())
    }
}

/// An account's name: trimmed, 1..=200 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct AccountName(String);

impl AccountName {
    /// Validates a name.
    ///
    /// # Errors
    /// [`AccountError::Invalid`] naming the field `name`.
    ///
    /// # Examples
    ///
    /// ```
    /// use plock_core::account::AccountName;
    ///
    /// assert_eq!(AccountName::new("  Dentist Johnson ")?.as_str(), "Dentist Johnson");
    /// let refused = AccountName::new("   ").unwrap_err();
    /// assert!(refused.to_string().contains("name"));
    /// # Ok::<(), plock_core::account::AccountError>(())
    /// ```
    pub fn new(value: &str) -> Result<AccountName, AccountError> {
        text("name", value, MAX_NAME_CHARS).map(AccountName)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for AccountName {
    type Error = AccountError;
    fn try_from(s: String) -> Result<AccountName, AccountError> {
        AccountName::new(&s)
    }
}
impl From<AccountName> for String {
    fn from(n: AccountName) -> String {
        n.0
    }
}
impl fmt::Display for AccountName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address: one `@` with a non-empty local part and a dotted domain, no spaces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Email(String);

impl Email {
    /// Validates an address (a plausibility check, not RFC 5322).
    ///
    /// # Errors
    /// [`AccountError::Invalid`] naming the field `email`.
    pub fn new(value: &str) -> Result<Email, AccountError> {
        let address = text("email", value, 254)?;
        let valid = match address.split_once('@') {
            Some((local, domain)) => {
                !local.is_empty()
                    && !domain.contains('@')
                    && domain.contains('.')
                    && !domain.starts_with('.')
                    && !domain.ends_with('.')
                    && !address.contains(char::is_whitespace)
            }
            None => false,
        };
        if valid {
            Ok(Email(address))
        } else {
            Err(AccountError::invalid(
                "email",
                value,
                "must look like name@example.com",
            ))
        }
    }

    /// The address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Email {
    type Error = AccountError;
    fn try_from(s: String) -> Result<Email, AccountError> {
        Email::new(&s)
    }
}
impl From<Email> for String {
    fn from(e: Email) -> String {
        e.0
    }
}

/// A country as an officially assigned ISO 3166-1 alpha-2 code (two upper-case letters from
/// the closed list: XX, ZZ, QQ and AA are refused).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Country(String);

impl Country {
    /// Validates a code; lower case is accepted and upper-cased.
    ///
    /// # Errors
    /// [`AccountError::Invalid`] naming the field `country`.
    pub fn new(value: &str) -> Result<Country, AccountError> {
        let code = value.trim().to_ascii_uppercase();
        if code.len() == 2 && country::is_assigned(&code) {
            Ok(Country(code))
        } else {
            Err(AccountError::invalid(
                "country",
                value,
                "must be an assigned ISO 3166-1 alpha-2 code such as SE",
            ))
        }
    }

    /// The code.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}
impl TryFrom<String> for Country {
    type Error = AccountError;
    fn try_from(s: String) -> Result<Country, AccountError> {
        Country::new(&s)
    }
}
impl From<Country> for String {
    fn from(c: Country) -> String {
        c.0
    }
}

/// Contact details as text, before validation (what a form, a CLI or a CSV row gives).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContactInput<'a> {
    /// E-mail address.
    pub email: Option<&'a str>,
    /// Phone number.
    pub phone: Option<&'a str>,
    /// Postal address lines.
    pub address_lines: Vec<&'a str>,
    /// ISO 3166 alpha-2 country.
    pub country: Option<&'a str>,
    /// Organisation number or VAT id.
    pub organisation_number: Option<&'a str>,
}

/// Validated contact details; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Contact {
    email: Option<Email>,
    phone: Option<String>,
    address_lines: Vec<String>,
    country: Option<Country>,
    organisation_number: Option<String>,
}

impl Contact {
    /// Validates contact details.
    ///
    /// # Errors
    /// The first invalid field, as [`AccountError::Invalid`].
    ///
    /// # Examples
    ///
    /// ```
    /// use plock_core::account::{AccountError, Contact, ContactInput};
    ///
    /// let contact = Contact::new(&ContactInput {
    ///     email: Some("ap@globex.example"),
    ///     address_lines: vec!["Storgatan 1", "111 22 Stockholm"],
    ///     country: Some("SE"),
    ///     ..ContactInput::default()
    /// })?;
    /// assert_eq!(contact.country().map(|c| c.as_str()), Some("SE"));
    /// assert_eq!(contact.address_lines().len(), 2);
    /// // The refusal names the field and the value.
    /// let refused = Contact::new(&ContactInput { email: Some("not an address"), ..ContactInput::default() }).unwrap_err();
    /// assert!(matches!(refused, AccountError::Invalid { field: "email", .. }));
    /// # Ok::<(), AccountError>(())
    /// ```
    pub fn new(input: &ContactInput<'_>) -> Result<Contact, AccountError> {
        if input.address_lines.len() > MAX_ADDRESS_LINES {
            return Err(AccountError::invalid(
                "address",
                &input.address_lines.join(" / "),
                format!("at most {MAX_ADDRESS_LINES} address lines"),
            ));
        }
        Ok(Contact {
            email: input.email.map(Email::new).transpose()?,
            phone: input
                .phone
                .map(|p| text("phone", p, MAX_CONTACT_CHARS))
                .transpose()?,
            address_lines: input
                .address_lines
                .iter()
                .map(|l| text("address", l, MAX_CONTACT_CHARS))
                .collect::<Result<_, _>>()?,
            country: input.country.map(Country::new).transpose()?,
            organisation_number: input
                .organisation_number
                .map(|o| text("organisation number", o, MAX_CONTACT_CHARS))
                .transpose()?,
        })
    }

    /// E-mail address.
    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
    }
    /// Phone number.
    pub fn phone(&self) -> Option<&str> {
        self.phone.as_deref()
    }
    /// Postal address lines.
    pub fn address_lines(&self) -> &[String] {
        &self.address_lines
    }
    /// Country.
    pub fn country(&self) -> Option<&Country> {
        self.country.as_ref()
    }
    /// Organisation number or VAT id.
    pub fn organisation_number(&self) -> Option<&str> {
        self.organisation_number.as_deref()
    }
}

/// One end customer of the company.
///
/// Links to other accounts and external ids are changed only through
/// [`AccountBook`](crate::book::AccountBook), which enforces the rules no single account can.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::Account;
/// use plock_core::account::{AccountName, AccountState, Contact};
/// use plock_core::id::{AccountId, AccountKey};
/// use plock_core::money::Currency;
///
/// // Found in the company's data, waiting for a person to confirm it.
/// let mut found = Account::new(
///     AccountId::new("cafe-lind")?,
///     AccountKey::new("cafe-lind")?,
///     AccountName::new("Cafe Lind")?,
///     Contact::default(),
///     Currency::SEK,
///     NaiveDate::from_ymd_opt(2025, 1, 20).ok_or("no such date")?,
/// )
/// .with_state(AccountState::Pending);
/// found.approve()?;
/// assert_eq!(found.state(), AccountState::Active);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Account {
    id: AccountId,
    key: AccountKey,
    name: AccountName,
    contact: Contact,
    currency: Currency,
    state: AccountState,
    tags: Tags,
    external_ids: ExternalIds,
    master: Option<AccountId>,
    group_billing: bool,
    created_on: NaiveDate,
}

impl Account {
    /// A new Active account, as added by hand.
    ///
    /// ```
    /// use chrono::NaiveDate;
    /// use plock_core::Account;
    /// use plock_core::account::{AccountName, AccountState, Contact};
    /// use plock_core::id::{AccountId, AccountKey};
    /// use plock_core::money::Currency;
    ///
    /// let account = Account::new(
    ///     AccountId::new("dentist-johnson")?,
    ///     AccountKey::new("dentist-johnson")?,
    ///     AccountName::new("Dentist Johnson")?,
    ///     Contact::default(),
    ///     Currency::SEK,
    ///     NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?,
    /// );
    /// assert_eq!(account.state(), AccountState::Active);
    /// assert_eq!(account.currency(), Currency::SEK);
    /// assert!(account.master().is_none() && account.tags().is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        id: AccountId,
        key: AccountKey,
        name: AccountName,
        contact: Contact,
        currency: Currency,
        created_on: NaiveDate,
    ) -> Account {
        Account {
            id,
            key,
            name,
            contact,
            currency,
            state: AccountState::Active,
            tags: Tags::default(),
            external_ids: ExternalIds::default(),
            master: None,
            group_billing: false,
            created_on,
        }
    }

    /// A new account in `state`: a CSV import may bring Pending or Archived accounts, and
    /// discovery brings Pending ones.
    pub fn with_state(mut self, state: AccountState) -> Account {
        self.state = state;
        self
    }

    /// The opaque, stable id.
    pub fn id(&self) -> &AccountId {
        &self.id
    }
    /// The customer's key in the company's own database.
    pub fn key(&self) -> &AccountKey {
        &self.key
    }
    /// The name.
    pub fn name(&self) -> &AccountName {
        &self.name
    }
    /// Contact details.
    pub fn contact(&self) -> &Contact {
        &self.contact
    }
    /// Billing currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// Lifecycle state.
    pub fn state(&self) -> AccountState {
        self.state
    }
    /// Tags.
    pub fn tags(&self) -> &Tags {
        &self.tags
    }
    /// External system ids.
    pub fn external_ids(&self) -> &ExternalIds {
        &self.external_ids
    }
    /// The master, when the account is a child.
    pub fn master(&self) -> Option<&AccountId> {
        self.master.as_ref()
    }
    /// Is group billing on (meaningful on a master)?
    pub fn group_billing(&self) -> bool {
        self.group_billing
    }
    /// The date the account was created.
    pub fn created_on(&self) -> NaiveDate {
        self.created_on
    }

    /// Pending -> Active.
    ///
    /// # Errors
    /// [`AccountError::Transition`] from any other state.
    pub fn approve(&mut self) -> Result<(), AccountError> {
        self.transition(Action::Approve, AccountState::Pending, AccountState::Active)
    }

    /// Active -> Archived. A master with live children is refused by the
    /// [`AccountBook`](crate::book::AccountBook), which knows the children.
    ///
    /// # Errors
    /// [`AccountError::Transition`] from any other state.
    pub fn archive(&mut self) -> Result<(), AccountError> {
        self.transition(
            Action::Archive,
            AccountState::Active,
            AccountState::Archived,
        )
    }

    /// Archived -> Active.
    ///
    /// # Errors
    /// [`AccountError::Transition`] from any other state.
    pub fn restore(&mut self) -> Result<(), AccountError> {
        self.transition(
            Action::Restore,
            AccountState::Archived,
            AccountState::Active,
        )
    }

    /// Checks that the account may be dismissed (Pending); the book removes it.
    ///
    /// # Errors
    /// [`AccountError::Transition`] from any other state.
    pub fn check_dismiss(&self) -> Result<(), AccountError> {
        self.require(Action::Dismiss, AccountState::Pending)
    }

    /// Renames the account.
    pub fn set_name(&mut self, name: AccountName) {
        self.name = name;
    }
    /// Replaces the contact details.
    pub fn set_contact(&mut self, contact: Contact) {
        self.contact = contact;
    }
    /// Changes the billing currency (existing subscriptions keep theirs; billing refuses a
    /// mismatch).
    pub fn set_currency(&mut self, currency: Currency) {
        self.currency = currency;
    }

    pub(crate) fn require(&self, action: Action, state: AccountState) -> Result<(), AccountError> {
        if self.state == state {
            Ok(())
        } else {
            Err(AccountError::Transition {
                account: self.id.clone(),
                state: self.state,
                action,
            })
        }
    }

    fn transition(
        &mut self,
        action: Action,
        from: AccountState,
        to: AccountState,
    ) -> Result<(), AccountError> {
        self.require(action, from)?;
        self.state = to;
        Ok(())
    }

    pub(crate) fn tags_mut(&mut self) -> &mut Tags {
        &mut self.tags
    }
    pub(crate) fn external_ids_mut(&mut self) -> &mut ExternalIds {
        &mut self.external_ids
    }
    pub(crate) fn set_master(&mut self, master: Option<AccountId>) {
        self.master = master;
    }
    pub(crate) fn set_group_billing_flag(&mut self, on: bool) {
        self.group_billing = on;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub(crate) fn account(id: &str) -> Account {
        Account::new(
            AccountId::new(id).unwrap(),
            AccountKey::new(format!("key-{id}")).unwrap(),
            AccountName::new(&format!("Customer {id}")).unwrap(),
            Contact::default(),
            Currency::SEK,
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        )
    }

    #[test]
    fn transitions_allowed() {
        let mut a = account("a").with_state(AccountState::Pending);
        a.approve().unwrap();
        assert_eq!(a.state(), AccountState::Active);
        a.archive().unwrap();
        assert_eq!(a.state(), AccountState::Archived);
        a.restore().unwrap();
        assert_eq!(a.state(), AccountState::Active);
        assert!(
            account("p")
                .with_state(AccountState::Pending)
                .check_dismiss()
                .is_ok()
        );
    }

    #[test]
    fn transitions_refused_from_every_other_state() {
        use AccountState::*;
        let cases: [(Action, &[AccountState]); 4] = [
            (Action::Approve, &[Active, Archived]),
            (Action::Archive, &[Pending, Archived]),
            (Action::Restore, &[Pending, Active]),
            (Action::Dismiss, &[Active, Archived]),
        ];
        for (action, states) in cases {
            for &state in states {
                let mut a = account("a").with_state(state);
                let before = a.clone();
                let result = match action {
                    Action::Approve => a.approve(),
                    Action::Archive => a.archive(),
                    Action::Restore => a.restore(),
                    Action::Dismiss => a.check_dismiss(),
                    Action::Link => unreachable!(),
                };
                assert_eq!(
                    result,
                    Err(AccountError::Transition {
                        account: a.id().clone(),
                        state,
                        action
                    }),
                    "{action} from {state}"
                );
                assert_eq!(a, before, "a refused {action} changed the account");
            }
        }
    }

    #[test]
    fn name_validation() {
        assert_eq!(AccountName::new("  Acme AB ").unwrap().as_str(), "Acme AB");
        assert!(AccountName::new("").is_err());
        assert!(AccountName::new("  ").is_err());
        assert!(AccountName::new("Acme\u{7}").is_err());
        assert!(AccountName::new(&"n".repeat(MAX_NAME_CHARS)).is_ok());
        assert!(AccountName::new(&"n".repeat(MAX_NAME_CHARS + 1)).is_err());
    }

    #[test]
    fn contact_validation() {
        let ok = ContactInput {
            email: Some("billing@acme.se"),
            phone: Some("+46 8 123 45"),
            address_lines: vec!["Storgatan 1", "111 22 Stockholm"],
            country: Some("se"),
            organisation_number: Some("556677-8899"),
        };
        let c = Contact::new(&ok).unwrap();
        assert_eq!(c.country().unwrap().as_str(), "SE");
        assert_eq!(c.email().unwrap().as_str(), "billing@acme.se");
        for bad_email in [
            "no-at", "@acme.se", "a@b", "a@.se", "a@se.", "a b@c.se", "a@b@c.se",
        ] {
            let input = ContactInput {
                email: Some(bad_email),
                ..ContactInput::default()
            };
            let err = Contact::new(&input).unwrap_err();
            assert!(
                matches!(err, AccountError::Invalid { field: "email", .. }),
                "{bad_email}: {err}"
            );
        }
        for bad_country in ["SWE", "S", "1A", ""] {
            let input = ContactInput {
                country: Some(bad_country),
                ..ContactInput::default()
            };
            assert!(Contact::new(&input).is_err(), "{bad_country}");
        }
        let too_many = ContactInput {
            address_lines: vec!["a"; MAX_ADDRESS_LINES + 1],
            ..ContactInput::default()
        };
        assert!(Contact::new(&too_many).is_err());
        let at_limit = ContactInput {
            address_lines: vec!["a"; MAX_ADDRESS_LINES],
            ..ContactInput::default()
        };
        assert!(Contact::new(&at_limit).is_ok());
        let bad_phone = ContactInput {
            phone: Some("12\n34"),
            ..ContactInput::default()
        };
        assert!(Contact::new(&bad_phone).is_err());
    }

    #[test]
    fn serde_round_trip_validates() {
        let a = account("a");
        let json = serde_json::to_string(&a).unwrap();
        assert_eq!(serde_json::from_str::<Account>(&json).unwrap(), a);
        let broken = json.replace("Customer a", "");
        assert!(serde_json::from_str::<Account>(&broken).is_err());
    }
}
