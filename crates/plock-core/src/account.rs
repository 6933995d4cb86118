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

mod contact;
mod country;
mod error;
pub(crate) mod external;
mod held;
mod payment;
mod state;
pub(crate) mod tag;

pub use contact::{
    AccountName, Contact, ContactInput, Country, Email, MAX_ADDRESS_LINES, MAX_CONTACT_CHARS,
    MAX_NAME_CHARS,
};
pub use error::AccountError;
pub use external::{ExternalId, ExternalIds, ExternalSystem, MAX_EXTERNAL_CHARS, SystemKind};
pub use payment::PaymentTerms;
pub use state::{AccountState, Action};
pub use tag::{MAX_TAG_CHARS, MAX_TAGS_PER_ACCOUNT, Tag, TagFilter, Tags};

use chrono::NaiveDate;
use held::Held;

use crate::id::{AccountId, AccountKey};
use crate::money::Currency;

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
///
/// Serialized with its contact details, tags and external ids each named, empty or not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    id: AccountId,
    key: AccountKey,
    name: AccountName,
    /// Contact details, tags and external ids, boxed together.
    held: Held,
    currency: Currency,
    state: AccountState,
    master: Option<AccountId>,
    group_billing: bool,
    created_on: NaiveDate,
    /// The days it has to pay an invoice.
    payment_terms: PaymentTerms,
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
            held: Held::new(contact, Tags::EMPTY, ExternalIds::EMPTY),
            currency,
            state: AccountState::Active,
            master: None,
            group_billing: false,
            created_on,
            payment_terms: PaymentTerms::DEFAULT,
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
        self.held.contact()
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
        self.held.tags()
    }
    /// External system ids.
    pub fn external_ids(&self) -> &ExternalIds {
        self.held.external_ids()
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
    /// The days it has to pay an invoice ([`PaymentTerms::DEFAULT`] unless set).
    pub fn payment_terms(&self) -> PaymentTerms {
        self.payment_terms
    }
    /// The same account with `terms`.
    #[must_use]
    pub fn with_payment_terms(mut self, terms: PaymentTerms) -> Account {
        self.payment_terms = terms;
        self
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
        self.held.set_contact(contact);
    }
    /// Changes the billing currency (existing subscriptions keep theirs; billing refuses a
    /// mismatch).
    pub fn set_currency(&mut self, currency: Currency) {
        self.currency = currency;
    }
    /// Changes the payment terms of invoices issued from now on.
    pub fn set_payment_terms(&mut self, terms: PaymentTerms) {
        self.payment_terms = terms;
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
        self.held.tags_mut()
    }
    pub(crate) fn external_ids_mut(&mut self) -> &mut ExternalIds {
        self.held.external_ids_mut()
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
    fn contact_details_are_held_as_given_and_written_as_before() {
        let mut a = account("a");
        assert_eq!(a.contact(), &Contact::default());
        let empty = serde_json::to_value(&a).unwrap();
        // Written as the details themselves, empty or not, as before they were boxed.
        assert_eq!(
            empty["contact"],
            serde_json::to_value(Contact::default()).unwrap()
        );
        let details = Contact::new(&ContactInput {
            email: Some("billing@acme.se"),
            address_lines: vec!["Storgatan 1"],
            ..ContactInput::default()
        })
        .unwrap();
        a.set_contact(details.clone());
        assert_eq!(a.contact(), &details);
        let json = serde_json::to_value(&a).unwrap();
        assert_eq!(
            json["contact"],
            serde_json::json!({"email": "billing@acme.se", "phone": null,
                "address_lines": ["Storgatan 1"], "country": null, "organisation_number": null})
        );
        assert_eq!(serde_json::from_value::<Account>(json).unwrap(), a);
        a.set_contact(Contact::default());
        assert_eq!(serde_json::to_value(&a).unwrap(), empty);
    }

    #[test]
    #[cfg(target_pointer_width = "64")]
    fn an_account_takes_120_bytes() {
        // Accounts are held by the hundred thousand: the contact details, tags and external
        // ids (168 bytes) are boxed, and absent while empty. A larger account shows here
        // first.
        assert_eq!(std::mem::size_of::<Account>(), 120);
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
