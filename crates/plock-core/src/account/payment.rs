//! An account's payment terms: the days between an invoice's issue and its due date.

use std::fmt;

use chrono::{Days, NaiveDate};
use serde::{Deserialize, Serialize};

use crate::account::error::AccountError;

/// The days an account has to pay an invoice, from the day it is issued: 0 (due on issue) to
/// [`PaymentTerms::MAX_DAYS`]. [`PaymentTerms::DEFAULT`] is 30 days, the common net terms.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::account::PaymentTerms;
///
/// let issued = NaiveDate::from_ymd_opt(2025, 2, 1).ok_or("no such date")?;
/// assert_eq!(PaymentTerms::DEFAULT.due(issued), NaiveDate::from_ymd_opt(2025, 3, 3));
/// assert_eq!(PaymentTerms::new(10)?.due(issued), NaiveDate::from_ymd_opt(2025, 2, 11));
/// assert!(PaymentTerms::new(366).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u16", into = "u16")]
pub struct PaymentTerms(u16);

impl PaymentTerms {
    /// 30 days: what an account has unless it says otherwise.
    pub const DEFAULT: PaymentTerms = PaymentTerms(30);
    /// The longest terms: a year.
    pub const MAX_DAYS: u16 = 365;

    /// Terms of `days` days.
    ///
    /// # Errors
    /// [`AccountError::Invalid`] (field `payment_terms`) past [`PaymentTerms::MAX_DAYS`].
    pub fn new(days: u16) -> Result<PaymentTerms, AccountError> {
        if days > Self::MAX_DAYS {
            return Err(AccountError::Invalid {
                field: "payment_terms",
                value: days.to_string(),
                reason: format!("at most {} days", Self::MAX_DAYS),
            });
        }
        Ok(PaymentTerms(days))
    }

    /// The days.
    pub fn days(self) -> u16 {
        self.0
    }

    /// The due date of an invoice issued on `issued`; `None` past the calendar's end.
    pub fn due(self, issued: NaiveDate) -> Option<NaiveDate> {
        issued.checked_add_days(Days::new(u64::from(self.0)))
    }
}

impl Default for PaymentTerms {
    fn default() -> PaymentTerms {
        PaymentTerms::DEFAULT
    }
}

impl TryFrom<u16> for PaymentTerms {
    type Error = AccountError;
    fn try_from(days: u16) -> Result<PaymentTerms, AccountError> {
        PaymentTerms::new(days)
    }
}

impl From<PaymentTerms> for u16 {
    fn from(terms: PaymentTerms) -> u16 {
        terms.0
    }
}

impl fmt::Display for PaymentTerms {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} days", self.0)
    }
}
