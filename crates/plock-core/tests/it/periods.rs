//! A year of periods for a handful of subscriptions, as snapshots a person can read.

use plock_core::period::*;

use crate::fixtures::date;

fn year_of(schedule: &Schedule) -> Vec<String> {
    let a_year_later = schedule
        .start()
        .checked_add_months(chrono::Months::new(12))
        .unwrap();
    schedule
        .periods()
        .take_while(|p| p.covered.start() < a_year_later)
        .map(|p| {
            let mark = if p.is_partial() {
                format!("  partial of {}", p.full)
            } else {
                String::new()
            };
            format!("{} {} days{mark}", p.covered, p.covered.days())
        })
        .collect()
}

#[test]
fn calendar_monthly_from_the_10th() {
    let s = Schedule::new(
        date(2025, 3, 10),
        None,
        BillingInterval::MONTHLY,
        PeriodMode::Calendar,
        None,
    )
    .unwrap();
    insta::assert_yaml_snapshot!(year_of(&s));
}

#[test]
fn continuous_monthly_from_the_31st() {
    let s = Schedule::new(
        date(2025, 1, 31),
        None,
        BillingInterval::MONTHLY,
        PeriodMode::Continuous,
        None,
    )
    .unwrap();
    insta::assert_yaml_snapshot!(year_of(&s));
}

#[test]
fn quarterly_with_a_fiscal_year_anchor() {
    let s = Schedule::new(
        date(2025, 2, 15),
        None,
        BillingInterval::QUARTERLY,
        PeriodMode::Continuous,
        Some(date(2025, 5, 1)),
    )
    .unwrap();
    insta::assert_yaml_snapshot!(year_of(&s));
}

#[test]
fn annual_calendar_ending_mid_year() {
    let s = Schedule::new(
        date(2024, 11, 20),
        Some(date(2026, 6, 30)),
        BillingInterval::ANNUALLY,
        PeriodMode::Calendar,
        None,
    )
    .unwrap();
    insta::assert_yaml_snapshot!(
        s.periods()
            .map(|p| format!("{} of {}", p.covered, p.full))
            .collect::<Vec<_>>()
    );
}
