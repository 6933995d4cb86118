//! A billing run in a few lines of counts: what the operator checks after every run. The
//! counts of its invoices are taken as they come ([`InvoiceTally`]), so a run recorded a
//! part at a time is summed up without holding its invoices.

use std::collections::BTreeMap;

use plock_core::invoice::{Dispatch, LineKind};
use plock_core::{BillingRun, Currency, Invoice, Money};

/// Sums a currency at a time; `None` once a sum no longer fits.
#[derive(Debug, Default)]
struct Totals(BTreeMap<Currency, Option<Money>>);

impl Totals {
    fn add(&mut self, amount: Money) {
        self.0
            .entry(amount.currency())
            .and_modify(|sum| *sum = sum.and_then(|s| s.checked_add(amount).ok()))
            .or_insert(Some(amount));
    }

    /// "TOTAL, TOTAL", a total a currency.
    fn render(&self) -> Vec<String> {
        self.0
            .iter()
            .map(|(currency, sum)| {
                sum.map_or_else(
                    || format!("too large to sum in {currency}"),
                    |s| s.to_string(),
                )
            })
            .collect()
    }
}

/// What a run's summary counts of its invoices, added as they come, in number order.
#[derive(Debug, Default)]
pub struct InvoiceTally {
    count: usize,
    numbers: Option<(u64, u64)>,
    lines: usize,
    totals: Totals,
    held: usize,
    late_lines: usize,
    late: Totals,
}

impl InvoiceTally {
    /// Counts `invoices`, which follow those counted before.
    pub fn add(&mut self, invoices: &[Invoice]) {
        for invoice in invoices {
            self.count = self.count.saturating_add(1);
            let number = invoice.number();
            self.numbers = Some(self.numbers.map_or((number, number), |(f, _)| (f, number)));
            self.lines = self.lines.saturating_add(invoice.lines().len());
            self.totals.add(invoice.total());
            if matches!(invoice.dispatch(), Dispatch::Held { .. }) {
                self.held = self.held.saturating_add(1);
            }
            // Usage that arrived for periods billed before, billed as the difference.
            for line in invoice.lines() {
                if line.kind == LineKind::LateUsage {
                    self.late_lines = self.late_lines.saturating_add(1);
                    self.late.add(line.amount);
                }
            }
        }
    }

    /// "N line(s), TOTAL" of the late usage lines; `None` when there are none.
    fn late_usage(&self) -> Option<String> {
        (self.late_lines > 0).then(|| {
            format!(
                "{} line(s), {}",
                self.late_lines,
                self.late.render().join(", ")
            )
        })
    }
}

/// The summary of `r`, its invoices counted from `r` itself.
pub fn run_summary(r: &BillingRun, preview: bool) -> String {
    let mut tally = InvoiceTally::default();
    tally.add(&r.invoices);
    summary(r, &tally, preview)
}

/// The summary of `r` whose invoices `tally` counted (`r.invoices` is not read). The
/// invoices themselves are one command away (`invoice show`, or `bill --full`).
pub fn summary(r: &BillingRun, tally: &InvoiceTally, preview: bool) -> String {
    let totals = tally.totals.render();
    let totals = if totals.is_empty() {
        "-".to_owned()
    } else {
        totals.join(", ")
    };
    let numbers = match tally.numbers {
        Some((first, last)) if first == last => format!(" (number {first})"),
        Some((first, last)) => format!(" (numbers {first} to {last})"),
        None => String::new(),
    };
    let unpriced: u64 = r.unpriced_usage.iter().map(|u| u.records).sum();
    let rows = [
        ("invoices", format!("{}{numbers}", tally.count)),
        ("lines", tally.lines.to_string()),
        ("subscriptions billed", r.billed.len().to_string()),
        ("total", totals),
        ("held from dispatch", tally.held.to_string()),
        ("skipped", r.skipped.len().to_string()),
        ("unmatched children", r.unmatched.len().to_string()),
        ("unpriced usage", format!("{unpriced} record(s)")),
        ("accounts not billed", r.not_billed.len().to_string()),
    ];
    let mut out = format!(
        "Billing run {}: {}\n",
        r.run_date,
        if preview {
            "preview, nothing recorded"
        } else {
            "recorded"
        }
    );
    let late = tally.late_usage();
    for (label, value) in rows.into_iter().chain(late.map(|l| ("late usage", l))) {
        out.push_str(&format!("  {label:<22}{value}\n"));
    }
    // Each held group needs the operator: listed whatever the count.
    for n in &r.not_billed {
        out.push_str(&crate::render::not_billed(n));
        out.push('\n');
    }
    if tally.count == 0 {
        out.push_str("Nothing to invoice on this date.\n");
    } else {
        out.push_str(if preview {
            "Each invoice, and each note behind the counts: the same command with --full.\n"
        } else {
            "Each invoice: plock invoice show NUMBER.\n"
        });
    }
    out
}
