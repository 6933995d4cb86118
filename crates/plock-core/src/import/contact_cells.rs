//! An accounts row's contact cells, and how a re-import merges them into a stored account: an
//! empty cell keeps the stored value, [`CLEAR`] removes it, any other value replaces it.

use crate::account::{AccountError, Contact, ContactInput};

/// The cell text that clears a stored contact field on re-import (an empty cell keeps it).
pub const CLEAR: &str = "(none)";

/// One cell: not given (keep), cleared, or a value.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cell {
    Keep,
    Clear,
    Value(String),
}

impl Cell {
    fn of(text: Option<String>) -> Cell {
        match text {
            None => Cell::Keep,
            Some(t) if t.eq_ignore_ascii_case(CLEAR) => Cell::Clear,
            Some(t) => Cell::Value(t),
        }
    }

    /// The value for a new account: only a given value.
    fn given(&self) -> Option<&str> {
        match self {
            Cell::Value(v) => Some(v),
            Cell::Keep | Cell::Clear => None,
        }
    }

    /// The value after a re-import over `stored`.
    fn over<'a>(&'a self, stored: Option<&'a str>) -> Option<&'a str> {
        match self {
            Cell::Keep => stored,
            Cell::Clear => None,
            Cell::Value(v) => Some(v),
        }
    }
}

/// The contact cells of one accounts row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ContactCells {
    email: Cell,
    phone: Cell,
    address: [Cell; 4],
    country: Cell,
    organisation_number: Cell,
}

impl ContactCells {
    /// The cells of a row, read with `text` (a column's cleaned cell, `None` when empty).
    pub(super) fn read(text: impl Fn(&str) -> Option<String>) -> ContactCells {
        ContactCells {
            email: Cell::of(text("email")),
            phone: Cell::of(text("phone")),
            address: ["address_1", "address_2", "address_3", "address_4"]
                .map(|c| Cell::of(text(c))),
            country: Cell::of(text("country")),
            organisation_number: Cell::of(text("organisation_number")),
        }
    }

    /// The contact of a new account: the values given.
    ///
    /// # Errors
    /// The first invalid field.
    pub(super) fn new_contact(&self) -> Result<Contact, AccountError> {
        Contact::new(&ContactInput {
            email: self.email.given(),
            phone: self.phone.given(),
            address_lines: self.address.iter().filter_map(Cell::given).collect(),
            country: self.country.given(),
            organisation_number: self.organisation_number.given(),
        })
    }

    /// The contact of a stored account after this row: empty cells keep `stored`'s values.
    ///
    /// # Errors
    /// The first invalid field.
    pub(super) fn merged(&self, stored: &Contact) -> Result<Contact, AccountError> {
        let lines = stored.address_lines();
        let line = |i: usize| lines.get(i).map(String::as_str);
        Contact::new(&ContactInput {
            email: self.email.over(stored.email().map(|e| e.as_str())),
            phone: self.phone.over(stored.phone()),
            address_lines: self
                .address
                .iter()
                .enumerate()
                .filter_map(|(i, c)| c.over(line(i)))
                .collect(),
            country: self.country.over(stored.country().map(|c| c.as_str())),
            organisation_number: self.organisation_number.over(stored.organisation_number()),
        })
    }
}
