//! A worked scenario: an email-marketing SaaS with two customers and an enterprise group,
//! billed month by month, invoices snapshotted as a person reads them.
//!
//! Longer than most files on purpose: the months build on each other, so the scenario reads
//! in one place, from the first invoice to the last.

use crate::billing_props::{recorded, run_records};
use std::fmt::Write;

use chrono::{TimeZone, Utc};
use plock_core::account::*;
use plock_core::billing::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::pricing::*;
use plock_core::store::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use rust_decimal::Decimal;
use rust_decimal::dec;

use crate::fixtures::{date, first_run_on, id};

fn product(s: &str) -> ProductId {
    ProductId::new(s).unwrap()
}
fn metric(s: &str) -> MetricId {
    MetricId::new(s).unwrap()
}

fn add(book: &mut AccountBook, name: &str, key: &str, currency: Currency) {
    book.add(Account::new(
        id(key),
        AccountKey::new(key).unwrap(),
        AccountName::new(name).unwrap(),
        Contact::default(),
        currency,
        date(2024, 12, 1),
    ))
    .unwrap();
}

struct Sub {
    id: &'static str,
    account: &'static str,
    start: chrono::NaiveDate,
    months: u32,
    currency: Currency,
    items: Vec<Item>,
}

fn subscription(s: Sub) -> Subscription {
    let mut sub = Subscription::new(
        SubscriptionSpec {
            id: SubscriptionId::new(s.id).unwrap(),
            account: id(s.account),
            start: s.start,
            end: None,
            interval: BillingInterval::every_months(s.months).unwrap(),
            mode: PeriodMode::Calendar,
            anchor: None,
            practice: BillingPractice::InAdvance,
            currency: s.currency,
            items: s.items,
            minimum_invoice_amount: None,
        },
        s.currency,
    )
    .unwrap();
    sub.activate().unwrap();
    sub
}

fn emails_tiers() -> PriceModel {
    PriceModel::Graduated {
        tiers: Tiers::new(vec![
            Tier::unit(Some(dec!(10000)), dec!(0.010)),
            Tier::unit(Some(dec!(100000)), dec!(0.008)),
            Tier::unit(None, dec!(0.005)),
        ])
        .unwrap(),
    }
}

pub struct Company {
    pub book: AccountBook,
    pub subscriptions: Vec<Subscription>,
    pub metrics: Vec<Metric>,
    pub usage: Vec<UsageRecord>,
}

impl Company {
    /// The company as a run reads it, its usage as `table`.
    pub fn data<'a>(&'a self, table: &'a UsageTable) -> CompanyData<'a> {
        CompanyData {
            accounts: &self.book,
            subscriptions: &self.subscriptions,
            metrics: &self.metrics,
            usage: table,
        }
    }
}

/// A record without an id of `quantity` of `metric_name` for account `key`, at midnight UTC
/// of `day`.
fn midnight_record(
    key: &str,
    metric_name: &str,
    day: chrono::NaiveDate,
    quantity: Decimal,
) -> UsageRecord {
    let at = Utc.from_utc_datetime(&day.and_time(chrono::NaiveTime::MIN));
    UsageRecord::new(
        AccountKey::new(key).unwrap(),
        metric(metric_name),
        at,
        quantity,
        None,
    )
    .unwrap()
}

