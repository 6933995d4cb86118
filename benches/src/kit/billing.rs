//! What earlier runs billed, and the one billing run of the kit.

use anyhow::Result;
use chrono::NaiveDate;
use std::time::{Duration, Instant};

use plock_core::billing::{run, run_streaming};
use plock_core::subscription::BilledThrough;
use plock_core::{BillingPractice, BillingRun, CompanyData, RunOptions, Subscription, UsageTable};

use super::results::KitResults;
use super::{Company, RUN_DATE};

/// Records on `subscriptions` what earlier runs billed, given that every subscription has
/// been billed by a run on each period boundary before `run_date`: in arrears, every period
/// that ended before `run_date`; in advance (subscriptions in advance only), every period
/// that started before it. The run on `run_date` then bills exactly the periods ending on it
/// in arrears and, in advance, the periods starting on it. One watermark a subscription,
/// however long its history.
pub fn history(subscriptions: &mut [Subscription], run_date: NaiveDate) {
    let Some(last_day) = run_date.pred_opt() else {
        return;
    };
    for subscription in subscriptions {
        let Some(current) = subscription.schedule().period_containing(last_day) else {
            continue;
        };
        let mut billed =
            BilledThrough::default().advanced(BillingPractice::InArrears, current.covered.start());
        if subscription.practice() == BillingPractice::InAdvance {
            billed = billed.advanced(BillingPractice::InAdvance, current.covered.end());
        }
        subscription.record_billed(billed);
    }
}

/// How the kit takes the run's invoices.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Taking {
    /// As the run hands them on, a part about every this many subscriptions
    /// ([`run_streaming`]): the run holds one part at a time, and the time of making the
    /// kit's rows is the run's.
    Streamed(usize),
    /// All at the run's end ([`run`]): the run holds every invoice, and the kit's rows are
    /// made after it, untimed.
    Collected,
}

/// Subscriptions billed between two parts handed on: at M, 27 parts of about 3,300 invoices.
pub const BATCH: usize = 4096;

/// Bills `company` with `usage` on the kit's run date, the invoices taken into the kit's
/// rows as `taking` says; the time of the run alone (with the rows made, when streamed).
///
/// # Errors
/// Data plock's billing run refuses, or invoices the kit's rows cannot hold.
pub fn bill(
    company: &Company,
    usage: &UsageTable,
    taking: Taking,
) -> Result<(BillingRun, KitResults, Duration)> {
    let data = CompanyData {
        accounts: &company.book,
        subscriptions: &company.subscriptions,
        metrics: &company.metrics,
        usage,
        billed_usage: &[],
    };
    let options = RunOptions {
        run_date: RUN_DATE,
        first_invoice_number: 1,
        dispatch_erp: None,
    };
    let started = Instant::now();
    let batch = match taking {
        Taking::Streamed(batch) => batch,
        Taking::Collected => {
            let mut run = run(&data, &options)?;
            let took = started.elapsed();
            let mut results = KitResults::of(std::mem::take(&mut run.invoices))?;
            results.billed_usage = std::mem::take(&mut run.billed_usage).len();
            return Ok((run, results, took));
        }
    };
    let mut results = KitResults::default();
    let mut refused = None;
    let run = run_streaming(&data, &options, batch, &|_| (), &mut |part| {
        // The kit has no file for billed usage: counted, not kept.
        results.billed_usage = results.billed_usage.saturating_add(part.billed_usage.len());
        if refused.is_none()
            && let Err(e) = results.take(part.invoices)
        {
            refused = Some(e);
        }
    })?;
    let took = started.elapsed();
    match refused {
        Some(e) => Err(e),
        None => Ok((run, results, took)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use plock_core::period::PeriodMode;
    use plock_core::{
        AccountId, BillingInterval, BillingPractice, Currency, Item, ProductId, Subscription,
        SubscriptionId, SubscriptionSpec,
    };
    use rust_decimal::Decimal;

    use super::history;
    use crate::kit::RUN_DATE;

    fn subscription(interval: BillingInterval, practice: BillingPractice) -> Subscription {
        let spec = SubscriptionSpec {
            id: SubscriptionId::new("1").unwrap(),
            account: AccountId::new("1").unwrap(),
            start: NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
            end: None,
            interval,
            mode: PeriodMode::Calendar,
            anchor: None,
            practice,
            currency: Currency::USD,
            items: vec![Item::flat_fee(
                ProductId::new("1").unwrap(),
                Decimal::ONE,
                Decimal::ONE,
            )],
            minimum_invoice_amount: None,
        };
        Subscription::new(spec, Currency::USD).unwrap()
    }

    #[test]
    fn history_holds_every_period_before_the_runs() {
        let billed = |practice| {
            let mut monthly = [subscription(BillingInterval::MONTHLY, practice)];
            history(&mut monthly, RUN_DATE);
            let b = monthly[0].billed_through();
            (b.in_arrears, b.in_advance)
        };
        let day = |m| NaiveDate::from_ymd_opt(2025, m, 1);
        // Through February 2025 in arrears; through March 2025 in advance.
        assert_eq!(billed(BillingPractice::InArrears), (day(3), None));
        assert_eq!(billed(BillingPractice::InAdvance), (day(3), day(4)));
    }
}
