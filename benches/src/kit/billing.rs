//! What earlier runs billed, and the one billing run of the kit.

use std::collections::BTreeSet;

use anyhow::Result;
use chrono::NaiveDate;
use plock_core::{
    BilledKey, BillingPractice, BillingRun, RunOptions, Subscription, TableData, UsageTable,
    run_fast,
};

use super::{Company, RUN_DATE};

/// What earlier runs billed, given that every subscription has been billed by a run on each
/// period boundary before `run_date`: in arrears, every period that ended before `run_date`;
/// in advance (subscriptions in advance only), every period that started before it. The run
/// on `run_date` then bills exactly the periods ending on it in arrears and, in advance, the
/// periods starting on it.
pub fn history(subscriptions: &[Subscription], run_date: NaiveDate) -> BTreeSet<BilledKey> {
    let mut billed = BTreeSet::new();
    for subscription in subscriptions {
        let advance = subscription.practice() == BillingPractice::InAdvance;
        for period in subscription.schedule().periods_until(run_date) {
            let key = |timing| BilledKey {
                subscription: subscription.id().clone(),
                period: period.covered,
                timing,
            };
            if period.covered.end() < run_date {
                billed.insert(key(BillingPractice::InArrears));
            }
            if advance && period.covered.start() < run_date {
                billed.insert(key(BillingPractice::InAdvance));
            }
        }
    }
    billed
}

/// Bills `company` with `usage` on the kit's run date, `billed` being what earlier runs billed.
///
/// # Errors
/// Data plock's billing run refuses.
pub fn bill(
    company: &Company,
    usage: &UsageTable,
    billed: &BTreeSet<BilledKey>,
) -> Result<BillingRun> {
    let data = TableData {
        accounts: &company.book,
        subscriptions: &company.subscriptions,
        metrics: &company.metrics,
        usage,
        billed,
    };
    let options = RunOptions {
        run_date: RUN_DATE,
        first_invoice_number: 1,
        dispatch_erp: None,
    };
    Ok(run_fast(&data, &options)?)
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use plock_core::{
        AccountId, BillingInterval, BillingPractice, Currency, Item, PeriodMode, ProductId,
        Subscription, SubscriptionId, SubscriptionSpec,
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
        let timing = |practice| {
            let monthly = subscription(BillingInterval::MONTHLY, practice);
            let keys = history(&[monthly], RUN_DATE);
            let count = |t| keys.iter().filter(|k| k.timing == t).count();
            (
                count(BillingPractice::InArrears),
                count(BillingPractice::InAdvance),
            )
        };
        // January 2024 to February 2025 in arrears; to March 2025 in advance.
        assert_eq!(timing(BillingPractice::InArrears), (14, 0));
        assert_eq!(timing(BillingPractice::InAdvance), (14, 15));
    }
}
