//! Tests of the price models.

use super::*;
use proptest::prelude::*;
use rust_decimal::dec;

fn users_tiers() -> Tiers {
    Tiers::new(vec![
        Tier::unit(Some(dec!(100)), dec!(5.00)),
        Tier::unit(Some(dec!(1000)), dec!(4.00)),
        Tier::unit(None, dec!(3.00)),
    ])
    .unwrap()
}

#[test]
fn example_graduated() {
    let m = PriceModel::Graduated {
        tiers: users_tiers(),
    };
    assert_eq!(m.usage_amount(dec!(150)).unwrap(), dec!(700.00));
    assert_eq!(m.usage_amount(dec!(1200)).unwrap(), dec!(4700.00));
}

#[test]
fn example_volume() {
    let m = PriceModel::Volume {
        tiers: users_tiers(),
    };
    assert_eq!(m.usage_amount(dec!(150)).unwrap(), dec!(600.00));
    assert_eq!(m.usage_amount(dec!(100)).unwrap(), dec!(500.00));
    assert_eq!(m.usage_amount(dec!(0)).unwrap(), dec!(0));
}

#[test]
fn example_flat_ranges() {
    let tiers = Tiers::new(vec![
        Tier::flat(Some(dec!(100)), dec!(500.00)),
        Tier::flat(Some(dec!(200)), dec!(400.00)),
        Tier::flat(None, dec!(300.00)),
    ])
    .unwrap();
    let m = PriceModel::Graduated { tiers };
    assert_eq!(m.usage_amount(dec!(120)).unwrap(), dec!(900.00));
    assert_eq!(m.usage_amount(dec!(100)).unwrap(), dec!(500.00));
}

#[test]
fn example_rebate() {
    let r = Rebate::percent(dec!(10)).unwrap();
    assert_eq!(r.apply(dec!(450.00)).unwrap(), dec!(405.00));
    assert!(Rebate::percent(dec!(100.01)).is_err());
    assert!(Rebate::percent(dec!(-1)).is_err());
    assert_eq!(
        Rebate::percent(dec!(100)).unwrap().apply(dec!(99)).unwrap(),
        dec!(0)
    );
}

#[test]
fn example_1500_seat_base_tier() {
    let tiers = Tiers::new(vec![
        Tier::flat(Some(dec!(1500)), dec!(4300.00)),
        Tier::unit(None, dec!(3.00)),
    ])
    .unwrap();
    let m = PriceModel::Graduated { tiers };
    assert_eq!(m.usage_amount(dec!(1200)).unwrap(), dec!(4300.00));
    assert_eq!(m.usage_amount(dec!(1620)).unwrap(), dec!(4660.00));
}

#[test]
fn example_commitment() {
    let m = PriceModel::Commitment {
        committed: dec!(100),
        unit_price: dec!(5.00),
    };
    assert_eq!(m.fixed_amount().unwrap(), dec!(500.00));
    assert_eq!(m.usage_amount(dec!(130)).unwrap(), dec!(150.00));
    assert_eq!(m.overage_quantity(dec!(130)), dec!(30));
    assert_eq!(m.usage_amount(dec!(80)).unwrap(), dec!(0));
}

#[test]
fn package_and_flat_fee() {
    let p = PriceModel::Package {
        size: dec!(1000),
        price: dec!(20),
    };
    assert_eq!(p.usage_amount(dec!(0)).unwrap(), dec!(0));
    assert_eq!(p.usage_amount(dec!(1)).unwrap(), dec!(20));
    assert_eq!(p.usage_amount(dec!(1000)).unwrap(), dec!(20));
    assert_eq!(p.usage_amount(dec!(1001)).unwrap(), dec!(40));
    let f = PriceModel::FlatFee {
        fee: dec!(450),
        quantity: dec!(3),
    };
    assert_eq!(f.fixed_amount().unwrap(), dec!(1350));
    assert!(f.is_fixed());
}

