//! An invoice's lines in their order, (source account, subscription, period, product, kind),
//! without comparing every pair of lines on all five.
//!
//! A draft's lines come a subscription at a time: every line one subscription's billing adds
//! has that subscription and its account, so the draft notes where each subscription's lines
//! start ([`Runs`]). When the runs' first lines are in strictly increasing (source account,
//! subscription) order, each run is the whole of its (account, subscription) group and sits
//! where a stable sort of all the lines puts it; only the lines within a run are ordered, on
//! (period, product, kind), and most already are (items priced in product order): a run of
//! charges each known to be in order, over later and later periods ([`Runs::note`]), is not
//! even compared. Otherwise (a child's subscription between its master's, more runs than
//! noted) all the lines are sorted on the five fields, as the tests' oracle sorts them: the
//! order is the same either way. Comparing two lines on all five compared two ids that were
//! almost always equal, as strings, and a line is 184 bytes to move: the sort was about a
//! tenth of a run.

use std::cmp::Ordering;

use crate::invoice::InvoiceLine;
use crate::period::Period;

/// How many runs a draft notes; a draft of more subscriptions is sorted whole.
const NOTED_RUNS: usize = 8;

/// Where each subscription's lines start in a draft's lines, noted as they are added.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Runs {
    starts: [u32; NOTED_RUNS],
    len: u8,
    /// Bit `k`: run `k`'s lines are known to be in order: charges each in order, over
    /// strictly later periods one after the other.
    ordered: u8,
    /// The period of the charge added last: a later one keeps its run in order.
    period: Option<Period>,
    /// More runs than noted, or a start past `u32`: the lines are sorted whole.
    overflow: bool,
    /// The address of the subscription whose lines were added last: the next of another
    /// starts a run. An address only compared, never followed.
    last: usize,
}

impl Runs {
    /// Notes that `subscription`'s lines are added from `at` on: a new run unless the lines
    /// added last were that subscription's too. `ordered` says the lines added are in the
    /// invoice's order among themselves, each over `period`: a run stays known in order
    /// while each addition is, over a later period than the one before (every line of a
    /// later period comes after every line of an earlier one).
    pub(crate) fn note<T>(
        &mut self,
        subscription: &T,
        at: usize,
        (ordered, period): (bool, Period),
    ) {
        let address = std::ptr::from_ref(subscription).addr();
        let before = self.period.replace(period);
        if self.len > 0 && self.last == address {
            let later = before.is_some_and(|b| b < period);
            if !(ordered && later) {
                let current = self.len.saturating_sub(1);
                self.ordered &= !(1u8 << current);
            }
            return;
        }
        self.last = address;
        let (Some(slot), Ok(at)) = (
            self.starts.get_mut(usize::from(self.len)),
            u32::try_from(at),
        ) else {
            self.overflow = true;
            return;
        };
        *slot = at;
        if ordered {
            self.ordered |= 1u8 << self.len;
        }
        self.len = self.len.saturating_add(1);
    }

    /// The noted starts, or `None` when they do not cover the draft.
    fn starts(&self) -> Option<&[u32]> {
        if self.overflow {
            return None;
        }
        let starts = self.starts.get(..usize::from(self.len))?;
        // The first run starts at the first line.
        (starts.first() == Some(&0)).then_some(starts)
    }
}

/// Two lines' order on all five fields: the invoice's order.
pub(crate) fn by_all(a: &InvoiceLine, b: &InvoiceLine) -> Ordering {
    (
        &a.source_account,
        &a.subscription,
        a.period,
        &a.product,
        a.kind,
    )
        .cmp(&(
            &b.source_account,
            &b.subscription,
            b.period,
            &b.product,
            b.kind,
        ))
}

/// Two lines' order within one (source account, subscription) group.
fn within(a: &InvoiceLine, b: &InvoiceLine) -> Ordering {
    a.period
        .cmp(&b.period)
        .then_with(|| a.product.cmp(&b.product))
        .then_with(|| a.kind.cmp(&b.kind))
}

/// Puts `lines` in the invoice's order; `runs` says where each subscription's lines start
/// (each run's lines share their source account and subscription).
pub(crate) fn order(lines: &mut [InvoiceLine], runs: &Runs) {
    let Some(starts) = runs.starts().filter(|s| runs_in_order(lines, s)) else {
        lines.sort_by(by_all);
        return;
    };
    let ends = starts
        .iter()
        .skip(1)
        .map(|end| *end as usize)
        .chain(std::iter::once(lines.len()));
    for (k, (start, end)) in starts.iter().map(|s| *s as usize).zip(ends).enumerate() {
        if runs.ordered & (1u8 << k) != 0 {
            continue;
        }
        if let Some(run) = lines.get_mut(start..end)
            && !run.is_sorted_by(|a, b| within(a, b) != Ordering::Greater)
        {
            run.sort_by(within);
        }
    }
}

