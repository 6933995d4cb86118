use super::*;
use proptest::prelude::*;
use rust_decimal::dec;

use crate::expand::daily_usage::DailyUsage;

fn scoring_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2025, 6, 1).unwrap()
}

/// The day `n` days before the scoring date: 1..=30 is the current window, 31..=60 the previous.
fn days_ago(n: u64) -> NaiveDate {
    scoring_date()
        .checked_sub_days(chrono::Days::new(n))
        .unwrap()
}

fn account() -> AccountId {
    AccountId::new("acc-1").unwrap()
}

fn product() -> ProductId {
    ProductId::new("api").unwrap()
}

/// `current` active days in the current window and `previous` in the previous one, each with
/// `per_day` quantity.
fn usage(current: u64, previous: u64, per_day: Decimal) -> DailyUsage {
    let cur = (1..=current).map(|n| (days_ago(n), per_day));
    let prev = (31..31 + previous).map(|n| (days_ago(n), per_day));
    DailyUsage::from_pairs(cur.chain(prev)).unwrap()
}

fn check(usage: &DailyUsage, committed: Option<Decimal>) -> AdoptionScore {
    let score = adoption_score(&account(), &product(), scoring_date(), usage, committed).unwrap();
    assert_eq!(score.band(), AdoptionBand::of(score.score()));
    score
}

#[test]
fn all_windows_zero_gives_flat_trend_and_score_from_activity_only() {
    let score = check(&DailyUsage::default(), None);
    assert_eq!(score.activity(), dec!(0));
    assert_eq!(score.utilisation(), dec!(0));
    assert_eq!(score.trend(), dec!(0.5));
    // 100 x (0.5 x 0 + 0.3 x 0 + 0.2 x 0.5)
    assert_eq!(score.score(), 10);
    assert_eq!(score.band(), AdoptionBand::Low);
    assert!(!score.upsell_ready());

    let with_commitment = check(&DailyUsage::default(), Some(dec!(100)));
    assert_eq!(with_commitment.score(), 10);
}

#[test]
fn full_activity_with_commitment_met_and_rising_is_upsell_ready() {
    let cur = (1..=30).map(|n| (days_ago(n), dec!(10)));
    let prev = (31..=60).map(|n| (days_ago(n), dec!(5)));
    let usage = DailyUsage::from_pairs(cur.chain(prev)).unwrap();
    let score = check(&usage, Some(dec!(200)));
    assert_eq!(score.activity(), dec!(1));
    assert_eq!(score.utilisation(), dec!(1));
    // 0.5 + (300 - 150) / (2 x 300)
    assert_eq!(score.trend(), dec!(0.75));
    assert_eq!(score.score(), 95);
    assert_eq!(score.band(), AdoptionBand::High);
    assert!(score.upsell_ready());
}

#[test]
fn band_boundaries_39_40_69_70() {
    assert_eq!(AdoptionBand::of(0), AdoptionBand::Low);
    assert_eq!(AdoptionBand::of(39), AdoptionBand::Low);
    assert_eq!(AdoptionBand::of(40), AdoptionBand::Medium);
    assert_eq!(AdoptionBand::of(69), AdoptionBand::Medium);
    assert_eq!(AdoptionBand::of(70), AdoptionBand::High);
    assert_eq!(AdoptionBand::of(100), AdoptionBand::High);

    // Flat usage, so t = 0.5; score = 100 x (0.5 n/30 + 0.3 n p / C + 0.1).
    let cases = [
        (12, dec!(9), dec!(360), 39, AdoptionBand::Low),
        (12, dec!(10), dec!(360), 40, AdoptionBand::Medium),
        (24, dec!(19), dec!(720), 69, AdoptionBand::Medium),
        (24, dec!(20), dec!(720), 70, AdoptionBand::High),
    ];
    for (days, per_day, committed, expected, band) in cases {
        let score = check(&usage(days, days, per_day), Some(committed));
        assert_eq!(score.trend(), dec!(0.5));
        assert_eq!(
            (score.score(), score.band()),
            (expected, band),
            "{days} days"
        );
    }
}

#[test]
fn exact_midpoint_rounds_away_from_zero() {
    // 100 x (0.5 x 12/30 + 0.3 x 228/720 + 0.1) = 20 + 9.5 + 10 = 39.5
    let score = check(&usage(12, 12, dec!(19)), Some(dec!(720)));
    assert_eq!(score.score(), 40);
    assert_eq!(score.band(), AdoptionBand::Medium);
}

