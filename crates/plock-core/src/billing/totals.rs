//! An owner's invoice whose lines sum past `Decimal`'s range holds that owner's group, not
//! the run (domain reference, 8.1): checked on each draft as its group is billed, before any
//! invoice is numbered, so every other owner is billed and numbered without a gap.

use rust_decimal::Decimal;

use super::BillingError;
use super::rules::Draft;
use crate::account::Account;
use crate::money::{Currency, Money};

/// Up to this many lines, each below [`SAFE_LINE`] in size, cannot overflow: 64 x 10^27 is
/// below `Decimal::MAX` (about 7.9 x 10^28). Most drafts are checked with that alone.
const SAFE_LINES: usize = 64;
const SAFE_LINE: u128 = 1_000_000_000_000_000_000_000_000_000;

/// The first of `drafts` in (owner id, currency) order whose lines sum past the largest
/// amount: its owner and the error.
pub(crate) fn overflowing<'d, 'a: 'd>(
    drafts: impl Iterator<Item = (Currency, &'d Draft<'a>)>,
) -> Option<(&'a Account, BillingError)> {
    drafts
        .filter(|(currency, draft)| !fits(*currency, draft))
        .min_by(|(ca, a), (cb, b)| (a.owner.id(), ca).cmp(&(b.owner.id(), cb)))
        .map(|(currency, draft)| {
            (
                draft.owner,
                BillingError::InvoiceOverflow {
                    owner: draft.owner.id().clone(),
                    currency,
                },
            )
        })
}

/// Whether `draft`'s lines sum within range: a bound on their sizes for most drafts, the
/// exact sum for the rest.
fn fits(currency: Currency, draft: &Draft<'_>) -> bool {
    // A value is at most its mantissa in size.
    let small = |amount: Decimal| amount.mantissa().unsigned_abs() < SAFE_LINE;
    if draft.lines.len() <= SAFE_LINES && draft.lines.iter().all(|l| small(l.amount.amount())) {
        return true;
    }
    Money::sum(currency, draft.lines.iter().map(|l| l.amount)).is_ok()
}
