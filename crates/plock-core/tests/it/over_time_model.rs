//! A model-based property of billing over time: random sequences of billing runs (any dates,
//! repeated, out of order) mixed with end dates set and moved, archive and restore, and usage
//! sent twice, checked day by day against a plain ledger:
//!
//! - no day of the fixed fee is ever billed twice, net of compensation, after any run;
//! - every line's amount is the fee for its days, rounded once;
//! - after a last run, every day the subscription covered is billed exactly once, and no day
//!   after its end, or while its account was archived (beyond what was billed before the
//!   archive), is billed;
//! - every usage record lands in exactly one line.
//!
//! With compensation switched off, a moved end leaves days billed past it, and the property
//! fails.

use std::collections::BTreeMap;

use chrono::{Datelike, Days, NaiveDate, TimeZone, Utc};
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
use proptest::prelude::*;
use rust_decimal::dec;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::billing_props::{recorded, run_records};
use crate::fixtures::{date, first_run_on};

const FEE: Decimal = dec!(30.00);
/// Usage is recorded every day of this many from the start.
const USAGE_DAYS: u64 = 400;
/// The last run, this many days from the start.
const LAST_DAY: u64 = 430;

#[derive(Debug, Clone, Copy)]
enum Op {
    Run(u64),
    End(u64),
    Archive(u64),
    Restore(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..LAST_DAY).prop_map(Op::Run),
        2 => (1..LAST_DAY).prop_map(Op::End),
        1 => (0..LAST_DAY).prop_map(Op::Archive),
        1 => (0..LAST_DAY).prop_map(Op::Restore),
    ]
}

fn start() -> NaiveDate {
    date(2025, 1, 10)
}

fn day(offset: u64) -> NaiveDate {
    start() + Days::new(offset)
}

fn id() -> AccountId {
    AccountId::new("acme").unwrap()
}

fn subscription(end: Option<NaiveDate>, billed: BilledThrough) -> Subscription {
    let mut sub = Subscription::new(
        SubscriptionSpec {
            id: SubscriptionId::new("s").unwrap(),
            account: id(),
            start: start(),
            end: None,
            interval: BillingInterval::MONTHLY,
            mode: PeriodMode::Calendar,
            anchor: None,
            practice: BillingPractice::InAdvance,
            currency: Currency::EUR,
            items: vec![
                Item::flat_fee(ProductId::new("licence").unwrap(), FEE, Decimal::ONE),
                Item::usage(
                    ProductId::new("api").unwrap(),
                    MetricId::new("calls").unwrap(),
                    PriceModel::PerUnit {
                        unit_price: Decimal::ONE,
                    },
                ),
            ],
            minimum_invoice_amount: None,
        },
        Currency::EUR,
    )
    .unwrap();
    sub.activate().unwrap();
    if let Some(end) = end {
        sub.end(end).unwrap();
    }
    sub.record_run(billed);
    sub
}

/// One record a day, each sent twice (the same id): each must count once.
fn usage() -> Vec<UsageRecord> {
    (0..USAGE_DAYS)
        .flat_map(|d| {
            let at = Utc.from_utc_datetime(&day(d).and_hms_opt(12, 0, 0).unwrap());
            let record = UsageRecord::new(
                AccountKey::new("acme").unwrap(),
                MetricId::new("calls").unwrap(),
                at,
                Decimal::ONE,
                Some(RecordId::new(format!("r{d}")).unwrap()),
            )
            .unwrap();
            [record.clone(), record]
        })
        .collect()
}

fn month_days(d: NaiveDate) -> i64 {
    let first = d.with_day(1).unwrap();
    let next = first.checked_add_months(chrono::Months::new(1)).unwrap();
    (next - first).num_days()
}

/// The company as the sequence leaves it, and what it billed.
struct World {
    book: AccountBook,
    sub: Subscription,
    usage: Vec<UsageRecord>,
    metrics: Vec<Metric>,
    lines: Vec<InvoiceLine>,
    /// Days of the fixed fee billed, net of compensation.
    fee_days: BTreeMap<NaiveDate, i32>,
    /// Days whose fixed fee may stay unbilled: archived, beyond what was billed before.
    fee_forfeit: Vec<(NaiveDate, NaiveDate)>,
    /// The same for usage billed in arrears.
    usage_forfeit: Vec<(NaiveDate, NaiveDate)>,
    archived_since: Option<(NaiveDate, BilledThrough)>,
    restored_on: NaiveDate,
    now: NaiveDate,
}

impl World {
    fn new() -> World {
        let mut book = AccountBook::new();
        book.add(Account::new(
            id(),
            AccountKey::new("acme").unwrap(),
            AccountName::new("Acme").unwrap(),
            Contact::default(),
            Currency::EUR,
            start(),
        ))
        .unwrap();
        World {
            book,
            sub: subscription(None, BilledThrough::default()),
            usage: usage(),
            metrics: vec![Metric {
                id: MetricId::new("calls").unwrap(),
                aggregation: Aggregation::Sum,
            }],
            lines: Vec::new(),
            fee_days: BTreeMap::new(),
            fee_forfeit: Vec::new(),
            usage_forfeit: Vec::new(),
            archived_since: None,
            restored_on: start(),
            now: start(),
        }
    }

