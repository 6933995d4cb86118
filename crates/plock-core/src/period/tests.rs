//! Tests of periods, schedules and intervals.

use super::*;
use proptest::prelude::*;
use rust_decimal::dec;

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap()
}

/// A schedule from `start`, open-ended and without an anchor.
fn schedule(start: NaiveDate, interval: BillingInterval, mode: PeriodMode) -> Schedule {
    Schedule::new(start, None, interval, mode, None).unwrap()
}

fn covered(s: &Schedule, n: usize) -> Vec<String> {
    s.periods().take(n).map(|p| p.covered.to_string()).collect()
}

#[test]
fn example_proration_3100_sek_from_march_10() {
    let s = schedule(
        d(2025, 3, 10),
        BillingInterval::MONTHLY,
        PeriodMode::Calendar,
    );
    let first = s.periods().next().unwrap();
    assert_eq!(
        first.covered,
        Period::new(d(2025, 3, 10), d(2025, 4, 1)).unwrap()
    );
    assert_eq!(
        first.full,
        Period::new(d(2025, 3, 1), d(2025, 4, 1)).unwrap()
    );
    assert_eq!((first.covered.days(), first.full.days()), (22, 31));
    assert_eq!(first.prorate(dec!(3100.00)).unwrap(), dec!(2200.00));
}

#[test]
fn continuous_from_the_15th() {
    let s = schedule(
        d(2025, 1, 15),
        BillingInterval::MONTHLY,
        PeriodMode::Continuous,
    );
    assert_eq!(
        covered(&s, 2),
        vec!["[2025-01-15, 2025-02-15)", "[2025-02-15, 2025-03-15)"]
    );
}

#[test]
fn continuous_month_end_clamps_and_returns() {
    let s = schedule(
        d(2025, 1, 31),
        BillingInterval::MONTHLY,
        PeriodMode::Continuous,
    );
    assert_eq!(
        covered(&s, 3),
        vec![
            "[2025-01-31, 2025-02-28)",
            "[2025-02-28, 2025-03-31)",
            "[2025-03-31, 2025-04-30)"
        ]
    );
}

#[test]
fn calendar_quarters_align_to_january() {
    let s = schedule(
        d(2025, 2, 10),
        BillingInterval::QUARTERLY,
        PeriodMode::Calendar,
    );
    let first = s.periods().next().unwrap();
    assert_eq!(
        first.full,
        Period::new(d(2025, 1, 1), d(2025, 4, 1)).unwrap()
    );
    assert_eq!(
        covered(&s, 2),
        vec!["[2025-02-10, 2025-04-01)", "[2025-04-01, 2025-07-01)"]
    );
    let h = schedule(
        d(2025, 8, 1),
        BillingInterval::HALF_YEARLY,
        PeriodMode::Calendar,
    );
    assert_eq!(
        h.periods().next().unwrap().full,
        Period::new(d(2025, 7, 1), d(2026, 1, 1)).unwrap()
    );
}

#[test]
fn anchor_gives_a_short_first_period() {
    let s = Schedule::new(
        d(2025, 2, 10),
        None,
        BillingInterval::ANNUALLY,
        PeriodMode::Continuous,
        Some(d(2025, 7, 1)),
    )
    .unwrap();
    let p: Vec<BillingPeriod> = s.periods().take(2).collect();
    assert_eq!(
        p[0].covered,
        Period::new(d(2025, 2, 10), d(2025, 7, 1)).unwrap()
    );
    assert_eq!(
        p[0].full,
        Period::new(d(2024, 7, 1), d(2025, 7, 1)).unwrap()
    );
    assert_eq!(
        p[1].covered,
        Period::new(d(2025, 7, 1), d(2026, 7, 1)).unwrap()
    );
}

#[test]
fn end_date_clips_the_last_period() {
    let s = Schedule::new(
        d(2025, 1, 1),
        Some(d(2025, 3, 16)),
        BillingInterval::MONTHLY,
        PeriodMode::Calendar,
        None,
    )
    .unwrap();
    let p: Vec<BillingPeriod> = s.periods().collect();
    assert_eq!(p.len(), 3);
    assert_eq!(
        p[2].covered,
        Period::new(d(2025, 3, 1), d(2025, 3, 16)).unwrap()
    );
    assert!(p[2].is_partial());
    assert_eq!(p[2].prorate(dec!(31)).unwrap(), dec!(15));
}

#[test]
fn validation() {
    assert!(Period::new(d(2025, 1, 1), d(2025, 1, 1)).is_err());
    assert!(BillingInterval::every_months(0).is_err());
    assert!(BillingInterval::every_months(MAX_INTERVAL_MONTHS).is_ok());
    assert!(BillingInterval::every_months(MAX_INTERVAL_MONTHS + 1).is_err());
    let m = BillingInterval::MONTHLY;
    let c = PeriodMode::Continuous;
    assert!(Schedule::new(d(2025, 1, 1), Some(d(2025, 1, 1)), m, c, None).is_err());
    assert!(Schedule::new(d(2025, 1, 10), None, m, c, Some(d(2025, 1, 10))).is_err());
    assert!(Schedule::new(d(2025, 1, 10), None, m, c, Some(d(2025, 2, 10))).is_ok());
    let err = Schedule::new(d(2025, 1, 10), None, m, c, Some(d(2025, 2, 11))).unwrap_err();
    assert_eq!(
        err.to_string(),
        "renewal anchor 2025-02-11 must be after the start 2025-01-10 and no later than 2025-02-10"
    );
}