/// The scenario company. Usage: each account sends `per_day` emails every day of 2025 Q1.
pub fn company() -> Company {
    let mut book = AccountBook::new();
    add(
        &mut book,
        "Dentist Johnson",
        "dentist-johnson",
        Currency::EUR,
    );
    add(&mut book, "Retailer Acme", "retailer-acme", Currency::EUR);
    add(&mut book, "Globex Group", "globex", Currency::EUR);
    for child in [
        "globex-nordics",
        "globex-uk",
        "globex-apac",
        "globex-legacy",
    ] {
        add(&mut book, &format!("Globex {child}"), child, Currency::EUR);
        book.link(&id(child), &id("globex")).unwrap();
    }
    add(&mut book, "Globex US", "globex-us", Currency::USD);
    book.link(&id("globex-us"), &id("globex")).unwrap();
    book.set_group_billing(&id("globex"), true).unwrap();
    book.set_external_id(
        &id("globex"),
        ExternalSystem::Fortnox,
        ExternalId::new("5001").unwrap(),
    )
    .unwrap();
    book.set_external_id(
        &id("dentist-johnson"),
        ExternalSystem::Fortnox,
        ExternalId::new("5002").unwrap(),
    )
    .unwrap();
    add(&mut book, "Prospect Pending", "prospect", Currency::EUR);
    book.add(
        Account::new(
            id("found"),
            AccountKey::new("found").unwrap(),
            AccountName::new("Found In Data").unwrap(),
            Contact::default(),
            Currency::EUR,
            date(2024, 12, 1),
        )
        .with_state(AccountState::Pending),
    )
    .unwrap();

    let jan = date(2025, 1, 1);
    let emails = || metric("emails");
    let mut subscriptions = vec![
        subscription(Sub {
            id: "sub-dentist",
            account: "dentist-johnson",
            start: jan,
            months: 1,
            currency: Currency::EUR,
            items: vec![
                Item::flat_fee(product("licence"), dec!(450.00), dec!(1))
                    .with_rebate(Rebate::percent(dec!(10)).unwrap()),
            ],
        }),
        subscription(Sub {
            id: "sub-acme",
            account: "retailer-acme",
            start: date(2025, 1, 10),
            months: 1,
            currency: Currency::EUR,
            items: vec![
                Item::flat_fee(product("base"), dec!(99.00), dec!(1)),
                Item::usage(product("emails"), emails(), emails_tiers()),
            ],
        }),
        subscription(Sub {
            id: "sub-globex",
            account: "globex",
            start: jan,
            months: 1,
            currency: Currency::EUR,
            items: vec![
                Item::flat_fee(product("platform"), dec!(2000.00), dec!(1)),
                Item::usage(
                    product("emails"),
                    emails(),
                    PriceModel::PerUnit {
                        unit_price: dec!(0.004),
                    },
                ),
            ],
        }),
        subscription(Sub {
            id: "sub-nordics",
            account: "globex-nordics",
            start: jan,
            months: 1,
            currency: Currency::EUR,
            items: vec![Item::usage(product("emails"), emails(), emails_tiers())],
        }),
        subscription(Sub {
            id: "sub-uk",
            account: "globex-uk",
            start: date(2025, 2, 15),
            months: 1,
            currency: Currency::EUR,
            items: vec![Item::usage(
                product("emails"),
                emails(),
                PriceModel::Commitment {
                    committed: dec!(100000),
                    unit_price: dec!(0.003),
                },
            )],
        }),
        subscription(Sub {
            id: "sub-apac",
            account: "globex-apac",
            start: jan,
            months: 3,
            currency: Currency::EUR,
            items: vec![Item::flat_fee(product("platform"), dec!(1500.00), dec!(1))],
        }),
        subscription(Sub {
            id: "sub-legacy",
            account: "globex-legacy",
            start: jan,
            months: 1,
            currency: Currency::EUR,
            items: vec![Item::flat_fee(product("platform"), dec!(300.00), dec!(1))],
        }),
        subscription(Sub {
            id: "sub-us",
            account: "globex-us",
            start: jan,
            months: 1,
            currency: Currency::USD,
            items: vec![Item::flat_fee(product("platform"), dec!(800.00), dec!(1))],
        }),
        subscription(Sub {
            id: "sub-found",
            account: "found",
            start: jan,
            months: 1,
            currency: Currency::EUR,
            items: vec![Item::flat_fee(product("licence"), dec!(100.00), dec!(1))],
        }),
    ];
    // A Draft subscription: never billed.
    subscriptions.push(
        Subscription::new(
            SubscriptionSpec {
                items: vec![Item::flat_fee(product("licence"), dec!(50), dec!(1))],
                ..subscriptions[0].spec().clone()
            }
            .with_id("sub-prospect-draft", "prospect"),
            Currency::EUR,
        )
        .unwrap(),
    );
    let mut usage = Vec::new();
    for (key, per_day) in [
        ("retailer-acme", 1000),
        ("globex", 2000),
        ("globex-nordics", 4000),
        ("globex-uk", 3500),
        ("found", 10),
    ] {
        for day in 0..90u32 {
            let at = Utc.with_ymd_and_hms(2025, 1, 1, 9, 0, 0).unwrap()
                + chrono::Days::new(u64::from(day));
            usage.push(
                UsageRecord::new(
                    AccountKey::new(key).unwrap(),
                    emails(),
                    at,
                    Decimal::from(per_day),
                    Some(RecordId::new(format!("{key}-{day}")).unwrap()),
                )
                .unwrap(),
            );
        }
    }
    // Sent twice by the source: counted once.
    usage.push(usage[0].clone());
    // Usage of a metric no item prices: reported, not billed.
    usage.push(midnight_record(
        "dentist-johnson",
        "sms",
        date(2025, 2, 3),
        dec!(12),
    ));
    Company {
        book,
        subscriptions,
        metrics: vec![
            Metric {
                id: emails(),
                aggregation: Aggregation::Sum,
            },
            Metric {
                id: metric("sms"),
                aggregation: Aggregation::Sum,
            },
        ],
        usage,
    }
}

