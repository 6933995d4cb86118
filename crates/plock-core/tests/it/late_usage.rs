//! Late usage: usage that arrives for a period already billed in arrears is billed on the
//! next run, the period rated again with all its usage (so tiers stay right), the difference
//! on a line naming the original period.

use chrono::{NaiveDate, TimeZone, Utc};
use plock_core::billing::oracle::RecordData;
use plock_core::billing::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::pricing::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use rust_decimal::{Decimal, dec};

use crate::fixtures::{active_monthly, date, run_checked_by_oracle, sek_account};

/// A company of one account billed in arrears for API calls: the first 100 calls of a month
/// at 1.00, the rest at 0.50.
struct Company {
    book: AccountBook,
    subscriptions: Vec<Subscription>,
    metrics: Vec<Metric>,
    usage: Vec<UsageRecord>,
    billed_usage: Vec<BilledUsage>,
}

impl Company {
    fn new() -> Company {
        let mut book = AccountBook::new();
        book.add(sek_account("acme", "Acme")).unwrap();
        let tiers = Tiers::new(vec![
            Tier::unit(Some(dec!(100)), dec!(1.00)),
            Tier::unit(None, dec!(0.50)),
        ])
        .unwrap();
        let sub = active_monthly(
            "sub-acme",
            "acme",
            BillingPractice::InArrears,
            Currency::SEK,
            vec![Item::usage(
                ProductId::new("api").unwrap(),
                MetricId::new("calls").unwrap(),
                PriceModel::Graduated { tiers },
            )],
        );
        Company {
            book,
            subscriptions: vec![sub],
            metrics: vec![Metric {
                id: MetricId::new("calls").unwrap(),
                aggregation: Aggregation::Sum,
            }],
            usage: Vec::new(),
            billed_usage: Vec::new(),
        }
    }

    fn add_usage(&mut self, id: &str, on: NaiveDate, quantity: Decimal) {
        let at = Utc.from_utc_datetime(&on.and_hms_opt(12, 0, 0).unwrap());
        self.usage.push(
            UsageRecord::new(
                AccountKey::new("acme").unwrap(),
                MetricId::new("calls").unwrap(),
                at,
                quantity,
                Some(RecordId::new(id).unwrap()),
            )
            .unwrap(),
        );
    }

    /// Runs on `on`, checks the oracle agrees, and records the run as a store does.
    fn bill(&mut self, on: NaiveDate) -> BillingRun {
        let result = run_checked_by_oracle(
            &RecordData {
                accounts: &self.book,
                subscriptions: &self.subscriptions,
                metrics: &self.metrics,
                usage: &self.usage,
                billed_usage: &self.billed_usage,
            },
            on,
        );
        for b in &result.billed {
            for s in &mut self.subscriptions {
                if s.id() == &b.subscription {
                    s.record_run(b.through);
                }
            }
        }
        for row in &result.billed_usage {
            self.billed_usage.retain(|r| r.key() != row.key());
            self.billed_usage.push(row.clone());
        }
        result
    }
}

fn lines(result: &BillingRun) -> Vec<(LineKind, Period, Decimal, Decimal)> {
    result
        .invoices
        .iter()
        .flat_map(|i| i.lines())
        .map(|l| (l.kind, l.period, l.quantity, l.amount.amount()))
        .collect()
}

fn month(m: u32) -> Period {
    let next = if m == 12 {
        date(2026, 1, 1)
    } else {
        date(2025, m + 1, 1)
    };
    Period::new(date(2025, m, 1), next).unwrap()
}

/// January billed with 80 calls; 40 more for January arrive afterwards. The next run bills
/// February as usual and January again with all 120 calls: 100 x 1.00 + 20 x 0.50 = 110.00,
/// less the 80.00 billed, on a late usage line naming January. Before, the 40 calls were
/// never billed.
#[test]
fn late_usage_for_a_billed_period_is_billed_on_the_next_run_at_its_tiers() {
    let mut company = Company::new();
    company.add_usage("jan-1", date(2025, 1, 10), dec!(80));
    let february = company.bill(date(2025, 2, 1));
    assert_eq!(
        lines(&february),
        [(LineKind::InArrears, month(1), dec!(80), dec!(80.00))]
    );

    company.add_usage("jan-2", date(2025, 1, 20), dec!(40));
    company.add_usage("feb-1", date(2025, 2, 5), dec!(10));
    let march = company.bill(date(2025, 3, 1));
    assert_eq!(
        lines(&march),
        [
            (LineKind::LateUsage, month(1), dec!(40), dec!(30.00)),
            (LineKind::InArrears, month(2), dec!(10), dec!(10.00)),
        ]
    );

    // Billed once: the same date again bills nothing.
    let again = company.bill(date(2025, 3, 1));
    assert!(again.invoices.is_empty(), "{:?}", lines(&again));
}

