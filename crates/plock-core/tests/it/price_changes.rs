//! A flat fee's price or quantity changed from a date: days already billed in advance are
//! settled once with the difference, new days are billed at the price of each day, and an
//! end after a change credits each day at the price it was billed at. Every run is checked
//! against the reference oracle.

use chrono::NaiveDate;
use plock_core::billing::oracle::RecordData;
use plock_core::billing::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::subscription::*;
use rust_decimal::{Decimal, dec};

use crate::billing_props::recorded;
use crate::fixtures::{active_monthly, date, run_checked_by_oracle, sek_account};

fn licence() -> ProductId {
    ProductId::new("licence").unwrap()
}

fn fee(fee: Decimal, quantity: Decimal) -> Item {
    Item::flat_fee(licence(), fee, quantity)
}

/// A company of one account with one monthly subscription in advance, and what was billed.
struct Company {
    book: AccountBook,
    subs: Vec<Subscription>,
    rows: Vec<BilledUsage>,
}

impl Company {
    fn new(item: Item) -> Company {
        let mut book = AccountBook::new();
        book.add(sek_account("acme", "Acme")).unwrap();
        let sub = active_monthly(
            "lic",
            "acme",
            BillingPractice::InAdvance,
            Currency::SEK,
            vec![item],
        );
        Company {
            book,
            subs: vec![sub],
            rows: Vec::new(),
        }
    }

    /// The lines of the run on `on`: kind, days, amount.
    fn bill(&mut self, on: NaiveDate) -> Vec<(LineKind, Period, Decimal)> {
        let records = RecordData {
            accounts: &self.book,
            subscriptions: &self.subs,
            metrics: &[],
            usage: &[],
            billed_usage: &self.rows,
        };
        let result = run_checked_by_oracle(&records, on);
        self.subs = recorded(&self.subs, &result);
        self.rows.extend(result.billed_usage.iter().cloned());
        let mut lines: Vec<(LineKind, Period, Decimal)> = result
            .invoices
            .iter()
            .flat_map(|i| i.lines())
            .map(|l| (l.kind, l.period, l.amount.amount()))
            .collect();
        lines.sort();
        lines
    }

    fn change(&mut self, item: Item, from: NaiveDate) {
        self.subs[0].change_item(&licence(), item, from).unwrap();
    }
}

fn days(from: (u32, u32), to: (u32, u32)) -> Period {
    Period::new(date(2025, from.0, from.1), date(2025, to.0, to.1)).unwrap()
}

/// April billed in advance at 100.00, the fee raised to 130.00 from 15 April: the next run
/// charges the 16 days' difference, 30.00 x 16 / 30 = 16.00, once. Before, the stored
/// subscription held only its current price and the run charged nothing.
#[test]
fn a_fee_raised_inside_a_billed_month_charges_the_difference_once() {
    let mut company = Company::new(fee(dec!(100.00), Decimal::ONE));
    let april = days((4, 1), (5, 1));
    assert!(
        company
            .bill(date(2025, 4, 1))
            .contains(&(LineKind::InAdvance, april, dec!(100.00)))
    );
    company.change(fee(dec!(130.00), Decimal::ONE), date(2025, 4, 15));
    assert_eq!(
        company.bill(date(2025, 4, 16)),
        [(LineKind::Compensation, days((4, 15), (5, 1)), dec!(16.00))]
    );
    assert!(company.bill(date(2025, 4, 16)).is_empty());
    assert!(company.bill(date(2025, 4, 20)).is_empty());
    // May at the new price.
    assert_eq!(
        company.bill(date(2025, 5, 1)),
        [(LineKind::InAdvance, days((5, 1), (6, 1)), dec!(130.00))]
    );
}

/// Fewer seats from 11 April: the 20 days billed for two seats are credited for one.
#[test]
fn a_quantity_lowered_inside_a_billed_month_credits_the_difference() {
    let mut company = Company::new(fee(dec!(90.00), dec!(2)));
    company.bill(date(2025, 4, 1));
    company.change(fee(dec!(90.00), Decimal::ONE), date(2025, 4, 11));
    assert_eq!(
        company.bill(date(2025, 4, 12)),
        [(LineKind::Compensation, days((4, 11), (5, 1)), dec!(-60.00))]
    );
    assert!(company.bill(date(2025, 4, 13)).is_empty());
}

