//! An Expand report: how well each customer has adopted what it pays for, and which usage
//! signals its last weeks raise.
//!
//! A small company sells to three customers, each billed for its usage of one product:
//! a clinic that uses its committed messages more every month, a gym that stopped booking in
//! March, and a cafe that started taking orders in mid-March and grows fast. The report scores
//! them at the start of February, March and April, ranks them for the customer success team,
//! and lists the signals raised on 1 April.
//!
//! Run it with `cargo run -p plock-core --example expand_report`.

use std::error::Error;
use std::fmt::Write as _;

use chrono::{Datelike, Days, NaiveDate};
use plock_core::account::{Account, AccountName, Contact};
use plock_core::expand::{self, AdoptionRanking, AdoptionScore, Signal};
use plock_core::id::{AccountId, AccountKey, MetricId, ProductId, SubscriptionId};
use plock_core::money::Currency;
use plock_core::period::{BillingInterval, PeriodMode};
use plock_core::pricing::PriceModel;
use plock_core::store::CompanySnapshot;
use plock_core::subscription::{BillingPractice, Item, Subscription, SubscriptionSpec};
use plock_core::usage::{Aggregation, Metric, UsageRecord};
use rust_decimal::{Decimal, dec};

fn main() -> Result<(), Box<dyn Error>> {
    print!("{}", run()?);
    Ok(())
}

/// One customer: who it is, what it uses, its price and its daily usage through Q1 2025.
struct Customer {
    key: &'static str,
    name: &'static str,
    product: &'static str,
    price: PriceModel,
    /// The quantity used on a day (zero for none).
    daily: fn(NaiveDate) -> i64,
}

fn customers() -> [Customer; 3] {
    [
        Customer {
            key: "north-clinic",
            name: "North Clinic",
            product: "messages",
            // 3,000 messages a month committed, paid whether used or not.
            price: PriceModel::Commitment {
                committed: dec!(3000),
                unit_price: dec!(0.01),
            },
            // 100 a day, 120 from March.
            daily: |day| if day.month() < 3 { 100 } else { 120 },
        },
        Customer {
            key: "harbor-gym",
            name: "Harbor Gym",
            product: "bookings",
            price: PriceModel::PerUnit {
                unit_price: dec!(0.20),
            },
            // 50 a day until 10 March, then nothing.
            daily: |day| {
                if day.month() < 3 || day.day() <= 10 {
                    50
                } else {
                    0
                }
            },
        },
        Customer {
            key: "river-cafe",
            name: "River Cafe",
            product: "orders",
            price: PriceModel::PerUnit {
                unit_price: dec!(0.05),
            },
            // From 15 March, ten more orders every day: 10, 20, ... 170 on 31 March.
            daily: |day| {
                if day.month() == 3 && day.day() >= 15 {
                    10 * (i64::from(day.day()) - 14)
                } else {
                    0
                }
            },
        },
    ]
}

fn date(year: i32, month: u32, day: u32) -> Result<NaiveDate, Box<dyn Error>> {
    Ok(NaiveDate::from_ymd_opt(year, month, day).ok_or("no such date")?)
}

/// The company as Expand reads it: accounts, subscriptions, metrics and raw usage records.
fn company() -> Result<CompanySnapshot, Box<dyn Error>> {
    let mut company = CompanySnapshot::default();
    let first = date(2025, 1, 1)?;
    for customer in customers() {
        let id = AccountId::new(customer.key)?;
        company.accounts.add(Account::new(
            id.clone(),
            AccountKey::new(customer.key)?,
            AccountName::new(customer.name)?,
            Contact::default(),
            Currency::EUR,
            first,
        ))?;
        // Expand scores what an account is billed usage for: the metric of each usage item.
        let metric = MetricId::new(customer.product)?;
        let mut subscription = Subscription::new(
            SubscriptionSpec {
                id: SubscriptionId::new(format!("sub-{}", customer.key))?,
                account: id,
                start: first,
                end: None,
                interval: BillingInterval::MONTHLY,
                mode: PeriodMode::Calendar,
                anchor: None,
                practice: BillingPractice::InArrears,
                currency: Currency::EUR,
                items: vec![Item::usage(
                    ProductId::new(customer.product)?,
                    metric.clone(),
                    customer.price.clone(),
                )],
                minimum_invoice_amount: None,
            },
            Currency::EUR,
        )?;
        subscription.activate()?;
        company.subscriptions.push(subscription);
        company.metrics.push(Metric {
            id: metric.clone(),
            aggregation: Aggregation::Sum,
        });
        company
            .usage
            .extend(usage_records(&customer, &metric, first)?);
    }
    Ok(company)
}

