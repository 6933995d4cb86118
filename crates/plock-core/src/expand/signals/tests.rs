use super::*;
use proptest::prelude::*;
use rust_decimal::dec;

fn evaluation_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
}

/// The day `n` days before the evaluation date: 1 is the last day, 1..=14 the trend window,
/// 2..=29 the outlier baseline.
fn days_ago(n: u64) -> NaiveDate {
    evaluation_date().checked_sub_days(Days::new(n)).unwrap()
}

fn account() -> AccountId {
    AccountId::new("acc-1").unwrap()
}

fn product() -> ProductId {
    ProductId::new("api").unwrap()
}

/// Usage given oldest first: `quantities[0]` is `quantities.len()` days ago, the last one is
/// yesterday.
fn series(quantities: &[Decimal]) -> DailyUsage {
    let len = quantities.len() as u64;
    DailyUsage::from_pairs(
        quantities
            .iter()
            .enumerate()
            .map(|(i, q)| (days_ago(len - i as u64), *q)),
    )
    .unwrap()
}

fn check(usage: &DailyUsage) -> Vec<Signal> {
    let signals = usage_signals(&account(), &product(), evaluation_date(), usage).unwrap();
    for signal in &signals {
        assert_eq!(
            (signal.account(), signal.product()),
            (&account(), &product())
        );
    }
    signals
}

fn kinds(usage: &DailyUsage) -> Vec<SignalKind> {
    check(usage).iter().map(Signal::kind).collect()
}

fn linear(start: Decimal, step: Decimal, days: u64) -> Vec<Decimal> {
    (0..days).map(|x| start + step * Decimal::from(x)).collect()
}

fn trend_window() -> UsageWindow {
    UsageWindow::days_before(evaluation_date(), 14).unwrap()
}

#[test]
fn constant_series_raises_no_signal() {
    assert_eq!(kinds(&series(&[dec!(5); 60])), []);
    assert_eq!(kinds(&DailyUsage::default()), []);
}

#[test]
fn strictly_rising_series_raises_upsell_opportunity_with_its_evidence() {
    let signals = check(&series(&linear(dec!(1), dec!(1), 14)));
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].kind(), SignalKind::UpsellOpportunity);
    assert_eq!(
        signals[0].evidence(),
        &Evidence::Trend {
            window: trend_window(),
            slope: dec!(1),
            mean: dec!(7.5),
            active_days: 14,
        }
    );
}

#[test]
fn strictly_falling_series_raises_churn_risk_with_its_evidence() {
    let signals = check(&series(&linear(dec!(14), dec!(-1), 14)));
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].kind(), SignalKind::ChurnRisk);
    assert_eq!(
        signals[0].evidence(),
        &Evidence::Trend {
            window: trend_window(),
            slope: dec!(-1),
            mean: dec!(7.5),
            active_days: 14,
        }
    );
}

#[test]
fn slope_exactly_five_percent_of_mean_is_not_steady_enough() {
    // y = 27 + 2x: slope 2, mean 40, 5% of the mean is exactly 2.
    assert_eq!(kinds(&series(&linear(dec!(27), dec!(2), 14))), []);
    // y = 26 + 2x: mean 39, 5% is 1.95 < 2.
    assert_eq!(
        kinds(&series(&linear(dec!(26), dec!(2), 14))),
        [SignalKind::UpsellOpportunity]
    );
    // Mirrored: falling at exactly 5% is no churn risk either.
    let mut falling = linear(dec!(27), dec!(2), 14);
    falling.reverse();
    assert_eq!(kinds(&series(&falling)), []);
}

#[test]
fn trend_needs_ten_active_days() {
    // Rising on 9 or 10 of the last 14 days, zero on the others.
    let rising_on = |active: u64| {
        let quantities: Vec<Decimal> = (0..14)
            .map(|x| {
                if x >= 14 - active {
                    Decimal::from(x)
                } else {
                    dec!(0)
                }
            })
            .collect();
        series(&quantities)
    };
    assert_eq!(kinds(&rising_on(9)), []);
    assert_eq!(kinds(&rising_on(10)), [SignalKind::UpsellOpportunity]);
}