/// A late record that moves no amount (inside what a volume of nothing costs) still updates
/// what was billed, and a record that arrives later again is billed against the new total.
#[test]
fn late_usage_is_billed_against_everything_billed_for_the_period() {
    let mut company = Company::new();
    company.add_usage("jan-1", date(2025, 1, 10), dec!(90));
    company.bill(date(2025, 2, 1));
    company.add_usage("jan-2", date(2025, 1, 11), dec!(20));
    let first = company.bill(date(2025, 2, 2));
    // 100 x 1.00 + 10 x 0.50 = 105.00, 90.00 billed.
    assert_eq!(
        lines(&first),
        [(LineKind::LateUsage, month(1), dec!(20), dec!(15.00))]
    );
    company.add_usage("jan-3", date(2025, 1, 12), dec!(10));
    let second = company.bill(date(2025, 2, 3));
    // 100 + 20 x 0.50 = 110.00, 105.00 billed.
    assert_eq!(
        lines(&second),
        [(LineKind::LateUsage, month(1), dec!(10), dec!(5.00))]
    );
}

/// Usage for a period not billed yet is not late: it is billed with its period.
#[test]
fn usage_for_an_unbilled_period_is_not_late() {
    let mut company = Company::new();
    company.add_usage("jan-1", date(2025, 1, 10), dec!(10));
    company.bill(date(2025, 2, 1));
    company.add_usage("feb-1", date(2025, 2, 10), dec!(5));
    let march = company.bill(date(2025, 3, 1));
    assert_eq!(
        lines(&march),
        [(LineKind::InArrears, month(2), dec!(5), dec!(5.00))]
    );
}

/// Only periods whose records changed are rated again: a year billed month by month, then
/// one late record in March, gives one late line.
#[test]
fn only_periods_with_late_records_are_rated_again() {
    let mut company = Company::new();
    for m in 1..=12 {
        company.add_usage(&format!("m{m}"), date(2025, m, 3), dec!(5));
    }
    company.bill(date(2026, 1, 1));
    company.add_usage("march-late", date(2025, 3, 9), dec!(7));
    let result = company.bill(date(2026, 1, 2));
    assert_eq!(
        lines(&result),
        [(LineKind::LateUsage, month(3), dec!(7), dec!(7.00))]
    );
    // What is kept for March is its new total.
    let march = company
        .billed_usage
        .iter()
        .find(|r| r.period == month(3))
        .unwrap();
    assert_eq!(
        (march.records, march.quantity, march.amount),
        (2, dec!(12), dec!(12.00))
    );
}

/// A record re-sent with the same id and another quantity replaces the first (the later
/// timestamp wins): the period is rated again with it, and the difference is billed on a
/// late usage line, a charge when it grew, a credit when it shrank. Before, only a changed
/// number of records was seen, and the new quantity was never billed.
#[test]
fn a_record_resent_with_another_quantity_is_billed_as_a_late_difference() {
    let mut company = Company::new();
    company.add_usage("jan-1", date(2025, 1, 10), dec!(80));
    company.bill(date(2025, 2, 1));
    company.add_usage("jan-1", date(2025, 1, 11), dec!(120));
    let grown = company.bill(date(2025, 2, 2));
    // 100 x 1.00 + 20 x 0.50 = 110.00, 80.00 billed.
    assert_eq!(
        lines(&grown),
        [(LineKind::LateUsage, month(1), dec!(40), dec!(30.00))]
    );
    company.add_usage("jan-1", date(2025, 1, 12), dec!(50));
    let shrunk = company.bill(date(2025, 2, 3));
    assert_eq!(
        lines(&shrunk),
        [(LineKind::LateUsage, month(1), dec!(-70), dec!(-60.00))]
    );
    let again = company.bill(date(2025, 2, 4));
    assert!(again.invoices.is_empty(), "{:?}", lines(&again));
}

/// The same for a metric aggregated by its maximum, whose billed periods are compared one
/// by one: a re-sent peak is billed as a late difference.
#[test]
fn a_resent_peak_of_a_max_metric_is_billed_as_a_late_difference() {
    let mut company = Company::new();
    company.metrics[0].aggregation = Aggregation::Max;
    company.add_usage("jan-1", date(2025, 1, 10), dec!(80));
    company.add_usage("jan-2", date(2025, 1, 15), dec!(30));
    company.bill(date(2025, 2, 1));
    company.add_usage("jan-2", date(2025, 1, 16), dec!(120));
    let result = company.bill(date(2025, 2, 2));
    assert_eq!(
        lines(&result),
        [(LineKind::LateUsage, month(1), dec!(40), dec!(30.00))]
    );
}
