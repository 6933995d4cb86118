//! Where a run's results go: each segment's invoices built and numbered on from the last,
//! then handed on with the segment's billed usage as a [`RunPart`].

use super::billed_usage::BilledUsage;
use super::results::build_invoices;
use super::rules::Draft;
use super::{BillingError, RunOptions, RunPart};
use crate::invoice::Invoice;
use crate::money::Currency;

/// A draft with its owner's rank and currency: the order invoices are numbered in.
pub(super) type Drafted<'a> = (u32, Currency, Draft<'a>);

/// Where a run's results go: its invoices built and numbered a segment at a time, handed on
/// with the segment's billed usage.
pub(super) struct Handing<'s> {
    /// About how many subscriptions a segment bills (`usize::MAX`: one segment, everything
    /// handed on at the end).
    pub(super) segment: usize,
    /// The number of the next invoice.
    pub(super) next: u64,
    /// Hears each segment's part, in invoice number order.
    pub(super) sink: &'s mut (dyn FnMut(RunPart) + Send),
}

impl Handing<'_> {
    /// The sorted `drafts`' invoices, numbered on from the last.
    pub(super) fn number(
        &mut self,
        drafts: Vec<Drafted<'_>>,
        options: &RunOptions,
    ) -> Result<Vec<Invoice>, BillingError> {
        if drafts.is_empty() {
            return Ok(Vec::new());
        }
        let invoices = build_invoices(drafts, self.next, options)?;
        let count = u64::try_from(invoices.len()).unwrap_or(u64::MAX);
        self.next = self.next.saturating_add(count);
        Ok(invoices)
    }

    /// Hands on `invoices` and `billed_usage`, unless both are empty.
    pub(super) fn hand(&mut self, invoices: Vec<Invoice>, billed_usage: Vec<BilledUsage>) {
        if let Some(part) = RunPart::of(invoices, billed_usage) {
            (self.sink)(part);
        }
    }
}

impl RunPart {
    /// A part of `invoices` and `billed_usage`, unless both are empty.
    pub(super) fn of(invoices: Vec<Invoice>, billed_usage: Vec<BilledUsage>) -> Option<RunPart> {
        (!invoices.is_empty() || !billed_usage.is_empty()).then_some(RunPart {
            invoices,
            billed_usage,
        })
    }
}