#[test]
fn trend_window_excludes_the_evaluation_date() {
    let mut usage: Vec<(NaiveDate, Decimal)> = (1..=14).map(|n| (days_ago(n), dec!(5))).collect();
    usage.push((evaluation_date(), dec!(1000)));
    assert_eq!(kinds(&DailyUsage::from_pairs(usage).unwrap()), []);
}

/// 28 baseline days alternating 10 and 12 (median 11, MAD 1), then yesterday's `last`.
fn baseline_then(last: Decimal) -> DailyUsage {
    let mut quantities: Vec<Decimal> = (0..28)
        .map(|i| if i % 2 == 0 { dec!(10) } else { dec!(12) })
        .collect();
    quantities.push(last);
    series(&quantities)
}

#[test]
fn spike_is_more_than_three_mad_above_the_median() {
    let signals = check(&baseline_then(dec!(14.01)));
    assert_eq!(signals.len(), 1);
    assert_eq!(signals[0].kind(), SignalKind::Spike);
    assert_eq!(
        signals[0].evidence(),
        &Evidence::Outlier {
            day: days_ago(1),
            value: dec!(14.01),
            baseline: UsageWindow::days_before(days_ago(1), 28).unwrap(),
            median: dec!(11),
            mad: dec!(1),
        }
    );
    // Exactly 3 MAD above is inside the normal range.
    assert_eq!(kinds(&baseline_then(dec!(14))), []);
}

#[test]
fn drop_is_more_than_three_mad_below_the_median() {
    assert_eq!(kinds(&baseline_then(dec!(7.99))), [SignalKind::Drop]);
    assert_eq!(kinds(&baseline_then(dec!(8))), []);
}

#[test]
fn a_day_without_record_counts_as_zero_and_can_be_a_drop() {
    let mut usage: Vec<(NaiveDate, Decimal)> = (2..=29)
        .map(|n| (days_ago(n), if n % 2 == 0 { dec!(10) } else { dec!(12) }))
        .collect();
    usage.push((evaluation_date(), dec!(11)));
    let signals = check(&DailyUsage::from_pairs(usage).unwrap());
    let drop = signals
        .iter()
        .find(|s| s.kind() == SignalKind::Drop)
        .unwrap();
    assert!(matches!(drop.evidence(), Evidence::Outlier { value, .. } if value.is_zero()));
}

#[test]
fn zero_mad_raises_no_spike_or_drop() {
    // An occasional user: mostly zero days, so the MAD is zero; the first use is no spike.
    let mut occasional = vec![dec!(0); 28];
    occasional[3] = dec!(4);
    occasional.push(dec!(50));
    assert_eq!(kinds(&series(&occasional)), []);
    // A constant account that stops is no drop (churn risk comes from the trend instead).
    let mut stopped = vec![dec!(5); 28];
    stopped.push(dec!(0));
    assert_eq!(kinds(&series(&stopped)), []);
}

#[test]
fn trend_and_outlier_signals_can_come_together_ordered_by_kind() {
    // Falling for 14 days, ending on a day far below the baseline (median 98, MAD 4).
    let mut quantities: Vec<Decimal> = (0..15)
        .map(|i| if i % 2 == 0 { dec!(98) } else { dec!(102) })
        .collect();
    quantities.extend(linear(dec!(90), dec!(-5), 13));
    quantities.push(dec!(1));
    let signals = check(&series(&quantities));
    insta::assert_yaml_snapshot!(signals);
    assert_eq!(
        signals.iter().map(Signal::kind).collect::<Vec<_>>(),
        [SignalKind::ChurnRisk, SignalKind::Drop]
    );
}

