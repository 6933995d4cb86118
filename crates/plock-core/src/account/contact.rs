//! An account's validated fields: its name and contact details.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::account::country;
use crate::account::error::AccountError;

/// The longest account name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// The longest contact text (phone, address line, organisation number), in characters.
pub const MAX_CONTACT_CHARS: usize = 200;
/// The most address lines of a contact.
pub const MAX_ADDRESS_LINES: usize = 4;

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
    /// No contact details.
    pub(crate) const EMPTY: Contact = Contact {
        email: None,
        phone: None,
        address_lines: Vec::new(),
        country: None,
        organisation_number: None,
    };

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
