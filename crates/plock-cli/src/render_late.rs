//! The late usage a run billed, as its summary counts it.

use std::collections::BTreeMap;

use plock_core::invoice::LineKind;
use plock_core::{BillingRun, Currency, Money};

/// "N line(s), TOTAL" of the run's late usage lines (usage that arrived for periods billed
/// before, billed as the difference), a total a currency; `None` when it has none.
pub fn late_usage(r: &BillingRun) -> Option<String> {
    let mut totals: BTreeMap<Currency, Option<Money>> = BTreeMap::new();
    let mut lines = 0usize;
    for line in r
        .invoices
        .iter()
        .flat_map(|i| i.lines())
        .filter(|l| l.kind == LineKind::LateUsage)
    {
        lines = lines.saturating_add(1);
        totals
            .entry(line.amount.currency())
            .and_modify(|sum| *sum = sum.and_then(|s| s.checked_add(line.amount).ok()))
            .or_insert(Some(line.amount));
    }
    if lines == 0 {
        return None;
    }
    let totals: Vec<String> = totals
        .iter()
        .map(|(currency, sum)| {
            sum.map_or_else(
                || format!("too large to sum in {currency}"),
                |s| s.to_string(),
            )
        })
        .collect();
    Some(format!("{lines} line(s), {}", totals.join(", ")))
}
