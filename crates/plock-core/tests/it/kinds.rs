//! Other invoice kinds (docs/domain.md, section 9) and dispatch to the ERP (section 3.3).

use plock_core::account::*;
use plock_core::erp::*;
use plock_core::id::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::period::*;
use proptest::prelude::*;
use rust_decimal::Decimal;
use rust_decimal::dec;

use crate::billing_props::run_records;
use crate::billing_scenario::company;
use crate::fixtures::{account, date, first_run_on};

fn eur(amount: Decimal) -> Money {
    Money::new(amount, Currency::EUR)
}

/// The scenario's first run: invoices 1.. of 2025-02-01.
fn invoices() -> Vec<Invoice> {
    let c = company();
    run_records(
        &c.book,
        &c.subscriptions,
        &c.metrics,
        &c.usage,
        &first_run_on(date(2025, 2, 1)),
    )
    .unwrap()
    .invoices
}

fn invoice_of(owner: &str) -> Invoice {
    invoices()
        .into_iter()
        .find(|i| i.owner().as_str() == owner)
        .unwrap()
}

#[test]
fn one_off_charge() {
    let a = account("acme", Currency::EUR);
    let lines = [
        OneOffLine {
            product: ProductId::new("onboarding").unwrap(),
            quantity: dec!(3),
            unit_price: dec!(1200.005),
        },
        OneOffLine {
            product: ProductId::new("training").unwrap(),
            quantity: dec!(1),
            unit_price: dec!(400),
        },
    ];
    let inv = one_off(7, &a, date(2025, 5, 2), &lines).unwrap();
    assert_eq!(inv.kind(), InvoiceKind::OneOff);
    // 3 x 1,200.005 = 3,600.015, rounded once to 3,600.02.
    assert_eq!(inv.lines()[0].amount, eur(dec!(3600.02)));
    assert_eq!(inv.total(), eur(dec!(4000.02)));
    assert!(
        inv.lines()
            .iter()
            .all(|l| l.subscription.is_none() && l.kind == LineKind::OneOff)
    );
    let bad = [OneOffLine {
        product: ProductId::new("x").unwrap(),
        quantity: dec!(0),
        unit_price: dec!(1),
    }];
    assert_eq!(
        one_off(8, &a, date(2025, 5, 2), &bad)
            .unwrap_err()
            .to_string(),
        "quantity must be above zero, got 0"
    );
}

#[test]
fn full_credit_reverses_every_line() {
    let original = invoice_of("dentist-johnson");
    let c = credit(100, &original, &[], &CreditRequest::Full).unwrap();
    assert_eq!(
        c.kind(),
        InvoiceKind::Credit {
            of: original.number()
        }
    );
    assert_eq!(
        c.total(),
        Money::new(-original.total().amount(), Currency::EUR)
    );
    assert!(
        c.lines()
            .iter()
            .all(|l| l.kind == LineKind::Credit && l.amount.is_negative())
    );
    let again = credit(101, &original, &[c], &CreditRequest::Full).unwrap_err();
    assert_eq!(
        again.to_string(),
        format!("invoice {} is fully credited already", original.number())
    );
}

#[test]
fn a_credit_that_rounds_to_nothing_is_refused() {
    let original = invoice_of("dentist-johnson");
    let tiny = credit(
        100,
        &original,
        &[],
        &CreditRequest::Line {
            line: 0,
            amount: dec!(0.001),
        },
    )
    .unwrap_err();
    assert_eq!(
        tiny.to_string(),
        "credit amount in minor units must be above zero, got 0.001"
    );
}

#[test]
fn partial_credit_never_more_than_invoiced() {
    let original = invoice_of("dentist-johnson"); // two lines of 405.00
    let first = credit(
        100,
        &original,
        &[],
        &CreditRequest::Line {
            line: 0,
            amount: dec!(300),
        },
    )
    .unwrap();
    assert_eq!(first.total(), eur(dec!(-300.00)));
    let remaining = remaining_to_credit(&original, std::slice::from_ref(&first)).unwrap();
    assert_eq!(remaining, vec![eur(dec!(105.00)), eur(dec!(405.00))]);
    let too_much = credit(
        101,
        &original,
        std::slice::from_ref(&first),
        &CreditRequest::Line {
            line: 0,
            amount: dec!(105.01),
        },
    )
    .unwrap_err();
    assert_eq!(
        too_much.to_string(),
        format!(
            "invoice {}, line 1: crediting 105.01 EUR exceeds the 105.00 EUR not yet credited",
            original.number()
        )
    );
    // A full credit afterwards takes only what is left.
    let rest = credit(
        101,
        &original,
        std::slice::from_ref(&first),
        &CreditRequest::Full,
    )
    .unwrap();
    assert_eq!(rest.total(), eur(dec!(-510.00)));
    assert!(
        credit(
            102,
            &original,
            std::slice::from_ref(&first),
            &CreditRequest::Line {
                line: 9,
                amount: dec!(1)
            }
        )
        .is_err()
    );
    let unrelated = credit(103, &invoice_of("globex"), &[], &CreditRequest::Full).unwrap();
    assert!(matches!(
        remaining_to_credit(&original, &[unrelated]),
        Err(KindError::NotACreditOf { .. })
    ));
}