#[test]
fn exact_midpoint_survives_inexact_thirds() {
    // 100 x (0.5 x 1/30 + 0.3 x 1/36 + 0.1) = 5/3 + 5/6 + 10 = 12.5 exactly, though 1/30 and
    // 1/36 have no exact decimal form.
    let score = check(&usage(1, 1, dec!(1)), Some(dec!(36)));
    assert_eq!(score.score(), 13);
}

#[test]
fn utilisation_is_capped_at_one() {
    let score = check(&usage(30, 30, dec!(100)), Some(dec!(10)));
    assert_eq!(score.utilisation(), dec!(1));
    // 50 + 30 + 10
    assert_eq!(score.score(), 90);
    // Flat trend: fully used but not growing, so not upsell-ready.
    assert!(!score.upsell_ready());
}

#[test]
fn utilisation_without_commitment_equals_activity() {
    let score = check(&usage(15, 15, dec!(1000)), None);
    assert_eq!(score.activity(), dec!(0.5));
    assert_eq!(score.utilisation(), dec!(0.5));
    // 25 + 15 + 10
    assert_eq!(score.score(), 50);
}

#[test]
fn zero_commitment_counts_as_no_commitment() {
    let usage = usage(15, 15, dec!(1000));
    assert_eq!(check(&usage, Some(dec!(0))), check(&usage, None));
    let idle = check(&DailyUsage::default(), Some(dec!(0)));
    assert_eq!(idle.utilisation(), dec!(0));
    assert!(!idle.upsell_ready());
}

#[test]
fn trend_is_clamped_at_one_when_usage_is_new() {
    let score = check(&usage(30, 0, dec!(3)), None);
    assert_eq!(score.trend(), dec!(1));
    assert_eq!(score.score(), 100);
    assert!(score.upsell_ready());
}

#[test]
fn trend_is_clamped_at_zero_when_usage_stopped() {
    let score = check(&usage(0, 30, dec!(3)), Some(dec!(10)));
    assert_eq!(score.trend(), dec!(0));
    assert_eq!(score.utilisation(), dec!(0));
    assert_eq!(score.score(), 0);
}

#[test]
fn upsell_needs_utilisation_of_at_least_nine_tenths_and_a_rising_trend() {
    // 27 of 30 days: a = u = 0.9 without commitment; the previous window is smaller.
    let ready = check(&usage(27, 20, dec!(1)), None);
    assert_eq!(ready.utilisation(), dec!(0.9));
    assert!(ready.trend() > dec!(0.5));
    assert!(ready.upsell_ready());

    let just_below = check(&usage(26, 20, dec!(1)), None);
    assert!(just_below.utilisation() < dec!(0.9));
    assert!(!just_below.upsell_ready());

    let flat = check(&usage(27, 27, dec!(1)), None);
    assert_eq!(flat.trend(), dec!(0.5));
    assert!(!flat.upsell_ready());
}

#[test]
fn windows_exclude_the_scoring_date_and_the_61st_day_back() {
    let outside = DailyUsage::from_pairs([
        (scoring_date(), dec!(5)),
        (days_ago(61), dec!(5)),
        (scoring_date().succ_opt().unwrap(), dec!(5)),
    ])
    .unwrap();
    assert_eq!(check(&outside, None), check(&DailyUsage::default(), None));
    let edges = DailyUsage::from_pairs([(days_ago(30), dec!(5)), (days_ago(31), dec!(5))]).unwrap();
    let score = check(&edges, None);
    assert_eq!(score.activity(), dec!(1) / dec!(30));
    assert_eq!(score.trend(), dec!(0.5));
}

#[test]
fn negative_commitment_is_rejected() {
    let err = adoption_score(
        &account(),
        &product(),
        scoring_date(),
        &DailyUsage::default(),
        Some(dec!(-1)),
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "adoption score of account acc-1, product api: committed quantity -1 is negative"
    );
}

#[test]
fn scoring_date_too_early_is_an_error() {
    let err = adoption_score(
        &account(),
        &product(),
        NaiveDate::MIN,
        &DailyUsage::default(),
        None,
    )
    .unwrap_err();
    assert!(
        matches!(err, ExpandError::ScoringDateOutOfRange { .. }),
        "{err}"
    );
}

