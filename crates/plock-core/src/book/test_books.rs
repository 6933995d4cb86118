//! Books the unit tests build again and again.
#![allow(clippy::unwrap_used)]

use crate::account::{Account, AccountName, Contact};
use crate::book::AccountBook;
use crate::id::{AccountId, AccountKey};
use crate::money::Currency;

/// A book of EUR accounts whose id, key and name are each of `keys`.
pub(crate) fn keyed(keys: &[&str]) -> AccountBook {
    let mut book = AccountBook::new();
    for k in keys {
        book.add(Account::new(
            AccountId::new(k).unwrap(),
            AccountKey::new(k).unwrap(),
            AccountName::new(k).unwrap(),
            Contact::default(),
            Currency::EUR,
            chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap(),
        ))
        .unwrap();
    }
    book
}