#[test]
fn serde_round_trip_checks_kind_against_evidence() {
    let signals = check(&baseline_then(dec!(20)));
    let json = serde_json::to_string(&signals).unwrap();
    assert_eq!(serde_json::from_str::<Vec<Signal>>(&json).unwrap(), signals);
    let wrong = json.replace("\"spike\"", "\"churn_risk\"");
    let err = serde_json::from_str::<Vec<Signal>>(&wrong).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "invalid usage signal of account acc-1, product api: ChurnRisk needs trend evidence"
        ),
        "{err}"
    );
}

#[test]
fn evaluation_date_too_early_is_an_error() {
    let err = usage_signals(
        &account(),
        &product(),
        NaiveDate::MIN,
        &DailyUsage::default(),
    )
    .unwrap_err();
    assert!(
        matches!(err, ExpandError::SignalDateOutOfRange { .. }),
        "{err}"
    );
}

#[test]
fn huge_quantities_are_an_overflow_error() {
    let usage = series(&[Decimal::MAX; 14]);
    let err = usage_signals(&account(), &product(), evaluation_date(), &usage).unwrap_err();
    assert_eq!(
        err,
        ExpandError::SignalOverflow {
            account: account(),
            product: product(),
            window_start: days_ago(14),
            signal: "trend",
        }
    );
}

#[test]
fn median_of_even_count_is_mean_of_middle_values() {
    assert_eq!(
        median_of(vec![dec!(4), dec!(1), dec!(3), dec!(2)]),
        Some(dec!(2.5))
    );
    assert_eq!(median_of(vec![dec!(3), dec!(1), dec!(2)]), Some(dec!(2)));
    assert_eq!(
        median_of(vec![Decimal::MAX, Decimal::MAX]),
        Some(Decimal::MAX)
    );
    assert_eq!(median_of(vec![]), None);
}

fn arb_quantity() -> impl Strategy<Value = Decimal> {
    (0i64..=1_000_000, 0u32..=2).prop_map(|(m, s)| Decimal::new(m, s))
}

/// A strictly rising 14-day series: start `c > 0`, each step `k x f` with `k >= c` and
/// `f` in 1..=10. Steps that large always rise by more than 5% of the mean per day: whatever the
/// mix of factors, slope - 0.05 x (mean - c) stays above 0.5 k, and 0.5 k > 0.05 c.
fn arb_rising() -> impl Strategy<Value = Vec<Decimal>> {
    (1i64..=1000, 0u32..=2)
        .prop_flat_map(|(c, scale)| {
            (
                Just(Decimal::new(c, scale)),
                (c..=10 * c).prop_map(move |k| Decimal::new(k, scale)),
                prop::collection::vec(1u8..=10, 13),
            )
        })
        .prop_map(|(start, k, factors)| {
            let mut y = start;
            let mut out = vec![y];
            for f in factors {
                y += k * Decimal::from(f);
                out.push(y);
            }
            out
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn signals_do_not_depend_on_input_order(
        (pairs, shuffled) in prop::collection::vec((0u64..=35, arb_quantity()), 0..80)
            .prop_map(|v| v.into_iter().map(|(n, q)| (days_ago(n), q)).collect::<Vec<_>>())
            .prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
    ) {
        let a = check(&DailyUsage::from_pairs(pairs).unwrap());
        let b = check(&DailyUsage::from_pairs(shuffled).unwrap());
        prop_assert_eq!(a, b);
    }

    #[test]
    fn constant_series_never_raises_a_signal(value in arb_quantity(), days in 29u64..=60) {
        let usage = DailyUsage::from_pairs((1..=days).map(|n| (days_ago(n), value))).unwrap();
        prop_assert_eq!(kinds(&usage), []);
    }

    #[test]
    fn strictly_rising_series_raises_upsell_and_falling_raises_churn(rising in arb_rising()) {
        let rising_kinds = kinds(&series(&rising));
        prop_assert!(rising_kinds.contains(&SignalKind::UpsellOpportunity), "{:?}", rising_kinds);
        let mut falling = rising;
        falling.reverse();
        let falling_kinds = kinds(&series(&falling));
        prop_assert!(falling_kinds.contains(&SignalKind::ChurnRisk), "{:?}", falling_kinds);
    }
}