/// Two changes before the next run, the second from earlier days than the first: each day
/// ends up billed at the price agreed last for it.
#[test]
fn two_changes_in_one_billed_month_settle_to_the_last_agreed_prices() {
    let mut company = Company::new(fee(dec!(300.00), Decimal::ONE));
    company.bill(date(2025, 4, 1));
    company.change(fee(dec!(600.00), Decimal::ONE), date(2025, 4, 21));
    company.change(fee(dec!(150.00), Decimal::ONE), date(2025, 4, 11));
    let lines = company.bill(date(2025, 4, 25));
    // 20 days at 300.00 a month became 150.00: -100.00 in all.
    let total: Decimal = lines.iter().map(|l| l.2).sum();
    assert_eq!(total, dec!(-100.00));
    assert!(lines.iter().all(|l| l.0 == LineKind::Compensation));
    assert!(company.bill(date(2025, 4, 26)).is_empty());
    // A third change after the run settles alone.
    company.change(fee(dec!(450.00), Decimal::ONE), date(2025, 4, 16));
    assert_eq!(
        company.bill(date(2025, 4, 27)),
        [(LineKind::Compensation, days((4, 16), (5, 1)), dec!(150.00))]
    );
}

/// A change, then an end before the run: the days past the end are credited at the price
/// agreed for them, and the days before it at the new price, so April nets to 10 days at
/// 100.00 and 4 at 130.00.
#[test]
fn a_change_followed_by_an_end_stays_right() {
    let mut company = Company::new(fee(dec!(100.00), Decimal::ONE));
    company.bill(date(2025, 4, 1));
    company.change(fee(dec!(130.00), Decimal::ONE), date(2025, 4, 11));
    company.subs[0].end(date(2025, 4, 15)).unwrap();
    let lines = company.bill(date(2025, 4, 16));
    let total: Decimal = lines.iter().map(|l| l.2).sum();
    // Billed 100.00; due 100.00 x 10/30 + 130.00 x 4/30 = 50.666..., to the cent.
    assert_eq!(dec!(100.00) + total, dec!(50.67));
    assert!(company.bill(date(2025, 4, 17)).is_empty());
}

/// An end moved back before a change credits each day at the price it was billed at.
#[test]
fn an_end_before_a_settled_change_credits_both_prices() {
    let mut company = Company::new(fee(dec!(100.00), Decimal::ONE));
    company.bill(date(2025, 4, 1));
    company.change(fee(dec!(130.00), Decimal::ONE), date(2025, 4, 16));
    company.bill(date(2025, 4, 16));
    company.subs[0].end(date(2025, 4, 6)).unwrap();
    assert_eq!(
        company.bill(date(2025, 4, 17)),
        [
            (LineKind::Compensation, days((4, 6), (4, 16)), dec!(-33.33)),
            (LineKind::Compensation, days((4, 16), (5, 1)), dec!(-65.00)),
        ]
    );
}

/// A change for days not billed yet splits the period it falls in.
#[test]
fn a_change_in_days_not_billed_yet_bills_each_piece_at_its_price() {
    let mut company = Company::new(fee(dec!(100.00), Decimal::ONE));
    company.bill(date(2025, 4, 1));
    company.change(fee(dec!(200.00), Decimal::ONE), date(2025, 5, 17));
    assert!(company.bill(date(2025, 4, 30)).is_empty());
    assert_eq!(
        company.bill(date(2025, 5, 1)),
        [
            (LineKind::Proration, days((5, 1), (5, 17)), dec!(51.61)),
            (LineKind::Proration, days((5, 17), (6, 1)), dec!(96.77)),
        ]
    );
}

#[test]
fn change_item_refuses_what_it_cannot_settle() {
    let company = Company::new(fee(dec!(100.00), Decimal::ONE));
    let mut sub = company.subs[0].clone();
    let unknown = ProductId::new("support").unwrap();
    let refused = sub
        .change_item(&unknown, fee(dec!(1), Decimal::ONE), date(2025, 2, 1))
        .unwrap_err();
    assert!(refused.to_string().contains("support"), "{refused}");
    let refused = sub
        .change_item(&licence(), fee(dec!(1), Decimal::ONE), date(2024, 12, 31))
        .unwrap_err();
    assert!(refused.to_string().contains("2024-12-31"), "{refused}");
    let usage = Item::usage(
        licence(),
        MetricId::new("calls").unwrap(),
        plock_core::PriceModel::PerUnit {
            unit_price: dec!(1),
        },
    );
    assert!(
        sub.change_item(&licence(), usage, date(2025, 2, 1))
            .is_err()
    );
    for _ in 0..MAX_PRICE_CHANGES {
        sub.change_item(&licence(), fee(dec!(1), Decimal::ONE), date(2025, 2, 1))
            .unwrap();
    }
    let refused = sub
        .change_item(&licence(), fee(dec!(1), Decimal::ONE), date(2025, 2, 1))
        .unwrap_err();
    assert!(refused.to_string().contains("32"), "{refused}");
    sub.end(date(2025, 3, 1)).unwrap();
    assert!(
        sub.change_item(&licence(), fee(dec!(1), Decimal::ONE), date(2025, 2, 1))
            .is_err()
    );
}