#[test]
fn tier_validation() {
    let err = |t: Vec<Tier>| Tiers::new(t).unwrap_err().to_string();
    assert_eq!(err(vec![]), "invalid tiers []: at least one tier is needed");
    assert!(err(vec![Tier::unit(Some(dec!(10)), dec!(1))]).contains("last tier must be unbounded"));
    assert!(
        err(vec![Tier::unit(None, dec!(1)), Tier::unit(None, dec!(1))])
            .contains("only the last tier")
    );
    assert!(
        err(vec![
            Tier::unit(Some(dec!(10)), dec!(1)),
            Tier::unit(Some(dec!(10)), dec!(1)),
            Tier::unit(None, dec!(1))
        ])
        .contains("strictly increasing")
    );
    assert!(
        err(vec![
            Tier::unit(Some(dec!(0)), dec!(1)),
            Tier::unit(None, dec!(1))
        ])
        .contains("strictly increasing")
    );
    assert!(err(vec![Tier::unit(None, dec!(-1))]).contains("must not be negative"));
    let at_limit: Vec<Tier> = (1..MAX_TIERS)
        .map(|i| Tier::unit(Some(Decimal::from(i)), dec!(1)))
        .chain([Tier::unit(None, dec!(1))])
        .collect();
    assert!(Tiers::new(at_limit.clone()).is_ok());
    let mut past = at_limit;
    past.insert(0, Tier::unit(Some(dec!(0.5)), dec!(1)));
    assert!(err(past).contains("at most 32"));
}

#[test]
fn model_validation() {
    assert!(
        PriceModel::Package {
            size: dec!(0),
            price: dec!(1)
        }
        .validate()
        .is_err()
    );
    assert!(
        PriceModel::PerUnit {
            unit_price: dec!(-0.01)
        }
        .validate()
        .is_err()
    );
    assert!(
        PriceModel::FlatFee {
            fee: dec!(1),
            quantity: dec!(-1)
        }
        .validate()
        .is_err()
    );
    assert!(
        PriceModel::Commitment {
            committed: dec!(-1),
            unit_price: dec!(1)
        }
        .validate()
        .is_err()
    );
    let negative = PriceModel::PerUnit {
        unit_price: dec!(1),
    }
    .usage_amount(dec!(-1));
    assert!(matches!(
        negative,
        Err(PricingError::NegativeQuantity { .. })
    ));
}

fn tiers_strategy() -> impl Strategy<Value = Tiers> {
    prop::collection::vec((1u32..500, 0u32..1000, 0u32..1000), 0..5).prop_map(|raw| {
        let mut bound = Decimal::ZERO;
        let mut tiers: Vec<Tier> = raw
            .iter()
            .map(|(step, price, fee)| {
                bound += Decimal::from(*step);
                Tier {
                    up_to: Some(bound),
                    unit_price: Some(Decimal::new(i64::from(*price), 2)),
                    flat_fee: Some(Decimal::from(*fee)),
                }
            })
            .collect();
        tiers.push(Tier::unit(None, dec!(0.5)));
        Tiers::new(tiers).unwrap()
    })
}

proptest! {
    #[test]
    fn graduated_is_non_decreasing(tiers in tiers_strategy(), a in 0u32..5000, b in 0u32..5000) {
        let m = PriceModel::Graduated { tiers };
        let (lo, hi) = (a.min(b), a.max(b));
        prop_assert!(m.usage_amount(Decimal::from(lo)).unwrap() <= m.usage_amount(Decimal::from(hi)).unwrap());
    }

    #[test]
    fn single_tier_graduated_equals_volume(price in 0i64..100_000, fee in 0i64..1000, q in 0i64..1_000_000) {
        let tiers = Tiers::new(vec![Tier { up_to: None, unit_price: Some(Decimal::new(price, 3)), flat_fee: Some(Decimal::from(fee)) }]).unwrap();
        let q = Decimal::new(q, 2);
        let g = PriceModel::Graduated { tiers: tiers.clone() }.usage_amount(q).unwrap();
        let v = PriceModel::Volume { tiers }.usage_amount(q).unwrap();
        prop_assert_eq!(g, v);
    }

    #[test]
    fn package_never_charges_for_less_than_used(size in 1i64..10_000, price in 0i64..10_000, q in 0i64..10_000_000) {
        let size = Decimal::new(size, 1);
        let price = Decimal::new(price, 2);
        let q = Decimal::new(q, 2);
        let amount = PriceModel::Package { size, price }.usage_amount(q).unwrap();
        let packages = if price.is_zero() { (q / size).ceil() } else { amount / price };
        prop_assert!(packages * size >= q);
        prop_assert!(packages == packages.trunc());
        // ... and never for a whole package more than needed.
        prop_assert!((packages - Decimal::ONE) * size < q || q.is_zero() && packages.is_zero());
    }
}