trait WithId {
    fn with_id(self, id: &str, account: &str) -> SubscriptionSpec;
}
impl WithId for SubscriptionSpec {
    fn with_id(mut self, sub: &str, account: &str) -> SubscriptionSpec {
        self.id = SubscriptionId::new(sub).unwrap();
        self.account = id(account);
        self
    }
}

pub fn render(run: &BillingRun) -> String {
    let mut out = String::new();
    writeln!(out, "run {}", run.run_date).unwrap();
    for inv in &run.invoices {
        writeln!(
            out,
            "invoice {} to {} {} {}  total {}  {:?}",
            inv.number(),
            inv.owner(),
            inv.currency(),
            inv.period(),
            inv.total(),
            inv.dispatch()
        )
        .unwrap();
        for l in inv.lines() {
            writeln!(
                out,
                "  {:<9} {:<15} {:<13} {} qty {} @ {} {}-> {}",
                format!("{:?}", l.kind),
                l.source_account.as_str(),
                l.product.as_str(),
                l.period,
                l.quantity,
                l.unit_price.map_or("-".into(), |p| p.to_string()),
                l.rebate_percent
                    .map_or(String::new(), |r| format!("less {r}% ")),
                l.amount
            )
            .unwrap();
        }
        for p in inv.products() {
            writeln!(
                out,
                "  = {} qty {} amount {}",
                p.product, p.quantity, p.amount
            )
            .unwrap();
        }
    }
    for s in &run.skipped {
        writeln!(out, "skipped {s:?}").unwrap();
    }
    for u in &run.unmatched {
        writeln!(
            out,
            "unmatched {} {} {:?}",
            u.child, u.subscription, u.reason
        )
        .unwrap();
    }
    for u in &run.unpriced_usage {
        writeln!(out, "unpriced {} {} x{}", u.account, u.metric, u.records).unwrap();
    }
    out
}

#[test]
fn worked_scenario_month_by_month() {
    let mut company = company();
    let mut next = 1;
    let mut all = String::new();
    for (i, run_date) in [date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)]
        .into_iter()
        .enumerate()
    {
        if i == 2 {
            // The legacy child is archived before the April run: it leaves consolidation.
            company.book.archive(&id("globex-legacy")).unwrap();
        }
        let run = run_records(
            &company.book,
            &company.subscriptions,
            &company.metrics,
            &company.usage,
            &RunOptions {
                run_date,
                first_invoice_number: next,
                dispatch_erp: Some(ExternalSystem::Fortnox),
            },
        )
        .unwrap();
        for inv in &run.invoices {
            inv.check_invariants().unwrap();
        }
        next += run.invoices.len() as u64;
        company.subscriptions = recorded(&company.subscriptions, &run);
        all.push_str(&render(&run));
        all.push('\n');
    }
    insta::assert_snapshot!(all);
}