/// A subscription with its price changes comes back from its stored form unchanged.
#[test]
fn price_changes_survive_the_stored_form() {
    let mut company = Company::new(fee(dec!(100.00), Decimal::ONE));
    company.bill(date(2025, 4, 1));
    company.change(fee(dec!(130.00), dec!(3)), date(2025, 4, 15));
    let json = serde_json::to_string(&company.subs[0]).unwrap();
    let back: Subscription = serde_json::from_str(&json).unwrap();
    assert_eq!(back, company.subs[0]);
    assert_eq!(back.items()[0].changes.len(), 1);
}

/// A subscriptions file imported again with a new fee: billed days keep the fee they were
/// billed at (an end moved back into them credits it), and the new fee applies from the
/// first day not billed yet. The same file again changes nothing more.
#[test]
fn a_reimported_fee_applies_from_the_first_day_not_billed() {
    use plock_core::import::plan_subscription_import;
    use plock_core::store::Change;
    let mut company = Company::new(fee(dec!(100.00), Decimal::ONE));
    company.book = AccountBook::new();
    company
        .book
        .add(crate::fixtures::keyed_account(
            "acme",
            "Acme",
            Currency::SEK,
        ))
        .unwrap();
    let file = |fee: &str| {
        format!(
            "subscription_id,account_key,start,currency,product,model,price,quantity\n\
             lic,acme,2025-01-01,SEK,licence,flat_fee,{fee},1\n"
        )
    };
    let import = |company: &mut Company, fee: &str| {
        let plan =
            plan_subscription_import(file(fee).as_bytes(), &company.book, &company.subs, &[])
                .unwrap();
        for change in plan.changes {
            if let Change::PutSubscription { mut subscription } = change {
                // A store keeps what a subscription is billed through.
                subscription.record_billed(company.subs[0].billed_through());
                company.subs[0] = subscription;
            }
        }
    };
    company.bill(date(2025, 4, 1));
    import(&mut company, "130.00");
    assert!(
        company.bill(date(2025, 4, 20)).is_empty(),
        "nothing settled"
    );
    assert_eq!(
        company.bill(date(2025, 5, 1)),
        [(LineKind::InAdvance, days((5, 1), (6, 1)), dec!(130.00))]
    );
    import(&mut company, "130.00");
    assert_eq!(company.subs[0].items()[0].changes.len(), 1);
    // Ended on 16 April: April's 15 days credited at 100.00, May's at 130.00.
    let mut ended = company.subs[0].clone();
    ended.end(date(2025, 4, 16)).unwrap();
    company.subs[0] = ended;
    assert_eq!(
        company.bill(date(2025, 5, 2)),
        [
            (LineKind::Compensation, days((4, 16), (5, 1)), dec!(-50.00)),
            (LineKind::Compensation, days((5, 1), (6, 1)), dec!(-130.00)),
        ]
    );
}

/// A start moved after a change was settled (a re-import may move it) keeps the change
/// settled: the next run bills nothing more.
#[test]
fn a_moved_start_keeps_a_settled_change_settled() {
    let mut company = Company::new(fee(dec!(100.00), Decimal::ONE));
    company.bill(date(2025, 4, 1));
    company.change(fee(dec!(130.00), Decimal::ONE), date(2025, 4, 15));
    assert_eq!(company.bill(date(2025, 4, 16)).len(), 1);
    let old = company.subs[0].clone();
    let mut spec = old.spec().clone();
    spec.start = date(2024, 12, 1);
    let mut moved = Subscription::new(spec, Currency::SEK).unwrap();
    moved.activate().unwrap();
    moved.record_billed(old.billed_through());
    company.subs[0] = moved;
    assert!(company.bill(date(2025, 4, 17)).is_empty());
}
