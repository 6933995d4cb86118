//! Identifiers: validated newtypes, so an account id never stands where a product id belongs.
//!
//! Ids are minted by the caller (a store, an importer); plock-core has no clock and no
//! randomness to mint them with.
//!
//! Every id is text of 1 to [`MAX_ID_CHARS`] characters, checked once by its constructor, so no
//! other code checks it again and one kind of id cannot be passed where another is expected. An
//! [`AccountId`] is the account's own stable id; an [`AccountKey`] is the customer's key in the
//! company's own systems, which usage records and imports refer to.
//!
//! ```
//! use plock_core::id::{AccountId, AccountKey, IdError, MetricId};
//!
//! let key = AccountKey::new("dentist-johnson")?;
//! // Imported and discovered accounts take their key as their id.
//! assert_eq!(AccountId::from_key(&key).as_str(), "dentist-johnson");
//! let metric: MetricId = "api_calls".parse()?;
//! assert_eq!(metric.to_string(), "api_calls");
//!
//! // A refusal names the kind of id, the value and the reason.
//! let refused = AccountId::new("").unwrap_err();
//! assert_eq!((refused.kind, refused.value.as_str()), ("account id", ""));
//! # Ok::<(), IdError>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use smol_str::SmolStr;

/// The longest identifier accepted, in characters.
pub const MAX_ID_CHARS: usize = 128;

/// Why a text is not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {kind} {value:?}: {reason}")]
pub struct IdError {
    /// Which identifier was being built (`"account id"`, `"metric"`, ...).
    pub kind: &'static str,
    /// The text as given, cut to its first 100 characters.
    pub value: String,
    /// What is wrong with it.
    pub reason: &'static str,
}

impl IdError {
    /// An error for `value` as the text of a `kind`, showing at most its first 100 characters.
    pub(crate) fn refused(kind: &'static str, value: &str, reason: &'static str) -> IdError {
        IdError {
            kind,
            value: shown(value),
            reason,
        }
    }
}

/// The most characters of a refused value an error repeats: a huge cell never becomes a huge
/// message.
const SHOWN_CHARS: usize = 100;

/// `value`, or its first [`SHOWN_CHARS`] characters and an ellipsis.
pub(crate) fn shown(value: &str) -> String {
    match value.char_indices().nth(SHOWN_CHARS) {
        None => value.to_owned(),
        Some((cut, _)) => format!("{}...", value.get(..cut).unwrap_or_default()),
    }
}

/// Characters that are invisible or reorder the text around them: zero-width characters, the
/// byte-order mark and the bidirectional controls. In an id they make two ids that look the
/// same differ, or one look like another.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{061C}'
            | '\u{FEFF}'
    )
}

fn validate(kind: &'static str, value: &str) -> Result<SmolStr, IdError> {
    let fail = |reason| IdError {
        kind,
        value: shown(value),
        reason,
    };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Err(fail("must not be empty"));
    }
    if trimmed.chars().count() > MAX_ID_CHARS {
        return Err(fail("must be at most 128 characters"));
    }
    if trimmed.chars().any(char::is_control) {
        return Err(fail("must not contain control characters"));
    }
    if trimmed.chars().any(is_invisible) {
        return Err(fail(
            "must not contain zero-width or bidirectional control characters",
        ));
    }
    Ok(SmolStr::new(trimmed))
}

/// Reads an identifier of kind `.0` from text, validated, without an owned `String` on the
/// way: a store reads hundreds of thousands of ids a billing run, and writes as many.
struct IdText(&'static str);

impl serde::de::Visitor<'_> for IdText {
    type Value = SmolStr;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string")
    }

    fn visit_str<E: serde::de::Error>(self, value: &str) -> Result<SmolStr, E> {
        validate(self.0, value).map_err(E::custom)
    }

    fn visit_bytes<E: serde::de::Error>(self, value: &[u8]) -> Result<SmolStr, E> {
        match std::str::from_utf8(value) {
            Ok(text) => self.visit_str(text),
            Err(_) => Err(E::invalid_value(serde::de::Unexpected::Bytes(value), &self)),
        }
    }
}

