//! What each subscription is billed through, in `subscription_watermarks` (migration 7): one
//! narrow row a subscription, apart from its row with the items' JSON, so that a billing run,
//! which moves most watermarks, writes new versions of narrow rows only.
//!
//! Here are the statements that read and lock the watermarks of the subscriptions a batch
//! puts (`plock_store_sql::watermarks` decides which and when), and the one a billing run
//! moves them with.

use std::collections::{HashMap, HashSet};

use plock_core::billing::Billed;
use plock_core::store::StoreError;
use plock_core::subscription::BilledThrough;
use plock_store_sql::codec::text;
use plock_store_sql::watermarks::StoredWatermarks;
use postgres::Transaction;

use crate::failure::{Db, Failure};

/// The stored watermarks of the subscriptions `wanted` names (those stored), their rows
/// locked in id order.
pub(crate) fn read_all(
    tx: &mut Transaction<'_>,
    wanted: &[String],
) -> Result<Vec<StoredWatermarks>, Failure> {
    let rows = tx
        .query(
            "SELECT subscription, in_advance, in_arrears FROM subscription_watermarks \
             WHERE subscription = ANY($1) ORDER BY subscription FOR UPDATE",
            &[&wanted],
        )
        .db("reading what subscriptions are billed through")?;
    let mut read = Vec::with_capacity(rows.len());
    for row in rows {
        let id: String = row
            .try_get(0)
            .db("reading what subscriptions are billed through")?;
        let in_advance = row
            .try_get(1)
            .db("reading what subscriptions are billed through")?;
        let in_arrears = row
            .try_get(2)
            .db("reading what subscriptions are billed through")?;
        read.push((id, in_advance, in_arrears));
    }
    Ok(read)
}

/// A watermark's two dates as stored (`None`: not billed).
pub(crate) type Dates = (Option<String>, Option<String>);

/// Subscription `id`'s stored watermark dates, its row locked; `None` when no subscription
/// `id` is stored (each stored one has its row, written with it).
pub(crate) fn read_one(tx: &mut Transaction<'_>, id: &str) -> Result<Option<Dates>, Failure> {
    let row = tx
        .query_opt(
            "SELECT in_advance, in_arrears FROM subscription_watermarks \
             WHERE subscription = $1 FOR UPDATE",
            &[&id],
        )
        .db("reading what a subscription is billed through")?;
    row.map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .transpose()
        .db("reading what a subscription is billed through")
}

/// The invoice owner of each subscription a run billed, by id, as the watermarks' rows file
/// them: the run's billed usage is filed under the same owners.
pub(crate) type Owners = HashMap<String, String>;

/// One subscription's move: what the run read, and what it billed through.
struct Move<'a> {
    id: &'a str,
    from: &'a BilledThrough,
    through: &'a BilledThrough,
}

/// Moves the billed subscriptions' watermarks from what the run read to what it billed, with
/// one `UPDATE` whose condition is the read watermark, so a row another run moved since is
/// not written and the run is refused; watermarks the run leaves where they are are only
/// compared, and locked against a move until the batch ends. Returns the owners of the
/// subscriptions billed.
///
/// The caller holds the invoice number counter's lock, so runs recording at once reach this
/// one after the other: the second finds the first's watermarks and is refused.
pub(crate) fn move_all(
    tx: &mut Transaction<'_>,
    index: usize,
    billed: &[Billed],
) -> Result<Owners, Failure> {
    let (moves, chain_break) = plan(billed);
    let (moving, staying): (Vec<&Move<'_>>, Vec<&Move<'_>>) =
        moves.iter().partition(|m| m.through != m.from);
    let mut owners = Owners::with_capacity(moves.len());
    if !moving.is_empty() {
        let [ids, from_advance, from_arrears, to_advance, to_arrears] = columns(&moving)?;
        let rows = tx
            .query(
                "UPDATE subscription_watermarks w \
                 SET in_advance = u.to_advance, in_arrears = u.to_arrears \
                 FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) \
                 AS u (id, from_advance, from_arrears, to_advance, to_arrears) \
                 WHERE w.subscription = u.id \
                 AND w.in_advance IS NOT DISTINCT FROM u.from_advance \
                 AND w.in_arrears IS NOT DISTINCT FROM u.from_arrears \
                 RETURNING w.subscription, w.owner",
                &[&ids, &from_advance, &from_arrears, &to_advance, &to_arrears],
            )
            .db("recording what subscriptions are billed through")?;
        collect_owners(&rows, &mut owners)?;
    }
    if !staying.is_empty() {
        let [ids, from_advance, from_arrears, _, _] = columns(&staying)?;
        let rows = tx
            .query(
                "SELECT w.subscription, w.owner FROM subscription_watermarks w \
                 JOIN unnest($1::text[], $2::text[], $3::text[]) \
                 AS u (id, from_advance, from_arrears) ON w.subscription = u.id \
                 WHERE w.in_advance IS NOT DISTINCT FROM u.from_advance \
                 AND w.in_arrears IS NOT DISTINCT FROM u.from_arrears \
                 FOR SHARE OF w",
                &[&ids, &from_advance, &from_arrears],
            )
            .db("reading what subscriptions are billed through")?;
        collect_owners(&rows, &mut owners)?;
    }
    if owners.len() == moves.len() && chain_break.is_none() {
        return Ok(owners);
    }
    Err(Failure::Refused(first_refusal(
        tx,
        index,
        billed,
        &owners,
        chain_break,
    )?))
}

