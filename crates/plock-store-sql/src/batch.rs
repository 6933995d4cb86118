//! A batch applied in a store's transaction.
//!
//! The account rules live in [`AccountBook`]: the batch's neighbourhood
//! ([`crate::neighbourhood::neighbourhood`]) is loaded into a book, every change is applied to it with
//! [`apply_to_book`] exactly as the memory store applies it, and at the end only the rows
//! that differ are written. Everything else (subscriptions, metrics, usage, runs) is written
//! change by change, its rules checked against the tables as the transaction sees them. The
//! first refusal returns; the store then rolls its transaction back.

use plock_core::store::{
    Batch, Change, StoreError, apply_to_book, check_currency_change, subscription_to_store,
};
use plock_core::{AccountBook, Subscription};

use crate::codec::owner_in;
use crate::neighbourhood::neighbourhood;
use crate::plan::AccountWrites;
use crate::rows::SubscriptionRow;
use crate::writer::{Run, Step, Writer};

/// Applies `batch` through `writer`, or returns the first refusal.
///
/// # Errors
/// The refusal, as the store contract words it, or the writer's failure.
pub fn apply<W: Writer>(writer: &mut W, batch: &Batch) -> Result<(), W::Error> {
    let original = neighbourhood(writer, batch)?;
    apply_on(writer, batch, original)
}

/// Applies `batch` through `writer` on `original`, a book of the stored accounts as the
/// writer's transaction sees them that holds at least the batch's neighbourhood (the whole
/// book, read in the same state, does): what [`apply`] does once it has read the
/// neighbourhood.
///
/// # Errors
/// As [`apply`].
pub fn apply_on<W: Writer>(
    writer: &mut W,
    batch: &Batch,
    original: AccountBook,
) -> Result<(), W::Error> {
    // The book as the changes leave it: a copy only when one of them can change an account
    // (a subscriptions import holds the whole book once, not twice).
    let changes_accounts = batch.changes.iter().any(changes_accounts);
    let mut copy = changes_accounts.then(|| original.clone());
    let mut dismissed = Vec::new();
    for (index, change) in batch.changes.iter().enumerate() {
        writer.at(index);
        let mut dismissed_key = None;
        if let Some(work) = copy.as_mut() {
            if let Change::Dismiss { id } = change {
                dismissed_key = work.get(id).map(|a| a.key().clone());
            }
            apply_to_book(work, index, change)?;
        }
        let work = copy.as_ref().unwrap_or(&original);
        match change {
            Change::Dismiss { id } => {
                if writer.has_subscriptions(id)? {
                    return Err(conflict(
                        index,
                        id.as_str(),
                        "has subscriptions; a dismissed account must have none",
                    ));
                }
                if let Some(key) = dismissed_key {
                    dismissed.push((index, id, key));
                }
            }
            Change::PutSubscription { subscription } => {
                put_subscription(writer, work, index, subscription)?;
            }
            Change::EditAccount {
                id,
                currency: Some(currency),
                ..
            } => {
                let theirs = writer.subscriptions_of(id)?;
                check_currency_change(index, id, *currency, &theirs)?;
            }
            Change::PutMetric { metric } => writer.put_metric(metric)?,
            Change::AddUsage { records } => {
                let step = Step {
                    index,
                    original: &original,
                    work,
                };
                writer.add_usage(step, records)?;
            }
            Change::RecordRun {
                invoices,
                billed,
                billed_usage,
            } => {
                let run = Run {
                    invoices,
                    billed,
                    billed_usage,
                };
                writer.record_run(index, run)?;
            }
            // Account changes: the book took them, the rows are written at the end.
            _ => {}
        }
    }
    // Usage of a dismissed account would be orphaned; checked once the batch's usage is in,
    // as the memory store checks it.
    for (index, id, key) in dismissed {
        writer.at(index);
        if writer.has_usage(&key)? {
            return Err(conflict(index, id.as_str(), "has usage records"));
        }
    }
    // A batch that changes no account leaves the book as read: no row differs.
    let work = copy.as_ref().unwrap_or(&original);
    let writes = match copy.as_ref() {
        Some(work) => AccountWrites::plan(&original, work, W::ACCOUNT_COLUMNS)?,
        None => AccountWrites::default(),
    };
    writer.write_accounts(&writes)?;
    writer.accounts_written(&original, work)
}

/// Can `change` change an account row? The changes [`apply_to_book`] leaves the book alone
/// for cannot.
fn changes_accounts(change: &Change) -> bool {
    !matches!(
        change,
        Change::PutSubscription { .. }
            | Change::PutMetric { .. }
            | Change::AddUsage { .. }
            | Change::RecordRun { .. }
    )
}

fn conflict<E: From<StoreError>>(index: usize, id: &str, reason: &'static str) -> E {
    E::from(StoreError::Conflict {
        index,
        what: "account",
        id: id.to_owned(),
        reason,
    })
}

/// Puts change `index`'s subscription: its account must be in the book and bill in its
/// currency, and it keeps what the stored one is billed through.
fn put_subscription<W: Writer>(
    writer: &mut W,
    work: &AccountBook,
    index: usize,
    subscription: &Subscription,
) -> Result<(), W::Error> {
    let stored = writer.watermarks(subscription.id())?;
    let is_stored = stored.is_some();
    let subscription = subscription_to_store(work, index, subscription, stored)?;
    let owner = work
        .get(subscription.account())
        .map(|a| owner_in(work, a))
        .unwrap_or_else(|| subscription.account().clone());
    writer.put_subscription(SubscriptionRow {
        subscription: &subscription,
        owner: &owner,
        stored: is_stored,
    })
}
