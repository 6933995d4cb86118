//! What each subscription is billed through, in `subscription_watermarks`: one narrow row per
//! subscription, apart from the subscription's own row with its items' JSON.
//!
//! A billing run moves most subscriptions' watermarks; kept in `subscriptions`, each move
//! rewrote a row of the items' JSON, which at M was the whole 127 MB table through the
//! write-ahead log and again at the checkpoint. A watermark that does not change is not
//! written at all: a write of the same values still dirties its page.

use chrono::NaiveDate;
use plock_core::billing::Billed;
use plock_core::store::StoreError;
use plock_core::subscription::BilledThrough;
use plock_store_sql::codec::billed_through;
use rusqlite::{Connection, OptionalExtension, Statement, params};

use crate::codec::Context;

/// The watermark columns as a subscription read joins them: `w.in_advance, w.in_arrears`
/// of `subscription_watermarks w`.
pub(crate) const JOIN: &str =
    "LEFT JOIN subscription_watermarks w ON w.subscription = subscriptions.id";

/// A watermark's two dates as the columns' text.
type Spelled = (Option<String>, Option<String>);

/// Each date as [`plock_core::period::date_text`] spells it: a run at M spells two watermarks of
/// each of 109,926 subscriptions on the writing thread.
fn spell(billed: &BilledThrough) -> Spelled {
    let one = |date: Option<&NaiveDate>| date.copied().map(plock_core::period::date_text);
    (
        one(billed.in_advance.as_ref()),
        one(billed.in_arrears.as_ref()),
    )
}

/// Subscription `id`'s watermark, or `None` when no subscription `id` is stored.
///
/// # Errors
/// [`StoreError::Backend`] for a failed read or a stored date that is not one.
pub(crate) fn read(tx: &Connection, id: &str) -> Result<Option<BilledThrough>, StoreError> {
    let row: Option<Spelled> = tx
        .prepare_cached(
            "SELECT w.in_advance, w.in_arrears FROM subscriptions \
             LEFT JOIN subscription_watermarks w ON w.subscription = subscriptions.id \
             WHERE subscriptions.id = ?1",
        )
        .and_then(|mut stmt| {
            stmt.query_row([id], |row| Ok((row.get(0)?, row.get(1)?)))
                .optional()
        })
        .context("reading what a subscription is billed through")?;
    row.map(|(in_advance, in_arrears)| billed_through(in_advance, in_arrears))
        .transpose()
}

/// Stores `billed` as subscription `id`'s watermark, writing nothing when it is the stored
/// one already.
///
/// # Errors
/// [`StoreError::Backend`] for a failed write.
pub(crate) fn put(tx: &Connection, id: &str, billed: &BilledThrough) -> Result<(), StoreError> {
    let (in_advance, in_arrears) = spell(billed);
    tx.prepare_cached(
        "INSERT INTO subscription_watermarks (subscription, in_advance, in_arrears) \
         VALUES (?1, ?2, ?3) ON CONFLICT (subscription) DO UPDATE \
         SET in_advance = excluded.in_advance, in_arrears = excluded.in_arrears \
         WHERE in_advance IS NOT excluded.in_advance OR in_arrears IS NOT excluded.in_arrears",
    )
    .and_then(|mut stmt| stmt.execute(params![id, in_advance, in_arrears]))
    .context("recording what a subscription is billed through")?;
    Ok(())
}

/// Stores `billed` as new subscription `id`'s watermark.
///
/// # Errors
/// [`StoreError::Backend`] for a failed write, a row of `id` already stored included.
pub(crate) fn insert(tx: &Connection, id: &str, billed: &BilledThrough) -> Result<(), StoreError> {
    let (in_advance, in_arrears) = spell(billed);
    tx.prepare_cached(
        "INSERT INTO subscription_watermarks (subscription, in_advance, in_arrears) \
         VALUES (?1, ?2, ?3)",
    )
    .and_then(|mut stmt| stmt.execute(params![id, in_advance, in_arrears]))
    .context("recording what a subscription is billed through")?;
    Ok(())
}

/// The statements that move a run's watermarks, prepared once for all of them: looked up in
/// the connection's statement cache for each of M's 109,926 subscriptions, they took a fifth
/// of the moves' instructions.
pub(crate) struct Mover<'c> {
    update: Statement<'c>,
    compare: Statement<'c>,
}

impl<'c> Mover<'c> {
    /// The statements, prepared in `tx`.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when SQLite refuses to prepare them.
    pub(crate) fn new(tx: &'c Connection) -> Result<Mover<'c>, StoreError> {
        Ok(Mover {
            update: tx
                .prepare(
                    "UPDATE subscription_watermarks SET in_advance = ?2, in_arrears = ?3 \
                     WHERE subscription = ?1 AND in_advance IS ?4 AND in_arrears IS ?5",
                )
                .context("recording what a subscription is billed through")?,
            compare: tx
                .prepare(
                    "SELECT EXISTS (SELECT 1 FROM subscription_watermarks \
                     WHERE subscription = ?1 AND in_advance IS ?2 AND in_arrears IS ?3)",
                )
                .context("reading what a subscription is billed through")?,
        })
    }

    /// Moves `b`'s watermark from what the run read to what it billed, if the stored one is
    /// still what the run read: `false` when it is not (or there is no row), for the caller to
    /// find out why. A watermark the run leaves where it was is only compared, not written.
    ///
    /// # Errors
    /// [`StoreError::Backend`] for a failed read or write.
    pub(crate) fn moved(&mut self, b: &Billed) -> Result<bool, StoreError> {
        let read = spell(&b.from);
        if b.through == b.from {
            return self
                .compare
                .query_row(params![b.subscription.as_str(), read.0, read.1], |row| {
                    row.get(0)
                })
                .context("reading what a subscription is billed through");
        }
        let set = spell(&b.through);
        let changed = self
            .update
            .execute(params![
                b.subscription.as_str(),
                set.0,
                set.1,
                read.0,
                read.1
            ])
            .context("recording what a subscription is billed through")?;
        Ok(changed > 0)
    }
}

/// Refuses a subscription without its watermark row, which would read as never billed.
///
/// # Errors
/// [`StoreError::Backend`] naming the first such subscription, or for a failed read.
pub(crate) fn check(tx: &Connection) -> Result<(), StoreError> {
    let missing: Option<String> = tx
        .query_row(
            "SELECT id FROM subscriptions WHERE NOT EXISTS \
             (SELECT 1 FROM subscription_watermarks WHERE subscription = subscriptions.id) \
             ORDER BY id LIMIT 1",
            [],
            |row| row.get(0),
        )
        .optional()
        .context("checking what subscriptions are billed through")?;
    match missing {
        Some(id) => Err(crate::codec::backend(format!(
            "subscription {id} has no row in subscription_watermarks"
        ))),
        None => Ok(()),
    }
}
