//! Group billing: one company with a master account and four child offices, billed in one run.
//!
//! Acme Group pays for its offices. With group billing switched on at the master, a child's
//! charges go onto the master's invoice when the child's subscription matches one of the
//! master's: same currency, same billing practice (in advance or in arrears) and the same
//! billing period. Each child's usage is still priced with the child's own items, so an office
//! keeps the price it agreed. A child that does not match is billed on its own invoice, and the
//! run says why.
//!
//! Run it with `cargo run -p plock-core --example group_billing`.

use std::error::Error;
use std::fmt::Write as _;

use chrono::{NaiveDate, TimeZone, Utc};
use plock_core::account::{Account, AccountName, Contact};
use plock_core::billing::{self, BillingRun, CompanyData, MismatchReason, RunOptions};
use plock_core::book::AccountBook;
use plock_core::id::{AccountId, AccountKey, MetricId, ProductId, SubscriptionId};
use plock_core::money::Currency;
use plock_core::period::{BillingInterval, PeriodMode};
use plock_core::pricing::{PriceModel, Tier, Tiers};
use plock_core::subscription::{BillingPractice, Item, Subscription, SubscriptionSpec};
use plock_core::usage::{Aggregation, Metric, UsageRecord, UsageTable};
use rust_decimal::{Decimal, dec};

/// The master: the account that receives the consolidated invoice.
const MASTER: &str = "acme-group";
/// The metric every office's usage is counted in.
const API_CALLS: &str = "api_calls";

fn main() -> Result<(), Box<dyn Error>> {
    print!("{}", run()?);
    Ok(())
}

/// Builds the company, bills it on 1 February 2025 and describes the invoices.
fn run() -> Result<String, Box<dyn Error>> {
    let result = bill_company()?;
    report(&result)
}

fn date(year: i32, month: u32, day: u32) -> Result<NaiveDate, Box<dyn Error>> {
    Ok(NaiveDate::from_ymd_opt(year, month, day).ok_or("no such date")?)
}

/// The accounts: the master and its offices, all billing in euros. Groups are one level deep:
/// a master has children, a child has no children of its own.
fn accounts() -> Result<AccountBook, Box<dyn Error>> {
    let mut book = AccountBook::new();
    let offices = [
        (MASTER, "Acme Group"),
        ("acme-stockholm", "Acme Stockholm"),
        ("acme-oslo", "Acme Oslo"),
        ("acme-helsinki", "Acme Helsinki"),
        ("acme-tallinn", "Acme Tallinn"),
    ];
    for (key, name) in offices {
        book.add(Account::new(
            AccountId::new(key)?,
            AccountKey::new(key)?,
            AccountName::new(name)?,
            Contact::default(),
            Currency::EUR,
            date(2024, 12, 1)?,
        ))?;
    }
    let master = AccountId::new(MASTER)?;
    for (key, _) in offices.iter().skip(1) {
        book.link(&AccountId::new(*key)?, &master)?;
    }
    // The switch that makes the run consolidate matching children into the master's invoice.
    book.set_group_billing(&master, true)?;
    Ok(book)
}

/// An active subscription starting on 1 January 2025, in euros, calendar periods.
fn subscription(
    id: &str,
    account: &str,
    interval: BillingInterval,
    practice: BillingPractice,
    items: Vec<Item>,
) -> Result<Subscription, Box<dyn Error>> {
    let mut subscription = Subscription::new(
        SubscriptionSpec {
            id: SubscriptionId::new(id)?,
            account: AccountId::new(account)?,
            start: date(2025, 1, 1)?,
            end: None,
            interval,
            mode: PeriodMode::Calendar,
            anchor: None,
            practice,
            currency: Currency::EUR,
            items,
            minimum_invoice_amount: None,
        },
        Currency::EUR,
    )?;
    // A new subscription is a Draft, which a run never bills.
    subscription.activate()?;
    Ok(subscription)
}

fn api_calls(price: PriceModel) -> Result<Item, Box<dyn Error>> {
    Ok(Item::usage(
        ProductId::new("api-calls")?,
        MetricId::new(API_CALLS)?,
        price,
    ))
}

fn per_unit(unit_price: Decimal) -> PriceModel {
    PriceModel::PerUnit { unit_price }
}