#[test]
fn the_run_is_idempotent_with_its_watermarks() {
    let company = company();
    let options = first_run_on(date(2025, 3, 1));
    let bill = |subs: &[Subscription]| {
        run_records(
            &company.book,
            subs,
            &company.metrics,
            &company.usage,
            &options,
        )
        .unwrap()
    };
    let first = bill(&company.subscriptions);
    assert!(!first.invoices.is_empty());
    let again = bill(&recorded(&company.subscriptions, &first));
    assert!(again.invoices.is_empty());
    assert!(again.billed.is_empty());
}

#[test]
fn inconsistent_input_is_a_typed_error() {
    let company = company();
    let options = first_run_on(date(2025, 3, 1));
    let table = UsageTable::from_records(&company.usage).unwrap();
    let base = company.data(&table);

    let mut usage = company.usage.clone();
    usage.push(midnight_record(
        "nobody",
        "emails",
        date(2025, 1, 1),
        dec!(1),
    ));
    let usage = UsageTable::from_records(&usage).unwrap();
    let err = run(
        &CompanyData {
            usage: &usage,
            ..base
        },
        &options,
    )
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        "usage of metric \"emails\" for unknown account key \"nobody\""
    );
}

#[test]
fn one_bad_account_never_stops_the_run_for_the_others() {
    let company = company();
    let options = first_run_on(date(2025, 3, 1));
    let table = UsageTable::from_records(&company.usage).unwrap();
    let base = company.data(&table);
    let owners = |r: &BillingRun| -> Vec<String> {
        r.invoices.iter().map(|i| i.owner().to_string()).collect()
    };
    let all = run(&base, &options).unwrap();
    assert!(all.not_billed.is_empty());
    let held = |r: &BillingRun| -> Vec<String> {
        r.not_billed
            .iter()
            .map(|n| format!("{} {} {}: {}", n.owner, n.account, n.subscription, n.reason))
            .collect()
    };

    // An account billing in another currency than its subscription: only its group waits.
    let mut book = company.book.clone();
    book.set_currency(&id("dentist-johnson"), Currency::SEK)
        .unwrap();
    let result = run(
        &CompanyData {
            accounts: &book,
            ..base
        },
        &options,
    )
    .unwrap();
    assert_eq!(
        held(&result),
        [
            "dentist-johnson dentist-johnson sub-dentist: subscription \"sub-dentist\" is in EUR but account \"dentist-johnson\" bills in SEK"
        ]
    );
    let mut expected = owners(&all);
    expected.retain(|o| o != "dentist-johnson");
    assert_eq!(owners(&result), expected);
    let billed: Vec<&str> = result
        .billed
        .iter()
        .map(|b| b.subscription.as_str())
        .collect();
    assert!(
        !billed.contains(&"sub-dentist"),
        "its watermark stays: {billed:?}"
    );
    assert_eq!(result.billed.len() + 1, all.billed.len());

    // A subscription of an account the book does not have.
    let mut subs = company.subscriptions.clone();
    let mut orphan = subs[0].spec().clone();
    orphan.id = SubscriptionId::new("sub-orphan").unwrap();
    orphan.account = id("ghost");
    subs.push(Subscription::new(orphan, Currency::EUR).unwrap());
    let result = run(
        &CompanyData {
            subscriptions: &subs,
            ..base
        },
        &options,
    )
    .unwrap();
    assert_eq!(
        held(&result),
        [
            "ghost ghost sub-orphan: subscription \"sub-orphan\" belongs to unknown account \"ghost\""
        ]
    );
    assert_eq!(owners(&result), owners(&all));

    // A metric missing from the catalogue holds the groups of the accounts priced by it.
    let metrics = vec![Metric {
        id: metric("sms"),
        aggregation: Aggregation::Sum,
    }];
    let result = run(
        &CompanyData {
            metrics: &metrics,
            ..base
        },
        &options,
    )
    .unwrap();
    assert!(
        held(&result).contains(&"retailer-acme retailer-acme sub-acme: subscription \"sub-acme\", item \"emails\": unknown metric \"emails\"".to_owned()),
        "{:?}",
        held(&result)
    );
    assert!(!result.invoices.is_empty());
}

