//! The rules every store applies the same way to the changes it writes: account changes go
//! through a working copy of the book, a subscription keeps how far it is billed, and an
//! account's currency changes only when none of its subscriptions bills in the old one.

use crate::account::AccountError;
use crate::book::AccountBook;
use crate::id::AccountId;
use crate::money::Currency;
use crate::store::{Change, StoreError};
use crate::subscription::{BilledThrough, Subscription, SubscriptionError};

/// The subscription a store writes for change `index`, `PutSubscription { subscription }`:
/// its account must be in `book` and bill in its currency, and it keeps what the stored one,
/// if any, is billed through. What a subscription is billed through is the store's to keep:
/// an import or an edit writing it again never makes its days billable again.
///
/// # Errors
/// [`StoreError::NotFound`] for an unknown account, [`StoreError::Subscription`] for another
/// currency.
pub fn subscription_to_store(
    book: &AccountBook,
    index: usize,
    subscription: &Subscription,
    stored: Option<BilledThrough>,
) -> Result<Subscription, StoreError> {
    let Some(account) = book.get(subscription.account()) else {
        return Err(StoreError::NotFound {
            index,
            what: "account",
            id: subscription.account().to_string(),
        });
    };
    if account.currency() != subscription.currency() {
        return Err(StoreError::Subscription {
            index,
            source: SubscriptionError::CurrencyMismatch {
                subscription: subscription.id().clone(),
                subscription_currency: subscription.currency(),
                account_currency: account.currency(),
            },
        });
    }
    let mut subscription = subscription.clone();
    if let Some(stored) = stored {
        subscription.record_billed(stored);
    }
    Ok(subscription)
}

/// Refuses change `index`, which sets account `id`'s currency to `currency`, while one of
/// `subscriptions` (the account's) in another currency still bills
/// ([`Subscription::holds_currency`]): its next run could not bill it. Stores call it for
/// every `EditAccount` that sets a currency, so the account commands and a re-import are
/// refused alike.
///
/// # Errors
/// [`StoreError::Conflict`] naming the account.
pub fn check_currency_change<'s>(
    index: usize,
    id: &AccountId,
    currency: Currency,
    subscriptions: impl IntoIterator<Item = &'s Subscription>,
) -> Result<(), StoreError> {
    let holding = subscriptions
        .into_iter()
        .any(|s| s.account() == id && s.currency() != currency && s.holds_currency());
    if holding {
        return Err(StoreError::Conflict {
            index,
            what: "account",
            id: id.to_string(),
            reason: "has subscriptions still billing in its currency; end them and bill them \
                     through their end before changing it",
        });
    }
    Ok(())
}

/// Applies change `index` to `book` when it is an account change; other changes are left to
/// the store. Stores call it on a working copy of the book, so the domain rules are checked
/// before anything is written.
///
/// # Errors
/// [`StoreError::Account`] naming the change's index.
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};
/// use plock_core::account::{AccountName, Contact};
/// use plock_core::store::{Change, StoreError, apply_to_book};
///
/// let mut book = AccountBook::new();
/// let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
/// let account = Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, day);
/// apply_to_book(&mut book, 0, &Change::AddAccount { account })?;
/// // Archiving twice: the second change is refused, and the error names its index.
/// apply_to_book(&mut book, 1, &Change::Archive { id: AccountId::new("globex")? })?;
/// let refused = apply_to_book(&mut book, 2, &Change::Archive { id: AccountId::new("globex")? });
/// assert!(matches!(refused, Err(StoreError::Account { index: 2, .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn apply_to_book(
    book: &mut AccountBook,
    index: usize,
    change: &Change,
) -> Result<(), StoreError> {
    let refused = |source| StoreError::Account { index, source };
    match change {
        Change::AddAccount { account } => book.add(account.clone()).map_err(refused),
        Change::AddDiscovered { account } => book.add_discovered(account.clone()).map_err(refused),
        Change::EditAccount {
            id,
            name,
            contact,
            currency,
        } => {
            if book.get(id).is_none() {
                return Err(refused(AccountError::NotFound {
                    account: id.clone(),
                }));
            }
            if let Some(name) = name {
                book.rename(id, name.clone()).map_err(refused)?;
            }
            if let Some(contact) = contact {
                book.set_contact(id, contact.clone()).map_err(refused)?;
            }
            if let Some(currency) = currency {
                book.set_currency(id, *currency).map_err(refused)?;
            }
            Ok(())
        }
        Change::Approve { id } => book.approve(id).map_err(refused),
        Change::Dismiss { id } => book.dismiss(id).map(drop).map_err(refused),
        Change::Archive { id } => book.archive(id).map_err(refused),
        Change::Restore { id } => book.restore(id).map_err(refused),
        Change::Link { child, master } => book.link(child, master).map_err(refused),
        Change::Unlink { child } => book.unlink(child).map_err(refused),
        Change::SetGroupBilling { master, on } => {
            book.set_group_billing(master, *on).map_err(refused)
        }
        Change::Tag { id, tag } => book.tag(id, tag.clone()).map_err(refused),
        Change::Untag { id, tag } => book.untag(id, tag).map_err(refused),
        Change::SetExternalId {
            id,
            system,
            external_id,
        } => book
            .set_external_id(id, system.clone(), external_id.clone())
            .map_err(refused),
        Change::RemoveExternalId { id, system } => book
            .remove_external_id(id, system)
            .map(drop)
            .map_err(refused),
        Change::PutSubscription { .. }
        | Change::PutMetric { .. }
        | Change::AddUsage { .. }
        | Change::RecordRun { .. } => Ok(()),
    }
}