    fn run(&mut self, on: NaiveDate) -> Result<(), TestCaseError> {
        let options = first_run_on(on);
        let subs = [self.sub.clone()];
        let result = run_records(&self.book, &subs, &self.metrics, &self.usage, &options).unwrap();
        self.sub = recorded(&subs, &result).remove(0);
        for invoice in &result.invoices {
            for line in invoice.lines() {
                if line.product.as_str() == "licence" {
                    let step = if line.kind == LineKind::Compensation {
                        -1
                    } else {
                        1
                    };
                    let days = line.period.days();
                    let full = month_days(line.period.start());
                    let exact = FEE * Decimal::from(days) / Decimal::from(full);
                    let rounded =
                        exact.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
                    prop_assert_eq!(line.amount.amount(), rounded * Decimal::from(step));
                    let mut d = line.period.start();
                    while d < line.period.end() {
                        *self.fee_days.entry(d).or_default() += step;
                        let count = self.fee_days[&d];
                        prop_assert!(count == 0 || count == 1, "day {} billed {} times", d, count);
                        d = d.succ_opt().unwrap();
                    }
                }
                self.lines.push(line.clone());
            }
        }
        Ok(())
    }

    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::Run(d) => self.run(day(d))?,
            Op::End(d) => {
                // An end set or moved anywhere after the start, but not before the last
                // restore: the days a restore skips count as billed for the watermark, so
                // an end moved before them would credit days never billed (a known gap,
                // in docs/decisions.md).
                let end = day(d)
                    .max(start().succ_opt().unwrap())
                    .max(self.restored_on);
                self.sub = subscription(Some(end), self.sub.billed_through());
            }
            Op::Archive(d) => {
                if self.archived_since.is_none() {
                    self.now = self.now.max(day(d));
                    // The company bills before it archives.
                    self.run(self.now)?;
                    self.book.archive(&id()).unwrap();
                    self.archived_since = Some((self.now, self.sub.billed_through()));
                }
            }
            Op::Restore(d) => self.restore(day(d)),
        }
        Ok(())
    }

    fn restore(&mut self, on: NaiveDate) {
        let Some((_, billed)) = self.archived_since.take() else {
            return;
        };
        self.now = self.now.max(on);
        self.restored_on = self.now;
        let batch = restore_account(&id(), std::slice::from_ref(&self.sub), self.now);
        for (i, change) in batch.changes.iter().enumerate() {
            match change {
                Change::PutSubscription { subscription } => {
                    self.sub.record_billed(subscription.billed_through());
                }
                other => apply_to_book(&mut self.book, i, other).unwrap(),
            }
        }
        let from = |b: Option<NaiveDate>| b.unwrap_or(start());
        self.fee_forfeit.push((from(billed.in_advance), self.now));
        self.usage_forfeit.push((from(billed.in_arrears), self.now));
    }

    /// After the last run: every covered day billed once, none other; every record once.
    fn check_final(&self) -> Result<(), TestCaseError> {
        let end = self.sub.schedule().end();
        let last = day(LAST_DAY);
        let forfeit = |spans: &[(NaiveDate, NaiveDate)], d: NaiveDate| {
            spans.iter().any(|(from, to)| *from <= d && d < *to)
        };
        // Fixed fee in advance: every period started by the last run is billed.
        let month_end = last
            .with_day(1)
            .unwrap()
            .checked_add_months(chrono::Months::new(1))
            .unwrap();
        let fee_until = end.map_or(month_end, |e| e.min(month_end));
        let mut d = start();
        while d < month_end.max(fee_until) {
            let billed = self.fee_days.get(&d).copied().unwrap_or(0);
            let expected = i32::from(d < fee_until && !forfeit(&self.fee_forfeit, d));
            if !forfeit(&self.fee_forfeit, d) {
                prop_assert_eq!(billed, expected, "fixed fee of {}", d);
            } else {
                prop_assert!(billed == 0 || billed == 1, "fixed fee of {}", d);
            }
            d = d.succ_opt().unwrap();
        }
        // Usage in arrears: no day in two lines; each line's quantity its days with records.
        let mut usage_days: BTreeMap<NaiveDate, u32> = BTreeMap::new();
        for line in self.lines.iter().filter(|l| l.product.as_str() == "api") {
            let mut d = line.period.start();
            let mut records = 0u32;
            while d < line.period.end() {
                *usage_days.entry(d).or_default() += 1;
                prop_assert_eq!(usage_days[&d], 1, "usage of {} in two lines", d);
                records += u32::from(d < day(USAGE_DAYS));
                d = d.succ_opt().unwrap();
            }
            prop_assert_eq!(line.quantity, Decimal::from(records));
        }
        let arrears_until = end.map_or(last.with_day(1).unwrap(), |e| {
            e.min(last.with_day(1).unwrap())
        });
        let mut d = start();
        while d < day(USAGE_DAYS).min(arrears_until) {
            if !forfeit(&self.usage_forfeit, d) {
                prop_assert!(usage_days.contains_key(&d), "usage of {} never billed", d);
            }
            d = d.succ_opt().unwrap();
        }
        Ok(())
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn every_covered_day_is_billed_once_and_every_record_once(ops in prop::collection::vec(op(), 1..14)) {
        let mut world = World::new();
        for op in ops {
            world.step(op)?;
        }
        world.restore(day(LAST_DAY));
        world.run(day(LAST_DAY))?;
        world.check_final()?;
    }
}