/// Whether the runs' first lines are in strictly increasing (source account, subscription)
/// order, and every start is inside the lines and after the one before.
fn runs_in_order(lines: &[InvoiceLine], starts: &[u32]) -> bool {
    let mut firsts = starts.iter().map(|s| lines.get(*s as usize));
    let Some(Some(mut previous)) = firsts.next() else {
        return false;
    };
    for first in firsts {
        let Some(first) = first else { return false };
        let increasing = (&previous.source_account, &previous.subscription)
            < (&first.source_account, &first.subscription);
        if !increasing {
            return false;
        }
        previous = first;
    }
    starts.windows(2).all(|w| matches!(w, [a, b] if a < b))
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use std::cmp::Ordering;

    use super::{Runs, by_all, order, within};
    use crate::id::{AccountId, ProductId, SubscriptionId};
    use crate::invoice::{InvoiceLine, LineKind};
    use crate::money::{Currency, Money};
    use crate::period::Period;

    /// A run's lines: (period's first day, days, product, kind, amount) each.
    type RunLines = Vec<(u32, u32, u8, bool, i64)>;

    fn line(
        account: u8,
        sub: u8,
        (day, days, product, late, amount): (u32, u32, u8, bool, i64),
    ) -> InvoiceLine {
        let start =
            NaiveDate::from_ymd_opt(2025, 1, 1).unwrap() + chrono::Days::new(u64::from(day));
        InvoiceLine {
            // Ids whose text order is not their number's: "10" sorts before "9".
            product: ProductId::new(product.to_string()).unwrap(),
            metric: None,
            source_account: AccountId::new(account.to_string()).unwrap(),
            subscription: Some(SubscriptionId::new(sub.to_string()).unwrap()),
            period: Period::new(start, start + chrono::Days::new(u64::from(days))).unwrap(),
            quantity: Decimal::ONE,
            unit_price: None,
            rebate_percent: None,
            amount: Money::new(Decimal::new(amount, 2), Currency::EUR),
            kind: if late {
                LineKind::LateUsage
            } else {
                LineKind::InArrears
            },
        }
    }

    /// Runs of lines sharing their (account, subscription), as a draft receives them; the
    /// order of all of them must be a stable sort's on the five fields.
    fn check(runs: &[((u8, u8), RunLines)]) -> Result<(), TestCaseError> {
        let mut lines = Vec::new();
        let mut noted = Runs::default();
        for (run, ((account, sub), run_lines)) in runs.iter().enumerate() {
            if run_lines.is_empty() {
                continue;
            }
            // Each run is a subscription of its own: another address. Its lines come as
            // charges, one a period (consecutive lines of one period), each noted in order
            // when it is, as the run notes a charge of a subscription whose products ascend.
            let made: Vec<InvoiceLine> =
                run_lines.iter().map(|l| line(*account, *sub, *l)).collect();
            for charge in made.chunk_by(|a, b| a.period == b.period) {
                let ordered = charge.is_sorted_by(|a, b| within(a, b) != Ordering::Greater);
                noted.note(&runs[run], lines.len(), (ordered, charge[0].period));
                lines.extend_from_slice(charge);
            }
        }
        let mut expected = lines.clone();
        expected.sort_by(by_all);
        order(&mut lines, &noted);
        prop_assert_eq!(lines, expected);
        Ok(())
    }

    fn run_lines() -> impl Strategy<Value = RunLines> {
        prop::collection::vec((0u32..3, 1u32..3, 0u8..12, any::<bool>(), -3i64..3), 0..6)
    }

    proptest! {
        /// Runs in any order, repeated keys, more runs than noted, lines in any order
        /// within a run, equal lines: the same order as a stable sort of all of them.
        #[test]
        fn order_is_a_stable_sort_on_all_fields(
            runs in prop::collection::vec(((0u8..4, 0u8..12), run_lines()), 0..11),
        ) {
            check(&runs)?;
        }

        /// A master's draft as the run makes it: subscriptions in id order, distinct.
        #[test]
        fn runs_in_id_order_are_kept_in_place(
            subs in prop::collection::btree_set((0u8..3, 0u8..30), 0..10),
            lines in prop::collection::vec(run_lines(), 10),
        ) {
            let mut keyed: Vec<(u8, u8)> = subs.into_iter().collect();
            keyed.sort_by_key(|(a, s)| (a.to_string(), s.to_string()));
            let runs: Vec<((u8, u8), RunLines)> = keyed.into_iter().zip(lines).collect();
            check(&runs)?;
        }
    }

    #[test]
    fn a_second_addition_to_a_run_is_compared() {
        // Two charges of one subscription, each in order, not in order together.
        let mut runs = Runs::default();
        let sub = 1u8;
        let mut lines = vec![
            line(1, 1, (0, 1, 3, false, 1)),
            line(1, 1, (0, 1, 2, false, 1)),
        ];
        runs.note(&sub, 0, (true, lines[0].period));
        runs.note(&sub, 1, (true, lines[1].period));
        let mut expected = lines.clone();
        expected.sort_by(by_all);
        order(&mut lines, &runs);
        assert_eq!(lines, expected);
    }

    #[test]
    fn a_start_out_of_place_sorts_whole() {
        let mut runs = Runs::default();
        let (a, b) = (1u8, 2u8);
        let period = line(1, 1, (0, 1, 0, false, 1)).period;
        runs.note(&a, 0, (false, period));
        runs.note(&b, 5, (false, period));
        let mut lines = vec![
            line(1, 2, (0, 1, 3, false, 1)),
            line(1, 1, (0, 1, 2, false, 1)),
        ];
        let mut expected = lines.clone();
        expected.sort_by(by_all);
        order(&mut lines, &runs);
        assert_eq!(lines, expected);
    }
}