fn licence_only(start: chrono::NaiveDate) -> (AccountBook, Subscription) {
    let mut book = AccountBook::new();
    add(
        &mut book,
        "Dentist Johnson",
        "dentist-johnson",
        Currency::EUR,
    );
    let sub = subscription(Sub {
        id: "sub-dentist",
        account: "dentist-johnson",
        start,
        months: 1,
        currency: Currency::EUR,
        items: vec![Item::flat_fee(product("licence"), dec!(450.00), dec!(1))],
    });
    (book, sub)
}

/// Bills `sub` alone on `on` and records what the run billed on it.
fn bill(book: &AccountBook, sub: &mut Subscription, on: chrono::NaiveDate) -> BillingRun {
    let options = first_run_on(on);
    let result = run_records(book, std::slice::from_ref(sub), &[], &[], &options).unwrap();
    *sub = recorded(std::slice::from_ref(sub), &result).remove(0);
    result
}

#[test]
fn a_paused_subscription_accrues_and_is_caught_up_on_one_invoice() {
    let (book, mut sub) = licence_only(date(2025, 1, 1));
    assert_eq!(bill(&book, &mut sub, date(2025, 1, 1)).invoices.len(), 1);
    sub.pause(date(2025, 1, 20)).unwrap();
    for on in [date(2025, 2, 1), date(2025, 3, 1)] {
        let paused = bill(&book, &mut sub, on);
        assert!(paused.invoices.is_empty());
        assert_eq!(
            paused.skipped,
            vec![Skipped::SubscriptionPaused {
                subscription: sub.id().clone(),
                since: date(2025, 1, 20)
            }]
        );
    }
    sub.resume(date(2025, 3, 10)).unwrap();
    let caught_up = bill(&book, &mut sub, date(2025, 3, 10));
    assert_eq!(caught_up.invoices.len(), 1, "one catch-up invoice");
    let periods: Vec<String> = caught_up.invoices[0]
        .lines()
        .iter()
        .map(|l| l.period.to_string())
        .collect();
    assert_eq!(
        periods,
        vec!["[2025-02-01, 2025-03-01)", "[2025-03-01, 2025-04-01)"]
    );
    assert_eq!(
        caught_up.invoices[0].total(),
        Money::new(dec!(900.00), Currency::EUR)
    );
}

#[test]
fn an_ended_subscription_is_billed_to_its_end_date_and_no_further() {
    let (book, mut sub) = licence_only(date(2025, 1, 1));
    sub.end(date(2025, 3, 16)).unwrap();
    let result = bill(&book, &mut sub, date(2025, 6, 1));
    let lines: Vec<(String, String)> = result.invoices[0]
        .lines()
        .iter()
        .map(|l| (l.period.to_string(), l.amount.to_string()))
        .collect();
    assert_eq!(
        lines,
        vec![
            (
                "[2025-01-01, 2025-02-01)".to_owned(),
                "450.00 EUR".to_owned()
            ),
            (
                "[2025-02-01, 2025-03-01)".to_owned(),
                "450.00 EUR".to_owned()
            ),
            // 15 of March's 31 days.
            (
                "[2025-03-01, 2025-03-16)".to_owned(),
                "217.74 EUR".to_owned()
            ),
        ]
    );
    assert_eq!(result.invoices[0].lines()[2].kind, LineKind::Proration);
    assert!(bill(&book, &mut sub, date(2026, 1, 1)).invoices.is_empty());
}