/// Every office's agreement with Acme's supplier.
fn subscriptions() -> Result<Vec<Subscription>, Box<dyn Error>> {
    let monthly = BillingInterval::MONTHLY;
    let in_advance = BillingPractice::InAdvance;
    Ok(vec![
        // The master: a platform fee every month in advance, and its own API calls.
        subscription(
            "sub-acme-group",
            MASTER,
            monthly,
            in_advance,
            vec![
                Item::flat_fee(ProductId::new("platform")?, dec!(1500.00), dec!(1)),
                api_calls(per_unit(dec!(0.002)))?,
            ],
        )?,
        // Matches the master (monthly, in advance): consolidated. Eight seats, and API calls
        // on a graduated price: the first 10,000 at 0.003, the rest at 0.001.
        subscription(
            "sub-stockholm",
            "acme-stockholm",
            monthly,
            in_advance,
            vec![
                Item::flat_fee(ProductId::new("seats")?, dec!(25.00), dec!(8)),
                api_calls(PriceModel::Graduated {
                    tiers: Tiers::new(vec![
                        Tier::unit(Some(dec!(10000)), dec!(0.003)),
                        Tier::unit(None, dec!(0.001)),
                    ])?,
                })?,
            ],
        )?,
        // Matches the master: consolidated, its calls at its own price.
        subscription(
            "sub-oslo",
            "acme-oslo",
            monthly,
            in_advance,
            vec![api_calls(per_unit(dec!(0.0025)))?],
        )?,
        // Quarterly: a different billing period, so Helsinki gets its own invoice.
        subscription(
            "sub-helsinki",
            "acme-helsinki",
            BillingInterval::QUARTERLY,
            in_advance,
            vec![
                Item::flat_fee(ProductId::new("seats")?, dec!(25.00), dec!(4)),
                api_calls(per_unit(dec!(0.002)))?,
            ],
        )?,
        // In arrears: a different billing practice, so Tallinn gets its own invoice too.
        subscription(
            "sub-tallinn",
            "acme-tallinn",
            monthly,
            BillingPractice::InArrears,
            vec![Item::flat_fee(
                ProductId::new("support")?,
                dec!(300.00),
                dec!(1),
            )],
        )?,
    ])
}

/// January's API calls, one record per office (a real feed has many; the run sums them).
fn january_usage() -> Result<UsageTable, Box<dyn Error>> {
    let mid_january = Utc
        .with_ymd_and_hms(2025, 1, 15, 9, 30, 0)
        .single()
        .ok_or("no such time")?;
    let calls = [
        (MASTER, dec!(50000)),
        ("acme-stockholm", dec!(30000)),
        ("acme-oslo", dec!(12000)),
        ("acme-helsinki", dec!(8000)),
    ];
    let mut records = Vec::new();
    for (key, quantity) in calls {
        records.push(UsageRecord::new(
            AccountKey::new(key)?,
            MetricId::new(API_CALLS)?,
            mid_january,
            quantity,
            None,
        )?);
    }
    Ok(UsageTable::from_records(&records)?)
}

/// One billing run over the whole company on 1 February 2025.
fn bill_company() -> Result<BillingRun, Box<dyn Error>> {
    let accounts = accounts()?;
    let subscriptions = subscriptions()?;
    let metrics = vec![Metric {
        id: MetricId::new(API_CALLS)?,
        aggregation: Aggregation::Sum,
    }];
    let usage = january_usage()?;
    let data = CompanyData {
        accounts: &accounts,
        subscriptions: &subscriptions,
        metrics: &metrics,
        usage: &usage,
        billed_usage: &[],
    };
    let options = RunOptions {
        run_date: date(2025, 2, 1)?,
        first_invoice_number: 1001,
        dispatch_erp: None,
    };
    Ok(billing::run(&data, &options)?)
}

