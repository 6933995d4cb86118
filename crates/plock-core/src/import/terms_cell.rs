//! An accounts row's `payment_terms` cell: whole days, 0 to [`PaymentTerms::MAX_DAYS`]. Like a
//! contact cell, an empty one keeps the stored terms on a re-import and the clear token
//! ([`super::contact_cells::CLEAR`]) resets them to [`PaymentTerms::DEFAULT`].

use super::contact_cells::CLEAR;
use crate::account::PaymentTerms;

/// What a `payment_terms` cell asks of an account's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TermsCell {
    /// Not given: a new account gets the default, a stored one keeps its terms.
    Keep,
    /// These terms.
    Set(PaymentTerms),
}

impl TermsCell {
    /// The cell's meaning, from its cleaned text (`None` when empty).
    ///
    /// # Errors
    /// The reason a given value is not whole days from 0 to the maximum.
    pub(super) fn parse(text: Option<&str>) -> Result<TermsCell, String> {
        let Some(text) = text else {
            return Ok(TermsCell::Keep);
        };
        if text.eq_ignore_ascii_case(CLEAR) {
            return Ok(TermsCell::Set(PaymentTerms::DEFAULT));
        }
        let whole_days = || format!("must be whole days, 0 to {}", PaymentTerms::MAX_DAYS);
        let days = text.trim().parse::<u16>().map_err(|_| whole_days())?;
        PaymentTerms::new(days)
            .map(TermsCell::Set)
            .map_err(|_| whole_days())
    }

    /// The terms of a new account.
    pub(super) fn for_new(self) -> PaymentTerms {
        match self {
            TermsCell::Keep => PaymentTerms::DEFAULT,
            TermsCell::Set(terms) => terms,
        }
    }

    /// The terms to store over `stored`, when they differ.
    pub(super) fn change_of(self, stored: PaymentTerms) -> Option<PaymentTerms> {
        match self {
            TermsCell::Set(terms) if terms != stored => Some(terms),
            TermsCell::Set(_) | TermsCell::Keep => None,
        }
    }

    /// The cell an export writes: empty for the default terms, so a default changed in a later
    /// version still reaches the accounts that never set their own.
    pub(super) fn export(terms: PaymentTerms) -> String {
        if terms == PaymentTerms::DEFAULT {
            String::new()
        } else {
            terms.days().to_string()
        }
    }
}