#[test]
fn an_invoice_below_the_minimum_is_produced_but_held() {
    let (book, sub) = licence_only(date(2025, 1, 1));
    let mut spec = sub.spec().clone();
    spec.minimum_invoice_amount = Some(dec!(500));
    let mut sub = Subscription::new(spec, Currency::EUR).unwrap();
    sub.activate().unwrap();
    let result = bill(&book, &mut sub, date(2025, 1, 1));
    assert_eq!(
        result.invoices[0].dispatch(),
        &Dispatch::Held {
            reasons: vec![HoldReason::BelowMinimum {
                minimum: dec!(500),
                total: dec!(450.00)
            }]
        }
    );
}

#[test]
fn ending_inside_a_period_billed_in_advance_bills_no_day_twice() {
    // Billed through April in advance, then ended on 15 April: April's days were billed.
    let (book, mut sub) = licence_only(date(2025, 1, 1));
    let first = bill(&book, &mut sub, date(2025, 4, 1));
    assert_eq!(
        first.invoices[0].total(),
        Money::new(dec!(1800.00), Currency::EUR)
    );
    sub.end(date(2025, 4, 15)).unwrap();
    // The next run charges nothing and credits the 16 unused days of April's 30: 240.00.
    let after = bill(&book, &mut sub, date(2025, 5, 1));
    assert_eq!(after.invoices.len(), 1, "{:?}", after.invoices);
    let lines = after.invoices[0].lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].kind, LineKind::Compensation);
    assert_eq!(lines[0].period.to_string(), "[2025-04-15, 2025-05-01)");
    assert_eq!(lines[0].amount, Money::new(dec!(-240.00), Currency::EUR));
    assert_eq!(sub.billed_through().in_advance, Some(date(2025, 4, 15)));
    // Credited once: later runs bill and credit nothing.
    for on in [date(2025, 5, 1), date(2025, 6, 1)] {
        let later = bill(&book, &mut sub, on);
        assert!(later.invoices.is_empty(), "{:?}", later.invoices);
    }
}

#[test]
fn an_end_moved_later_again_bills_the_days_it_covers_anew() {
    let (book, mut sub) = licence_only(date(2025, 1, 1));
    bill(&book, &mut sub, date(2025, 4, 1));
    sub.end(date(2025, 4, 15)).unwrap();
    bill(&book, &mut sub, date(2025, 4, 20));
    let mut spec = sub.spec().clone();
    spec.end = Some(date(2025, 4, 25));
    let mut moved = Subscription::new(spec, Currency::EUR).unwrap();
    moved.activate().unwrap();
    moved.end(date(2025, 4, 25)).unwrap();
    moved.record_run(sub.billed_through());
    // [04-15, 04-25) is 10 of April's 30 days: 150.00, charged once.
    let again = bill(&book, &mut moved, date(2025, 5, 1));
    assert_eq!(
        again.invoices[0].total(),
        Money::new(dec!(150.00), Currency::EUR)
    );
    assert!(
        bill(&book, &mut moved, date(2025, 6, 1))
            .invoices
            .is_empty()
    );
}

#[test]
fn a_runs_work_does_not_grow_with_history() {
    // The same monthly licence in advance, started in 2024 or in 1990, billed through March
    // 2025: the April run looks at April's period alone, the May run at May's.
    let visited = |start| {
        let (book, mut sub) = licence_only(start);
        sub.record_billed(BilledThrough {
            in_advance: Some(date(2025, 4, 1)),
            in_arrears: None,
        });
        let result = bill(&book, &mut sub, date(2025, 4, 1));
        assert_eq!(
            result.invoices[0].total(),
            Money::new(dec!(450.00), Currency::EUR)
        );
        let may = bill(&book, &mut sub, date(2025, 5, 1));
        assert_eq!(
            may.invoices[0].total(),
            Money::new(dec!(450.00), Currency::EUR)
        );
        result.periods_visited + may.periods_visited
    };
    assert_eq!(visited(date(2024, 1, 1)), 2);
    assert_eq!(visited(date(1990, 1, 1)), 2);
}