macro_rules! identifier {
    ($(#[$doc:meta])* $name:ident, $kind:literal) => {
        $(#[$doc])*
        ///
        /// Trimmed, 1 to 128 characters, no control, zero-width or bidirectional control
        /// characters.
        #[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(SmolStr);

        impl Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                deserializer.deserialize_str(IdText($kind)).map(Self)
            }
        }

        impl $name {
            /// Validates and builds the identifier.
            ///
            /// # Errors
            /// [`IdError`] when the text is empty, too long or holds control characters.
            pub fn new(value: impl AsRef<str>) -> Result<Self, IdError> {
                validate($kind, value.as_ref()).map(Self)
            }

            /// The identifier as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(s: &str) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl TryFrom<String> for $name {
            type Error = IdError;
            fn try_from(s: String) -> Result<Self, IdError> {
                Self::new(s)
            }
        }

        impl From<$name> for String {
            fn from(id: $name) -> String {
                id.0.into()
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }
    };
}

identifier!(
    /// The opaque, stable id of an account; never reused.
    ///
    /// ```
    /// use plock_core::AccountId;
    ///
    /// let id = AccountId::new("acc-0001")?;
    /// assert_eq!(id.as_str(), "acc-0001");
    /// // Empty, too long or with control characters: refused.
    /// assert!(AccountId::new("acc\n1").is_err());
    /// assert!(AccountId::new("x".repeat(129)).is_err());
    /// # Ok::<(), plock_core::id::IdError>(())
    /// ```
    AccountId,
    "account id"
);
identifier!(
    /// An account's primary key: the customer's key in the company's own database. Discovery,
    /// CSV import and usage records refer to accounts by it.
    ///
    /// ```
    /// use plock_core::{AccountId, AccountKey};
    ///
    /// let key: AccountKey = "crm-4711".parse()?;
    /// // An invisible character would make two keys that look alike differ: refused.
    /// assert!(AccountKey::new("crm-4711\u{200B}").is_err());
    /// assert_eq!(AccountId::from_key(&key).as_str(), "crm-4711");
    /// # Ok::<(), plock_core::id::IdError>(())
    /// ```
    AccountKey,
    "account key"
);
impl AccountId {
    /// The id an imported or discovered account takes: its key. Both share one validation,
    /// so the conversion cannot fail.
    pub fn from_key(key: &AccountKey) -> AccountId {
        AccountId(key.0.clone())
    }
}

identifier!(
    /// The id of a subscription.
    ///
    /// ```
    /// use plock_core::SubscriptionId;
    ///
    /// let id = SubscriptionId::new("sub-2025-001")?;
    /// assert_eq!(String::from(id), "sub-2025-001");
    /// # Ok::<(), plock_core::id::IdError>(())
    /// ```
    SubscriptionId,
    "subscription id"
);
identifier!(
    /// A product the company sells (a licence, an API plan).
    ///
    /// ```
    /// use plock_core::ProductId;
    ///
    /// let product = ProductId::new("licence")?;
    /// let refused = ProductId::new("").unwrap_err();
    /// assert_eq!(refused.kind, "product");
    /// assert_eq!(product.to_string(), "licence");
    /// # Ok::<(), plock_core::id::IdError>(())
    /// ```
    ProductId,
    "product"
);
identifier!(
    /// What usage is counted in (api calls, seats, GB).
    ///
    /// ```
    /// use plock_core::MetricId;
    ///
    /// let metric = MetricId::try_from(String::from("api_calls"))?;
    /// assert_eq!(metric.as_ref(), "api_calls");
    /// # Ok::<(), plock_core::id::IdError>(())
    /// ```
    MetricId,
    "metric"
);
identifier!(
    /// The id a data source gives one usage record; records sharing it count once.
    RecordId,
    "record id"
);
identifier!(
    /// The id of an invoice.
    InvoiceId,
    "invoice id"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_trimmed_and_validated() {
        assert_eq!(AccountId::new("  a-1 ").unwrap().as_str(), "a-1");
        let err = AccountId::new("   ").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid account id \"   \": must not be empty"
        );
        assert!(MetricId::new("api\ncalls").is_err());
        assert!(ProductId::new("x".repeat(MAX_ID_CHARS)).is_ok());
        assert!(ProductId::new("x".repeat(MAX_ID_CHARS + 1)).is_err());
    }

    #[test]
    fn keys_refuse_zero_width_and_bidirectional_controls() {
        for text in [
            "key\u{200B}2",
            "\u{202E}2yek",
            "key\u{2066}x",
            "\u{FEFF}key",
            "a\u{200D}b",
        ] {
            let err = AccountKey::new(text).unwrap_err();
            assert_eq!(
                err.reason, "must not contain zero-width or bidirectional control characters",
                "{text:?}"
            );
        }
        // Letters of any script stay welcome.
        assert!(AccountKey::new("tandläkare-ümit-سلام").is_ok());
    }

    #[test]
    fn an_error_shows_at_most_100_characters_of_the_value() {
        let err = AccountKey::new("x".repeat(50_000_000)).unwrap_err();
        assert_eq!(err.value, format!("{}...", "x".repeat(100)));
        assert!(err.to_string().len() < 200);
    }

    #[test]
    fn serde_validates_on_the_way_in() {
        assert!(serde_json::from_str::<AccountKey>("\"\"").is_err());
        let key: AccountKey = serde_json::from_str("\"cust-7\"").unwrap();
        assert_eq!(serde_json::to_string(&key).unwrap(), "\"cust-7\"");
    }
}