/// One record a day at noon, January to March, for the days with usage.
fn usage_records(
    customer: &Customer,
    metric: &MetricId,
    first: NaiveDate,
) -> Result<Vec<UsageRecord>, Box<dyn Error>> {
    let mut records = Vec::new();
    let mut day = first;
    while day.month() <= 3 && day.year() == first.year() {
        let quantity = (customer.daily)(day);
        if quantity > 0 {
            let noon = day.and_hms_opt(12, 0, 0).ok_or("no such time")?.and_utc();
            records.push(UsageRecord::new(
                AccountKey::new(customer.key)?,
                metric.clone(),
                noon,
                Decimal::from(quantity),
                None,
            )?);
        }
        day = day.checked_add_days(Days::new(1)).ok_or("date overflow")?;
    }
    Ok(records)
}

/// Scores and signals on `date`: what the report prints for that day.
fn scores_on(
    company: &CompanySnapshot,
    date: NaiveDate,
) -> Result<Vec<AdoptionScore>, Box<dyn Error>> {
    Ok(expand::company_adoption(company, date)?)
}

fn signals_on(company: &CompanySnapshot, date: NaiveDate) -> Result<Vec<Signal>, Box<dyn Error>> {
    Ok(expand::company_signals(company, date)?)
}

/// The report: scores month by month, the ranking and the signals on the last date.
fn run() -> Result<String, Box<dyn Error>> {
    let company = company()?;
    let dates = [date(2025, 2, 1)?, date(2025, 3, 1)?, date(2025, 4, 1)?];
    let mut out = String::new();
    writeln!(
        out,
        "Adoption scores (0-100, from the 30 days before each date)"
    )?;
    write!(out, "{:<14} {:<10}", "account", "product")?;
    for day in dates {
        write!(out, " {day}")?;
    }
    writeln!(out)?;
    let by_date: Vec<Vec<AdoptionScore>> = dates
        .iter()
        .map(|day| scores_on(&company, *day))
        .collect::<Result<_, _>>()?;
    let latest = by_date.last().ok_or("no dates")?;
    for score in latest {
        write!(
            out,
            "{:<14} {:<10}",
            score.account().as_str(),
            score.product().as_str()
        )?;
        for scores in &by_date {
            let same = scores
                .iter()
                .find(|s| s.account() == score.account() && s.product() == score.product());
            match same {
                Some(s) => write!(out, " {:>3} {:<6}", s.score(), format!("{:?}", s.band()))?,
                None => write!(out, " {:>10}", "-")?,
            }
        }
        writeln!(out)?;
    }

    let ranking = AdoptionRanking::rank(latest.iter().cloned());
    let names = |scores: &[AdoptionScore]| -> Vec<String> {
        scores
            .iter()
            .map(|s| format!("{} ({})", s.account(), s.score()))
            .collect()
    };
    writeln!(
        out,
        "\nCall first: {}",
        names(ranking.call_first()).join(", ")
    )?;
    writeln!(
        out,
        "Upsell ready: {}",
        names(ranking.upsell_ready()).join(", ")
    )?;

    let today = dates.last().ok_or("no dates")?;
    writeln!(out, "\nSignals on {today}")?;
    for signal in signals_on(&company, *today)? {
        writeln!(
            out,
            "  {} {}: {:?}",
            signal.account(),
            signal.product(),
            signal.kind()
        )?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plock_core::expand::{AdoptionBand, Evidence, SignalKind};

    fn april_first() -> NaiveDate {
        date(2025, 4, 1).unwrap()
    }

    fn score_of<'a>(scores: &'a [AdoptionScore], account: &str) -> &'a AdoptionScore {
        scores
            .iter()
            .find(|s| s.account().as_str() == account)
            .unwrap()
    }

    #[test]
    fn scores_follow_the_formula() {
        let company = company().unwrap();
        let scores = scores_on(&company, april_first()).unwrap();
        assert_eq!(scores.len(), 3);
        // Every day used (a = 1), 3,600 of 3,000 committed (u = 1), 3,600 against 3,020 the
        // 30 days before (t = 0.5 + 580 / 7,200): 50 + 30 + 11.61 = 92.
        let clinic = score_of(&scores, "north-clinic");
        assert_eq!((clinic.score(), clinic.band()), (92, AdoptionBand::High));
        assert!(clinic.upsell_ready());
        // 9 days of 30 (a = u = 0.3), 450 against 1,500 (t = 0.15): 15 + 9 + 3 = 27.
        let gym = score_of(&scores, "harbor-gym");
        assert_eq!((gym.score(), gym.band()), (27, AdoptionBand::Low));
        assert_eq!(gym.activity(), dec!(0.3));
        // 17 days of 30 (a = u = 17/30), growing from nothing (t = 1): 28.33 + 17 + 20 = 65.
        let cafe = score_of(&scores, "river-cafe");
        assert_eq!((cafe.score(), cafe.band()), (65, AdoptionBand::Medium));
        assert_eq!(cafe.trend(), dec!(1));
        assert!(!cafe.upsell_ready());
    }

    #[test]
    fn the_ranking_puts_the_gym_first_and_the_clinic_up_for_upsell() {
        let company = company().unwrap();
        let ranking = AdoptionRanking::rank(scores_on(&company, april_first()).unwrap());
        let call_first: Vec<&str> = ranking
            .call_first()
            .iter()
            .map(|s| s.account().as_str())
            .collect();
        assert_eq!(call_first, ["harbor-gym", "river-cafe", "north-clinic"]);
        let upsell: Vec<&str> = ranking
            .upsell_ready()
            .iter()
            .map(|s| s.account().as_str())
            .collect();
        assert_eq!(upsell, ["north-clinic"]);
    }

    #[test]
    fn only_the_growing_cafe_raises_signals() {
        let company = company().unwrap();
        let signals = signals_on(&company, april_first()).unwrap();
        let kinds: Vec<(&str, SignalKind)> = signals
            .iter()
            .map(|s| (s.account().as_str(), s.kind()))
            .collect();
        assert_eq!(
            kinds,
            [
                ("river-cafe", SignalKind::UpsellOpportunity),
                ("river-cafe", SignalKind::Spike)
            ]
        );
        // 31 March's 170 orders against a baseline median of 25 with a MAD of 25.
        let spike = signals
            .iter()
            .find(|s| s.kind() == SignalKind::Spike)
            .unwrap();
        match spike.evidence() {
            Evidence::Outlier {
                value, median, mad, ..
            } => assert_eq!((*value, *median, *mad), (dec!(170), dec!(25), dec!(25))),
            other => panic!("{other:?}"),
        }
        // The 14-day trend: ten more orders a day over a mean of 105.
        let trend = signals
            .iter()
            .find(|s| s.kind() == SignalKind::UpsellOpportunity)
            .unwrap();
        match trend.evidence() {
            Evidence::Trend { slope, mean, .. } => {
                assert_eq!((*slope, *mean), (dec!(10), dec!(105)))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn the_report_shows_the_months_and_the_ranking() {
        let text = run().unwrap();
        assert!(
            text.contains("Call first: harbor-gym (27), river-cafe (65), north-clinic (92)"),
            "{text}"
        );
        assert!(text.contains("Upsell ready: north-clinic (92)"), "{text}");
        assert!(text.contains("river-cafe orders: Spike"), "{text}");
    }
}