#[test]
fn window_total_overflow_is_an_error() {
    let usage =
        DailyUsage::from_pairs([(days_ago(1), Decimal::MAX), (days_ago(2), Decimal::MAX)]).unwrap();
    let err = adoption_score(&account(), &product(), scoring_date(), &usage, None).unwrap_err();
    assert_eq!(
        err,
        ExpandError::ScoreOverflow {
            account: account(),
            product: product(),
            window_start: days_ago(30),
        }
    );
}

#[test]
fn huge_quantity_against_tiny_commitment_caps_without_overflow() {
    let usage = DailyUsage::from_pairs([(days_ago(1), Decimal::MAX)]).unwrap();
    let score = check(&usage, Some(Decimal::new(1, 28)));
    assert_eq!(score.utilisation(), dec!(1));
}

fn scored(account: &str, product: &str, score: u8, upsell_ready: bool) -> AdoptionScore {
    AdoptionScore {
        account: AccountId::new(account).unwrap(),
        product: ProductId::new(product).unwrap(),
        score,
        band: AdoptionBand::of(score),
        activity: dec!(0),
        utilisation: dec!(0),
        trend: dec!(0.5),
        upsell_ready,
    }
}

fn names(scores: &[AdoptionScore]) -> Vec<String> {
    scores
        .iter()
        .map(|s| format!("{}/{}:{}", s.account(), s.product(), s.score()))
        .collect()
}

#[test]
fn ranking_calls_lowest_first_and_offers_highest_first_with_ties_by_account_then_product() {
    let ranking = AdoptionRanking::rank([
        scored("b", "api", 95, true),
        scored("a", "seats", 20, false),
        scored("c", "api", 95, true),
        scored("a", "api", 20, false),
        scored("b", "seats", 20, false),
        scored("a", "db", 97, true),
    ]);
    assert_eq!(
        names(ranking.call_first()),
        [
            "a/api:20",
            "a/seats:20",
            "b/seats:20",
            "b/api:95",
            "c/api:95",
            "a/db:97"
        ]
    );
    assert_eq!(
        names(ranking.upsell_ready()),
        ["a/db:97", "b/api:95", "c/api:95"]
    );
    assert_eq!(AdoptionRanking::rank([]), AdoptionRanking::default());
}

/// Five accounts, two products: a fixed pattern per pair, so the snapshot is stable.
fn demo_company() -> Vec<AdoptionScore> {
    let dec_of = |n: u64| Decimal::from(n);
    let pairs = |f: &dyn Fn(u64) -> Option<Decimal>| -> DailyUsage {
        DailyUsage::from_pairs((1..=60).filter_map(|n| f(n).map(|q| (days_ago(n), q)))).unwrap()
    };
    let rows: Vec<(&str, &str, DailyUsage, Option<Decimal>)> = vec![
        // Uses the API every day, twice as much as a month ago, above its commitment.
        (
            "acme",
            "api",
            pairs(&|n| Some(if n <= 30 { dec!(10) } else { dec!(5) })),
            Some(dec!(200)),
        ),
        // Every seat used every day, flat.
        ("acme", "seats", pairs(&|_| Some(dec!(20))), Some(dec!(600))),
        // Stopped using the API a month ago.
        ("birch", "api", pairs(&|n| (n > 30).then(|| dec!(7))), None),
        // Weekdays only, flat, no commitment.
        (
            "birch",
            "seats",
            pairs(&|n| (n % 7 < 5).then(|| dec!(3))),
            None,
        ),
        // Fewer days and less per day than a month ago, far below its commitment.
        (
            "cobalt",
            "api",
            pairs(&|n| {
                if n <= 30 {
                    (n % 2 == 0).then(|| dec!(4))
                } else {
                    Some(dec!(10))
                }
            }),
            Some(dec!(300)),
        ),
        // Never used.
        ("cobalt", "seats", pairs(&|_| None), Some(dec!(50))),
        // New this month: 20 days of use.
        (
            "dune",
            "api",
            pairs(&|n| (n <= 20).then(|| dec!(1.5))),
            None,
        ),
        // Growing use that reaches 90% of the commitment.
        (
            "dune",
            "seats",
            pairs(&|n| Some(if n <= 30 { dec!(3) } else { dec!(2) })),
            Some(dec!(100)),
        ),
        // Sporadic: every third day, varying amounts.
        (
            "ember",
            "api",
            pairs(&|n| (n % 3 == 0).then(|| dec_of(n % 5 + 1))),
            Some(dec!(40)),
        ),
        // Ramping up day by day.
        (
            "ember",
            "seats",
            pairs(&|n| (n % 4 != 0).then(|| dec_of(61 - n))),
            None,
        ),
    ];
    rows.into_iter()
        .map(|(account, product, usage, committed)| {
            adoption_score(
                &AccountId::new(account).unwrap(),
                &ProductId::new(product).unwrap(),
                scoring_date(),
                &usage,
                committed,
            )
            .unwrap()
        })
        .collect()
}

