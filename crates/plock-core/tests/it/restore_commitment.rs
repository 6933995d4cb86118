//! Restore after archive with a commitment: its committed part is recorded billed for nothing
//! over the days the restore skips, like a flat fee, so an end moved back into them credits
//! only the days billed; and usage of the skipped days is never billed as late usage.

use chrono::{TimeZone, Utc};
use plock_core::billing::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::pricing::PriceModel;
use plock_core::store::{Change, apply_to_book};
use plock_core::subscription::*;
use plock_core::usage::*;
use rust_decimal::{Decimal, dec};

use crate::billing_props::recorded;
use crate::fixtures::{active_monthly, date, first_run_on, sek_account};

/// 100 calls committed a month at 1.00 each, in advance; overage in arrears.
fn subscription(end: Option<chrono::NaiveDate>) -> Subscription {
    let mut sub = active_monthly(
        "api",
        "acme",
        BillingPractice::InAdvance,
        Currency::SEK,
        vec![Item::usage(
            ProductId::new("calls").unwrap(),
            MetricId::new("calls").unwrap(),
            PriceModel::Commitment {
                committed: dec!(100),
                unit_price: dec!(1.00),
            },
        )],
    );
    if let Some(end) = end {
        sub.end(end).unwrap();
    }
    sub
}

/// A company billed on these days; its records, subscriptions and billed usage as a store
/// keeps them.
struct Company {
    book: AccountBook,
    subs: Vec<Subscription>,
    usage: Vec<UsageRecord>,
    rows: Vec<BilledUsage>,
}

impl Company {
    /// Billed through February (January's 150 calls: 50 of overage), archived, then
    /// restored on 10 April and billed that day.
    fn restored_on_april_10() -> Company {
        let mut book = AccountBook::new();
        book.add(sek_account("acme", "Acme")).unwrap();
        let mut company = Company {
            book,
            subs: vec![subscription(None)],
            usage: vec![call(1, 15, 150)],
            rows: Vec::new(),
        };
        company.bill(date(2025, 2, 1));
        let id = AccountId::new("acme").unwrap();
        company.book.archive(&id).unwrap();
        let batch = restore_account(&id, &company.subs, date(2025, 4, 10));
        for (i, change) in batch.changes.iter().enumerate() {
            match change {
                Change::PutSubscription { subscription } => {
                    company.subs[0].record_billed(subscription.billed_through());
                }
                Change::RecordRun { billed_usage, .. } => {
                    company.rows.extend(billed_usage.iter().cloned());
                }
                other => apply_to_book(&mut company.book, i, other).unwrap(),
            }
        }
        let april = Period::new(date(2025, 4, 10), date(2025, 5, 1)).unwrap();
        assert_eq!(
            company.bill(date(2025, 4, 10)),
            [(LineKind::Proration, april, dec!(70.00))]
        );
        company
    }

    fn bill(&mut self, on: chrono::NaiveDate) -> Vec<(LineKind, Period, Decimal)> {
        let usage = UsageTable::from_records(&self.usage).unwrap();
        let metrics = [Metric {
            id: MetricId::new("calls").unwrap(),
            aggregation: Aggregation::Sum,
        }];
        let data = CompanyData {
            accounts: &self.book,
            subscriptions: &self.subs,
            metrics: &metrics,
            usage: &usage,
            billed_usage: &self.rows,
        };
        let result = run(&data, &first_run_on(on)).unwrap();
        self.subs = recorded(&self.subs, &result);
        self.rows.extend(result.billed_usage.iter().cloned());
        result
            .invoices
            .iter()
            .flat_map(|i| i.lines())
            .map(|l| (l.kind, l.period, l.amount.amount()))
            .collect()
    }
}

fn call(month: u32, day: u32, quantity: i64) -> UsageRecord {
    UsageRecord::new(
        AccountKey::new("acme").unwrap(),
        MetricId::new("calls").unwrap(),
        Utc.with_ymd_and_hms(2025, month, day, 12, 0, 0).unwrap(),
        Decimal::from(quantity),
        None,
    )
    .unwrap()
}

/// Ended on 15 March, before the restore: only April's 21 billed days of the commitment are
/// credited, never the archived days from 15 March (before, 54.84 more).
#[test]
fn a_commitment_ended_before_the_restore_credits_only_days_billed() {
    let mut company = Company::restored_on_april_10();
    let billed = company.subs[0].billed_through();
    let mut ended = subscription(Some(date(2025, 3, 15)));
    ended.record_run(billed);
    company.subs[0] = ended;
    let april = Period::new(date(2025, 4, 10), date(2025, 5, 1)).unwrap();
    assert_eq!(
        company.bill(date(2025, 4, 11)),
        [(LineKind::Compensation, april, dec!(-70.00))]
    );
    assert!(company.bill(date(2025, 4, 12)).is_empty(), "credited once");
}

/// Calls made while the account was archived are not billed, then or later: only April's
/// calls from the restore count, and no late usage line appears.
#[test]
fn usage_of_days_a_restore_skipped_is_never_billed_late() {
    let mut company = Company::restored_on_april_10();
    company.usage.push(call(3, 20, 500));
    company.usage.push(call(4, 20, 130));
    let april = Period::new(date(2025, 4, 10), date(2025, 5, 1)).unwrap();
    let may = Period::new(date(2025, 5, 1), date(2025, 6, 1)).unwrap();
    let lines = company.bill(date(2025, 5, 1));
    assert_eq!(
        lines,
        [
            (LineKind::Overage, april, dec!(30.00)),
            (LineKind::InAdvance, may, dec!(100.00)),
        ]
    );
    assert!(company.bill(date(2025, 5, 2)).is_empty(), "{lines:?}");
}
