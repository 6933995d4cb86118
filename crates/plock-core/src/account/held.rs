//! What an account holds beside its ids, name and states: its contact details, tags and
//! external ids, boxed together and absent while all three are empty; and the account's
//! serialized form, which names each of them as before.
//!
//! Accounts found in a company's data mostly have none of the three, and accounts are held
//! by the hundred thousand: inline the three take 168 bytes an account, boxed 8.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::account::contact::{AccountName, Contact};
use crate::account::external::ExternalIds;
use crate::account::payment::PaymentTerms;
use crate::account::state::AccountState;
use crate::account::tag::Tags;
use crate::id::{AccountId, AccountKey};
use crate::money::Currency;

/// The contact details, tags and external ids of one account.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Details {
    contact: Contact,
    tags: Tags,
    external_ids: ExternalIds,
}

/// What an account without details gives.
static NO_DETAILS: Details = Details {
    contact: Contact::EMPTY,
    tags: Tags::EMPTY,
    external_ids: ExternalIds::EMPTY,
};

/// An account's [`Details`]: none allocated until one of them is set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Held(Option<Box<Details>>);

impl Held {
    /// Holds the three: nothing is allocated when all are empty.
    pub(crate) fn new(contact: Contact, tags: Tags, external_ids: ExternalIds) -> Held {
        let details = Details {
            contact,
            tags,
            external_ids,
        };
        Held((details != NO_DETAILS).then(|| Box::new(details)))
    }

    fn get(&self) -> &Details {
        self.0.as_deref().unwrap_or(&NO_DETAILS)
    }

    fn get_mut(&mut self) -> &mut Details {
        self.0.get_or_insert_with(Box::default)
    }

    pub(crate) fn contact(&self) -> &Contact {
        &self.get().contact
    }
    pub(crate) fn tags(&self) -> &Tags {
        &self.get().tags
    }
    pub(crate) fn external_ids(&self) -> &ExternalIds {
        &self.get().external_ids
    }

    /// Sets the contact details; empty ones allocate nothing when nothing else is held.
    pub(crate) fn set_contact(&mut self, contact: Contact) {
        if self.0.is_none() && contact == Contact::EMPTY {
            return;
        }
        self.get_mut().contact = contact;
    }
    pub(crate) fn tags_mut(&mut self) -> &mut Tags {
        &mut self.get_mut().tags
    }
    pub(crate) fn external_ids_mut(&mut self) -> &mut ExternalIds {
        &mut self.get_mut().external_ids
    }
}

/// Held details are equal when what they give is: an emptied box equals none.
impl PartialEq for Held {
    fn eq(&self, other: &Held) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Held {}

fn is_default_terms(terms: &PaymentTerms) -> bool {
    *terms == PaymentTerms::DEFAULT
}

/// An account as written: its fields in their order, borrowed.
#[derive(Serialize)]
struct Written<'a> {
    id: &'a AccountId,
    key: &'a AccountKey,
    name: &'a AccountName,
    contact: &'a Contact,
    currency: Currency,
    state: AccountState,
    tags: &'a Tags,
    external_ids: &'a ExternalIds,
    master: Option<&'a AccountId>,
    group_billing: bool,
    created_on: NaiveDate,
    /// The days it has to pay an invoice.
    #[serde(skip_serializing_if = "is_default_terms")]
    payment_terms: PaymentTerms,
}

/// An account as read: the fields [`Written`] writes.
#[derive(Deserialize)]
struct Read {
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
    #[serde(default)]
    payment_terms: PaymentTerms,
}

impl Serialize for Account {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Written {
            id: self.id(),
            key: self.key(),
            name: self.name(),
            contact: self.contact(),
            currency: self.currency(),
            state: self.state(),
            tags: self.tags(),
            external_ids: self.external_ids(),
            master: self.master(),
            group_billing: self.group_billing(),
            created_on: self.created_on(),
            payment_terms: self.payment_terms(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Account {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Account, D::Error> {
        let read = Read::deserialize(deserializer)?;
        Ok(Account {
            id: read.id,
            key: read.key,
            name: read.name,
            held: Held::new(read.contact, read.tags, read.external_ids),
            currency: read.currency,
            state: read.state,
            master: read.master,
            group_billing: read.group_billing,
            created_on: read.created_on,
            payment_terms: read.payment_terms,
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::account::tests::account;
    use crate::account::{Account, Contact, Tag};
    use crate::book::AccountBook;

    #[test]
    fn details_set_then_emptied_equal_none_and_are_written_the_same() {
        let fresh = account("a");
        let written = serde_json::to_value(&fresh).unwrap();
        for field in ["contact", "tags", "external_ids"] {
            assert!(written.get(field).is_some(), "{field} is written");
        }
        let mut book = AccountBook::new();
        book.add(fresh.clone()).unwrap();
        let id = fresh.id().clone();
        let vip = Tag::new("vip").unwrap();
        book.tag(&id, vip.clone()).unwrap();
        let tagged = book.get(&id).unwrap().clone();
        assert!(tagged.tags().contains(&vip));
        assert_ne!(tagged, fresh);
        let json = serde_json::to_value(&tagged).unwrap();
        assert_eq!(json["tags"], serde_json::json!(["vip"]));
        assert_eq!(serde_json::from_value::<Account>(json).unwrap(), tagged);
        // Emptied again: the box stays, and the account is what it was.
        book.untag(&id, &vip).unwrap();
        let mut untagged = book.get(&id).unwrap().clone();
        assert_eq!(untagged, fresh);
        assert_eq!(serde_json::to_value(&untagged).unwrap(), written);
        untagged.set_contact(Contact::default());
        assert_eq!(untagged, fresh);
    }
}