#[test]
fn demo_company_scores() {
    let scores = demo_company();
    insta::assert_yaml_snapshot!(scores);
    let ranking = AdoptionRanking::rank(scores);
    insta::assert_yaml_snapshot!(
        "demo_company_ranking",
        (names(ranking.call_first()), names(ranking.upsell_ready()))
    );
}

#[test]
fn serde_round_trip_checks_the_invariants() {
    let scores = demo_company();
    let json = serde_json::to_string(&scores).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<AdoptionScore>>(&json).unwrap(),
        scores
    );

    let ranking = AdoptionRanking::rank(scores);
    let json = serde_json::to_string(&ranking).unwrap();
    assert_eq!(
        serde_json::from_str::<AdoptionRanking>(&json).unwrap(),
        ranking
    );

    let bad_band = json_of(&scored("a", "api", 39, false)).replace("\"low\"", "\"medium\"");
    let err = serde_json::from_str::<AdoptionScore>(&bad_band).unwrap_err();
    assert!(
        err.to_string().starts_with(
            "invalid adoption score of account a, product api: band does not match the score"
        ),
        "{err}"
    );
    let bad_score = json_of(&scored("a", "api", 100, false)).replace("100", "101");
    assert!(serde_json::from_str::<AdoptionScore>(&bad_score).is_err());
    let bad_upsell = json_of(&scored("a", "api", 10, true));
    assert!(serde_json::from_str::<AdoptionScore>(&bad_upsell).is_err());
}

fn json_of(score: &AdoptionScore) -> String {
    serde_json::to_string(score).unwrap()
}

fn arb_pairs() -> impl Strategy<Value = Vec<(NaiveDate, Decimal)>> {
    // Days from the scoring date itself to 65 days back, so every window edge is exercised;
    // quantities with up to 3 decimals, and zeros.
    prop::collection::vec(
        (0u64..=65, 0i64..=5_000_000, 0u32..=3)
            .prop_map(|(n, mantissa, scale)| (days_ago(n), Decimal::new(mantissa, scale))),
        0..120,
    )
}

fn arb_commitment() -> impl Strategy<Value = Option<Decimal>> {
    prop::option::of((0i64..=100_000_000, 0u32..=2).prop_map(|(m, s)| Decimal::new(m, s)))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn score_stays_within_0_to_100_and_matches_its_band(
        pairs in arb_pairs(),
        committed in arb_commitment(),
    ) {
        let usage = DailyUsage::from_pairs(pairs).unwrap();
        let score = check(&usage, committed);
        prop_assert!(score.score() <= 100);
        for component in [score.activity(), score.utilisation(), score.trend()] {
            prop_assert!((Decimal::ZERO..=Decimal::ONE).contains(&component));
        }
    }

    #[test]
    fn score_does_not_depend_on_the_order_of_usage_pairs(
        (pairs, shuffled) in arb_pairs().prop_flat_map(|p| (Just(p.clone()), Just(p).prop_shuffle())),
        committed in arb_commitment(),
    ) {
        let a = check(&DailyUsage::from_pairs(pairs).unwrap(), committed);
        let b = check(&DailyUsage::from_pairs(shuffled).unwrap(), committed);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn ranking_does_not_depend_on_the_order_of_scores(
        order in Just((0..10usize).collect::<Vec<_>>()).prop_shuffle(),
    ) {
        let scores = demo_company();
        let shuffled: Vec<_> = order.iter().map(|&i| scores[i].clone()).collect();
        prop_assert_eq!(AdoptionRanking::rank(shuffled), AdoptionRanking::rank(scores));
    }
}
