//! What earlier runs billed, and the one billing run of the kit.

use anyhow::Result;
use chrono::NaiveDate;
use plock_core::subscription::BilledThrough;
use plock_core::{
    BillingPractice, BillingRun, CompanyData, RunOptions, Subscription, UsageTable, run,
};

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

/// Bills `company` with `usage` on the kit's run date.
///
/// # Errors
/// Data plock's billing run refuses.
pub fn bill(company: &Company, usage: &UsageTable) -> Result<BillingRun> {
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
    Ok(run(&data, &options)?)
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