/// Each billed subscription's move, in the order the run first lists it, and where the run
/// lists one again from another watermark than its move before ends at (the first such).
fn plan(billed: &[Billed]) -> (Vec<Move<'_>>, Option<usize>) {
    let mut moves: Vec<Move<'_>> = Vec::with_capacity(billed.len());
    let mut slot: HashMap<&str, usize> = HashMap::with_capacity(billed.len());
    let mut chain_break = None;
    for (position, b) in billed.iter().enumerate() {
        let id = b.subscription.as_str();
        match slot.get(id).and_then(|&n| moves.get_mut(n)) {
            Some(earlier) => {
                if *earlier.through != b.from && chain_break.is_none() {
                    chain_break = Some(position);
                }
                earlier.through = &b.through;
            }
            None => {
                slot.insert(id, moves.len());
                moves.push(Move {
                    id,
                    from: &b.from,
                    through: &b.through,
                });
            }
        }
    }
    (moves, chain_break)
}

/// The moves as five arrays: ids, the read watermarks' two dates, the billed ones'.
fn columns(moves: &[&Move<'_>]) -> Result<[Vec<Option<String>>; 5], StoreError> {
    let mut columns: [Vec<Option<String>>; 5] = Default::default();
    for m in moves {
        let values = [
            Some(m.id.to_owned()),
            m.from.in_advance.as_ref().map(text).transpose()?,
            m.from.in_arrears.as_ref().map(text).transpose()?,
            m.through.in_advance.as_ref().map(text).transpose()?,
            m.through.in_arrears.as_ref().map(text).transpose()?,
        ];
        for (column, value) in columns.iter_mut().zip(values) {
            column.push(value);
        }
    }
    Ok(columns)
}

fn collect_owners(rows: &[postgres::Row], owners: &mut Owners) -> Result<(), Failure> {
    for row in rows {
        let id: String = row.try_get(0).db("reading subscription owners")?;
        let owner: String = row.try_get(1).db("reading subscription owners")?;
        owners.insert(id, owner);
    }
    Ok(())
}

/// Why a run is refused, in the order it lists its subscriptions as the memory store checks
/// them: the first one not stored, or billed by another run since this run read it.
fn first_refusal(
    tx: &mut Transaction<'_>,
    index: usize,
    billed: &[Billed],
    passed: &Owners,
    chain_break: Option<usize>,
) -> Result<StoreError, Failure> {
    let failed: Vec<&str> = billed
        .iter()
        .map(|b| b.subscription.as_str())
        .filter(|id| !passed.contains_key(*id))
        .collect();
    let stored: HashSet<String> = tx
        .query(
            "SELECT subscription FROM subscription_watermarks WHERE subscription = ANY($1)",
            &[&failed],
        )
        .db("reading what subscriptions are billed through")?
        .iter()
        .map(|row| row.try_get(0))
        .collect::<Result<_, _>>()
        .db("reading what subscriptions are billed through")?;
    let mut seen = HashSet::with_capacity(billed.len());
    for (position, b) in billed.iter().enumerate() {
        let id = b.subscription.as_str();
        let first = seen.insert(id);
        if first && !passed.contains_key(id) && !stored.contains(id) {
            return Ok(StoreError::NotFound {
                index,
                what: "subscription",
                id: id.to_owned(),
            });
        }
        if (first && !passed.contains_key(id)) || chain_break == Some(position) {
            return Ok(moved_since(index, id));
        }
    }
    // Unreachable while the caller asks only when something failed; refused all the same.
    Ok(moved_since(index, "(unknown)"))
}

fn moved_since(index: usize, id: &str) -> StoreError {
    StoreError::Conflict {
        index,
        what: "subscription",
        id: id.to_owned(),
        reason: "was billed by another run since this run read it",
    }
}
