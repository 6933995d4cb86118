//! Restore after archive, then an end moved back before the restore date: the credit covers
//! only the days that were billed, never the days the account was archived.

use plock_core::billing::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::store::{Change, apply_to_book};
use plock_core::subscription::*;
use plock_core::usage::*;
use rust_decimal::{Decimal, dec};

use crate::billing_props::recorded;
use crate::fixtures::{active_monthly, date, first_run_on, sek_account};

fn subscription(end: Option<chrono::NaiveDate>) -> Subscription {
    let mut sub = active_monthly(
        "lic",
        "acme",
        BillingPractice::InAdvance,
        Currency::SEK,
        vec![Item::flat_fee(
            ProductId::new("licence").unwrap(),
            dec!(100.00),
            Decimal::ONE,
        )],
    );
    if let Some(end) = end {
        sub.end(end).unwrap();
    }
    sub
}

fn bill(
    book: &AccountBook,
    subs: &mut Vec<Subscription>,
    rows: &mut Vec<BilledUsage>,
    on: chrono::NaiveDate,
) -> Vec<(LineKind, Period, Decimal)> {
    let usage = UsageTable::default();
    let data = CompanyData {
        accounts: book,
        subscriptions: subs,
        metrics: &[],
        usage: &usage,
        billed_usage: rows,
    };
    let options = first_run_on(on);
    let result = run(&data, &options).unwrap();
    *subs = recorded(subs, &result);
    rows.extend(result.billed_usage.iter().cloned());
    result
        .invoices
        .iter()
        .flat_map(|i| i.lines())
        .map(|l| (l.kind, l.period, l.amount.amount()))
        .collect()
}

/// Billed through February, archived, restored on 10 April, April billed from the 10th;
/// then ended on 15 March, before the restore. Only April's 21 billed days are credited:
/// before, the 26 archived days from 15 March were credited too (-154.84 in all).
#[test]
fn an_end_moved_before_the_restore_credits_only_days_billed() {
    let mut book = AccountBook::new();
    book.add(sek_account("acme", "Acme")).unwrap();
    let mut subs = vec![subscription(None)];
    let mut rows = Vec::new();
    bill(&book, &mut subs, &mut rows, date(2025, 2, 1));
    book.archive(&AccountId::new("acme").unwrap()).unwrap();

    let batch = restore_account(&AccountId::new("acme").unwrap(), &subs, date(2025, 4, 10));
    for (i, change) in batch.changes.iter().enumerate() {
        match change {
            Change::PutSubscription { subscription } => {
                subs[0].record_billed(subscription.billed_through());
            }
            Change::RecordRun { billed_usage, .. } => rows.extend(billed_usage.iter().cloned()),
            other => apply_to_book(&mut book, i, other).unwrap(),
        }
    }
    let april = Period::new(date(2025, 4, 10), date(2025, 5, 1)).unwrap();
    assert_eq!(
        bill(&book, &mut subs, &mut rows, date(2025, 4, 10)),
        [(LineKind::Proration, april, dec!(70.00))]
    );

    let billed = subs[0].billed_through();
    let mut ended = subscription(Some(date(2025, 3, 15)));
    ended.record_run(billed);
    subs[0] = ended;
    assert_eq!(
        bill(&book, &mut subs, &mut rows, date(2025, 4, 11)),
        [(LineKind::Compensation, april, dec!(-70.00))]
    );
    // Credited once.
    assert!(bill(&book, &mut subs, &mut rows, date(2025, 4, 12)).is_empty());
}