#[test]
fn restoring_an_archived_account_does_not_bill_the_months_it_was_archived() {
    let (mut book, mut sub) = licence_only(date(2025, 1, 1));
    let id = AccountId::new("dentist-johnson").unwrap();
    bill(&book, &mut sub, date(2025, 1, 1));
    book.archive(&id).unwrap();
    for on in [date(2025, 2, 1), date(2025, 3, 1), date(2025, 4, 1)] {
        assert!(bill(&book, &mut sub, on).invoices.is_empty());
    }
    // Restored on 10 April: April is billed from the 10th, 21 of 30 days, and nothing of
    // February or March.
    let batch = restore_account(&id, std::slice::from_ref(&sub), date(2025, 4, 10));
    for (i, change) in batch.changes.iter().enumerate() {
        match change {
            Change::PutSubscription { subscription } => {
                sub.record_billed(subscription.billed_through());
            }
            other => apply_to_book(&mut book, i, other).unwrap(),
        }
    }
    let resumed = bill(&book, &mut sub, date(2025, 4, 10));
    let periods: Vec<String> = resumed.invoices[0]
        .lines()
        .iter()
        .map(|l| format!("{} {}", l.period, l.amount))
        .collect();
    assert_eq!(periods, vec!["[2025-04-10, 2025-05-01) 315.00 EUR"]);
}

/// A master with group billing and one child, each with a monthly licence; `master` and
/// `child` shape their subscriptions. Returns the run's reasons on 1 March 2025.
fn mismatch(shape: impl Fn(&mut SubscriptionSpec, bool)) -> Vec<MismatchReason> {
    let mut book = AccountBook::new();
    add(&mut book, "Master", "master", Currency::EUR);
    add(&mut book, "Child", "child", Currency::EUR);
    book.link(&id("child"), &id("master")).unwrap();
    book.set_group_billing(&id("master"), true).unwrap();
    let subs: Vec<Subscription> = [("s-master", "master", true), ("s-child", "child", false)]
        .into_iter()
        .map(|(sub, account, is_master)| {
            let mut spec = subscription(Sub {
                id: sub,
                account,
                start: date(2025, 1, 1),
                months: 1,
                currency: Currency::EUR,
                items: vec![Item::flat_fee(product("licence"), dec!(100), dec!(1))],
            })
            .spec()
            .clone();
            shape(&mut spec, is_master);
            let mut s = Subscription::new(spec, Currency::EUR).unwrap();
            s.activate().unwrap();
            s
        })
        .collect();
    let options = first_run_on(date(2025, 3, 1));
    let run = run_records(&book, &subs, &[], &[], &options).unwrap();
    run.unmatched.into_iter().map(|u| u.reason).collect()
}

#[test]
fn a_non_matching_childs_reason_names_both_sides() {
    let practice = mismatch(|spec, is_master| {
        if !is_master {
            spec.practice = BillingPractice::InArrears;
        }
    });
    assert_eq!(
        practice,
        vec![MismatchReason::DifferentPractice {
            child: BillingPractice::InArrears,
            master: vec![BillingPractice::InAdvance],
        }]
    );
    // The master's subscription starts after the child's first periods: said, not blank.
    let later = mismatch(|spec, is_master| {
        if is_master {
            spec.start = date(2025, 2, 15);
        }
    });
    assert_eq!(
        later,
        vec![MismatchReason::MasterHasNoPeriod {
            child: Period::new(date(2025, 1, 1), date(2025, 2, 1)).unwrap(),
            on: date(2025, 1, 1),
        }]
    );
}