#[test]
fn compensation_credits_the_old_rate_and_charges_the_new_for_the_remaining_days() {
    // Globex's platform fee for February (2,000.00) rises to 2,800.00 from February 15:
    // 14 of February's 28 days are compensated.
    let original = invoice_of("globex");
    let line = original
        .lines()
        .iter()
        .position(|l| l.product.as_str() == "platform" && l.period.start() == date(2025, 2, 1))
        .unwrap();
    let comp = compensation(200, &original, line, date(2025, 2, 15), dec!(2800.00)).unwrap();
    let amounts: Vec<Money> = comp.lines().iter().map(|l| l.amount).collect();
    assert_eq!(amounts, vec![eur(dec!(-1000.00)), eur(dec!(1400.00))]);
    assert_eq!(comp.total(), eur(dec!(400.00)));
    assert_eq!(
        comp.lines()[0].period,
        Period::new(date(2025, 2, 15), date(2025, 3, 1)).unwrap()
    );
    assert!(matches!(
        compensation(200, &original, line, date(2025, 3, 1), dec!(1)),
        Err(KindError::OutsidePeriod { .. })
    ));
}

#[test]
fn annual_fee_accrues_one_twelfth_per_month_with_rounding_on_the_last() {
    let year = Period::new(date(2025, 1, 1), date(2026, 1, 1)).unwrap();
    let schedule = accrual_schedule(eur(dec!(1000.00)), year).unwrap();
    assert_eq!(schedule.len(), 12);
    assert!(schedule[..11].iter().all(|a| a.amount == eur(dec!(83.33))));
    assert_eq!(schedule[11].amount, eur(dec!(83.37)));
    assert_eq!(
        schedule[11].period,
        Period::new(date(2025, 12, 1), date(2026, 1, 1)).unwrap()
    );
    let from_15th = accrual_schedule(
        eur(dec!(300)),
        Period::new(date(2025, 1, 15), date(2025, 4, 15)).unwrap(),
    )
    .unwrap();
    let periods: Vec<String> = from_15th.iter().map(|a| a.period.to_string()).collect();
    assert_eq!(
        periods,
        vec![
            "[2025-01-15, 2025-02-15)",
            "[2025-02-15, 2025-03-15)",
            "[2025-03-15, 2025-04-15)"
        ]
    );
}

#[test]
fn fortnox_export_addresses_debtors_and_reports_the_rest() {
    let export = export_to_erp(&invoices(), &ExternalSystem::Fortnox);
    insta::assert_json_snapshot!(export.payloads);
    let left_out: Vec<String> = export
        .not_exported
        .iter()
        .map(|n| format!("{} {:?}", n.number, n.reasons))
        .collect();
    insta::assert_debug_snapshot!(left_out);
    let kleer = export_to_erp(&invoices(), &ExternalSystem::Kleer);
    assert!(kleer.payloads.is_empty(), "nobody has a Kleer id");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Random sequences of partial and full credits never take any line, or the invoice,
    /// below zero; refused credits are refused with CreditExceeds.
    #[test]
    fn a_credit_never_takes_an_invoice_below_zero(requests in prop::collection::vec((0usize..3, 0i64..60_000, any::<bool>()), 1..12)) {
        let original = invoice_of("globex");
        let mut credits: Vec<Invoice> = Vec::new();
        for (i, (line, cents, full)) in requests.into_iter().enumerate() {
            let request = if full { CreditRequest::Full } else { CreditRequest::Line { line, amount: Decimal::new(cents.max(1), 2) } };
            if let Ok(c) = credit(1000 + i as u64, &original, &credits, &request) {
                credits.push(c);
            }
            let total = Money::sum(Currency::EUR, std::iter::once(original.total()).chain(credits.iter().map(Invoice::total))).unwrap();
            prop_assert!(!total.is_negative(), "credited below zero: {}", total);
            for left in remaining_to_credit(&original, &credits).unwrap() {
                prop_assert!(!left.is_negative());
            }
        }
    }

    #[test]
    fn an_accrual_schedule_sums_to_the_amount_exactly(cents in 0i64..1_000_000_000, start_day in 1u32..=28, months in 1u32..=36, jpy in any::<bool>()) {
        let currency = if jpy { Currency::JPY } else { Currency::SEK };
        let amount = Money::new(currency.round(Decimal::new(cents, 2)), currency);
        let start = date(2025, 1, start_day);
        let period = Period::new(start, start.checked_add_months(chrono::Months::new(months)).unwrap()).unwrap();
        let schedule = accrual_schedule(amount, period).unwrap();
        prop_assert_eq!(schedule.len(), months as usize);
        prop_assert_eq!(Money::sum(currency, schedule.iter().map(|a| a.amount)).unwrap(), amount);
        prop_assert!(schedule.iter().all(|a| a.amount.amount().scale() <= currency.minor_units()));
    }
}