#[test]
fn period_containing() {
    let s = Schedule::new(
        d(2025, 1, 31),
        Some(d(2026, 1, 1)),
        BillingInterval::MONTHLY,
        PeriodMode::Continuous,
        None,
    )
    .unwrap();
    assert_eq!(s.period_containing(d(2025, 1, 30)), None);
    assert_eq!(s.period_containing(d(2026, 1, 1)), None);
    let p = s.period_containing(d(2025, 3, 30)).unwrap();
    assert_eq!(
        p.covered,
        Period::new(d(2025, 2, 28), d(2025, 3, 31)).unwrap()
    );
}

fn any_schedule() -> impl Strategy<Value = Schedule> {
    (
        2000i32..2030,
        1u32..=12,
        1u32..=31,
        prop_oneof![Just(1u32), Just(3), Just(6), Just(12), 1u32..=24],
        any::<bool>(),
        0u32..=400,
    )
        .prop_filter_map(
            "valid schedule",
            |(y, m, day, months, continuous, anchor_days)| {
                let start = NaiveDate::from_ymd_opt(y, m, day.min(last_day_of_month(y, m)?))?;
                let interval = BillingInterval::every_months(months).ok()?;
                let mode = if continuous {
                    PeriodMode::Continuous
                } else {
                    PeriodMode::Calendar
                };
                let anchor =
                    (anchor_days > 0).then(|| start + chrono::Days::new(u64::from(anchor_days)));
                Schedule::new(start, None, interval, mode, anchor).ok()
            },
        )
}

proptest! {
    /// Ten years of periods tile time: each starts where the last ended, none is empty, the
    /// covered part lies in its full interval, and period_containing agrees.
    #[test]
    fn ten_years_of_periods_tile_time(s in any_schedule()) {
        let horizon = add_months_clamped(s.start(), 120).unwrap();
        let mut expected_start = s.start();
        for p in s.periods().take_while(|p| p.covered.start() < horizon) {
            prop_assert_eq!(p.covered.start(), expected_start);
            prop_assert!(p.full.start() <= p.covered.start() && p.covered.end() <= p.full.end());
            prop_assert_eq!(s.period_containing(p.covered.start()), Some(p));
            prop_assert_eq!(s.period_containing(p.covered.end().pred_opt().unwrap()), Some(p));
            expected_start = p.covered.end();
        }
        prop_assert!(expected_start >= horizon);
    }

    /// A walk from any day continues the schedule's own walk from the period holding
    /// that day, each period's boundaries carried to the next.
    #[test]
    fn periods_from_any_day_continue_the_schedule(
        s in any_schedule(),
        offset in 0u64..4000,
        n in 1usize..8,
    ) {
        let from = s.start() + chrono::Days::new(offset);
        let whole: Vec<BillingPeriod> =
            s.periods().skip_while(|p| p.covered.end() <= from).take(n).collect();
        let walked: Vec<BillingPeriod> = s.periods_from(from).take(n).collect();
        prop_assert_eq!(walked.first().copied(), s.period_containing(from));
        prop_assert_eq!(walked, whole);
    }

    /// A walk up to a day is the walk's periods that start on or before that day.
    #[test]
    fn periods_from_until_a_day_are_those_starting_by_then(
        s in any_schedule(),
        offset in 0u64..4000,
        ahead in 0u64..800,
    ) {
        let from = s.start() + chrono::Days::new(offset);
        let until = from + chrono::Days::new(ahead);
        let expected: Vec<BillingPeriod> = s
            .periods_from(from)
            .take_while(|p| p.covered.start() <= until)
            .collect();
        let walked: Vec<BillingPeriod> = s.periods_from_until(from, until).collect();
        prop_assert_eq!(walked, expected);
    }

    /// Splitting a period at any day, the rounded prorated pieces add up to the full fee
    /// within one minor unit per piece.
    #[test]
    fn prorated_pieces_add_up(cents in 0i64..10_000_000, split in 1i64..30) {
        let full = Period::new(d(2025, 1, 1), d(2025, 1, 31)).unwrap();
        let cut = d(2025, 1, 1) + chrono::Days::new(split as u64);
        let fee = Decimal::new(cents, 2);
        let a = BillingPeriod { covered: Period::new(full.start(), cut).unwrap(), full };
        let b = BillingPeriod { covered: Period::new(cut, full.end()).unwrap(), full };
        let round = |x: Decimal| crate::money::Currency::EUR.round(x);
        let sum = round(a.prorate(fee).unwrap()) + round(b.prorate(fee).unwrap());
        prop_assert!((sum - fee).abs() <= dec!(0.02));
        prop_assert!((a.prorate(fee).unwrap() + b.prorate(fee).unwrap() - fee).abs() < dec!(0.000000000000000001));
    }
}