/// Each invoice with its lines, then the children billed on their own and why.
fn report(result: &BillingRun) -> Result<String, Box<dyn Error>> {
    let mut out = String::new();
    writeln!(out, "Billing run {}", result.run_date)?;
    for invoice in &result.invoices {
        writeln!(
            out,
            "\nInvoice {} to {}: {}",
            invoice.number(),
            invoice.owner(),
            invoice.total()
        )?;
        for line in invoice.lines() {
            writeln!(
                out,
                "  {:<15} {:<10} {} {:>9} {:>14}",
                line.source_account.as_str(),
                line.product.as_str(),
                line.period,
                line.quantity,
                line.amount.to_string()
            )?;
        }
    }
    writeln!(out, "\nBilled on their own despite group billing:")?;
    for unmatched in &result.unmatched {
        let why = match &unmatched.reason {
            MismatchReason::NoMasterSubscription => "the master has no subscription".to_owned(),
            MismatchReason::DifferentCurrency { child, .. } => format!("billed in {child}"),
            MismatchReason::DifferentPractice { child, master } => {
                let master: Vec<String> = master.iter().map(ToString::to_string).collect();
                format!("billed {child}, the master {}", master.join(", "))
            }
            MismatchReason::DifferentPeriod { child, .. } => format!("billing period {child}"),
            MismatchReason::MasterHasNoPeriod { child, on } => {
                format!("billing period {child}: the master has none yet on {on}")
            }
        };
        writeln!(
            out,
            "  {} ({}): {why}",
            unmatched.child, unmatched.subscription
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plock_core::invoice::Invoice;
    use plock_core::money::Money;

    fn invoice_of<'a>(result: &'a BillingRun, owner: &str) -> &'a Invoice {
        result
            .invoices
            .iter()
            .find(|i| i.owner().as_str() == owner)
            .unwrap()
    }

    fn eur(amount: Decimal) -> Money {
        Money::new(amount, Currency::EUR)
    }

    #[test]
    fn matching_children_are_consolidated_into_the_master_invoice() {
        let result = bill_company().unwrap();
        let master = invoice_of(&result, MASTER);
        // Platform January and February in advance (1,500.00 each), the master's 50,000 calls
        // (100.00), Stockholm's seats for January and February (200.00 each) and 30,000 calls
        // on its graduated price (10,000 x 0.003 + 20,000 x 0.001 = 50.00), Oslo's 12,000 calls
        // at its own 0.0025 (30.00).
        assert_eq!(master.total(), eur(dec!(3580.00)));
        let from = |account: &str| -> Vec<Decimal> {
            master
                .lines()
                .iter()
                .filter(|l| l.source_account.as_str() == account)
                .map(|l| l.amount.amount())
                .collect()
        };
        let mut stockholm = from("acme-stockholm");
        stockholm.sort();
        assert_eq!(stockholm, vec![dec!(50.00), dec!(200.00), dec!(200.00)]);
        assert_eq!(from("acme-oslo"), vec![dec!(30.00)]);
        assert!(from("acme-helsinki").is_empty());
        assert!(from("acme-tallinn").is_empty());
    }

    #[test]
    fn children_that_do_not_match_are_billed_on_their_own() {
        let result = bill_company().unwrap();
        assert_eq!(result.invoices.len(), 3);
        // Helsinki's first quarter of seats in advance; its calls are due at the quarter's end.
        assert_eq!(
            invoice_of(&result, "acme-helsinki").total(),
            eur(dec!(100.00))
        );
        // Tallinn's January support, in arrears.
        assert_eq!(
            invoice_of(&result, "acme-tallinn").total(),
            eur(dec!(300.00))
        );
        let reasons: Vec<(&str, &MismatchReason)> = result
            .unmatched
            .iter()
            .map(|u| (u.child.as_str(), &u.reason))
            .collect();
        assert_eq!(reasons.len(), 2);
        assert!(matches!(
            reasons.as_slice(),
            [
                ("acme-helsinki", MismatchReason::DifferentPeriod { .. }),
                (
                    "acme-tallinn",
                    MismatchReason::DifferentPractice {
                        child: BillingPractice::InArrears,
                        ..
                    }
                ),
            ]
        ));
    }

    #[test]
    fn the_report_names_every_invoice() {
        let text = run().unwrap();
        assert!(
            text.contains("Invoice 1001 to acme-group: 3580.00 EUR"),
            "{text}"
        );
        assert!(text.contains("to acme-helsinki: 100.00 EUR"), "{text}");
        assert!(text.contains("to acme-tallinn: 300.00 EUR"), "{text}");
    }
}
