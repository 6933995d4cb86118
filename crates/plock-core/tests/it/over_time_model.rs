//! A model-based property of billing over time: random sequences of billing runs (any dates,
//! repeated, out of order) mixed with end dates set and moved, pauses and resumes, re-imports
//! of the subscription, archive and restore, usage sent twice, usage arriving late, and the
//! fixed fee's price or quantity changed from any day (inside billed days or not), checked
//! day by day against a plain ledger:
//!
//! - no day of the fixed fee is ever billed twice, net of compensation, after any run;
//! - every line's amount is the fee for its days, rounded once;
//! - after a last run, every day the subscription covered is billed exactly once, and no day
//!   after its end, or while its account was archived (beyond what was billed before the
//!   archive), is billed;
//! - after a last run, each month's fixed fee lines, compensation for price changes
//!   included, sum to the price agreed for each billed day, to within a rounding a line;
//! - every usage record lands in exactly one line: its period's, or a late usage line of its
//!   period when it arrives after the period was billed.
//!
//! With compensation switched off, a moved end leaves days billed past it, and the property
//! fails; with the settlement of price changes switched off, a price changed inside billed
//! days leaves them billed at the old price, and the property fails.

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

use crate::billing_props::recorded;
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
    /// A record that arrives now for that day, maybe of a period already billed.
    Late(u64),
    /// The fixed fee becomes one of [`FEES`] times a quantity of 1 to 3 from that day.
    Change(u64, usize, u8),
    /// Revenue collection paused from that day: runs skip it, charges keep accruing.
    Pause(u64),
    /// Paused no more from that day: the next run bills what accrued.
    Resume(u64),
    /// The subscription written again as a re-import of the same row writes it: its end,
    /// state, prices and what it is billed through kept.
    Reimport,
}

/// The fees a change picks from.
const FEES: [Decimal; 3] = [dec!(30.00), dec!(45.50), dec!(12.00)];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..LAST_DAY).prop_map(Op::Run),
        2 => (1..LAST_DAY).prop_map(Op::End),
        1 => (0..LAST_DAY).prop_map(Op::Archive),
        1 => (0..LAST_DAY).prop_map(Op::Restore),
        2 => (0..USAGE_DAYS).prop_map(Op::Late),
        3 => (0..LAST_DAY, 0..FEES.len(), 1u8..4).prop_map(|(d, f, q)| Op::Change(d, f, q)),
        1 => (0..LAST_DAY).prop_map(Op::Pause),
        1 => (0..LAST_DAY).prop_map(Op::Resume),
        1 => Just(Op::Reimport),
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

/// The subscription, with `licence` as its fixed fee item when given (its price changes
/// kept), else the first fee.
fn subscription(
    end: Option<NaiveDate>,
    billed: BilledThrough,
    licence: Option<Item>,
) -> Subscription {
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
                licence.unwrap_or_else(|| {
                    Item::flat_fee(ProductId::new("licence").unwrap(), FEE, Decimal::ONE)
                }),
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
    now: NaiveDate,
    /// What runs billed of usage, and the days restores skipped, as a store keeps them.
    billed_usage: Vec<BilledUsage>,
    /// The fixed fee's changes as made: from that day on, that fee a month.
    fee_changes: Vec<(NaiveDate, Decimal)>,
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
            sub: subscription(None, BilledThrough::default(), None),
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
            now: start(),
            billed_usage: Vec::new(),
            fee_changes: Vec::new(),
        }
    }

    /// The fee a month agreed for day `d`: the last change made that starts on or before it.
    fn agreed(&self, d: NaiveDate) -> Decimal {
        self.fee_changes
            .iter()
            .rev()
            .find(|(from, _)| *from <= d)
            .map_or(FEE, |(_, fee)| *fee)
    }

    fn run(&mut self, on: NaiveDate) -> Result<(), TestCaseError> {
        let options = first_run_on(on);
        let subs = [self.sub.clone()];
        let table = UsageTable::from_records(&self.usage).unwrap();
        let data = CompanyData {
            accounts: &self.book,
            subscriptions: &subs,
            metrics: &self.metrics,
            usage: &table,
            billed_usage: &self.billed_usage,
        };
        let result = run(&data, &options).unwrap();
        self.keep(&result.billed_usage);
        self.sub = recorded(&subs, &result).remove(0);
        for invoice in &result.invoices {
            for line in invoice.lines() {
                // A price change's compensation names no unit price: checked by month.
                if let (true, Some(unit_price)) =
                    (line.product.as_str() == "licence", line.unit_price)
                {
                    let step = if line.kind == LineKind::Compensation {
                        -1
                    } else {
                        1
                    };
                    let days = line.period.days();
                    let full = month_days(line.period.start());
                    let month_fee = unit_price * line.quantity;
                    prop_assert_eq!(month_fee, self.agreed(line.period.start()));
                    let exact = month_fee * Decimal::from(days) / Decimal::from(full);
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
                // An end set or moved anywhere after the start, also into days a restore
                // skipped: those are credited only where they were billed.
                let end = day(d).max(start().succ_opt().unwrap());
                let licence = self.sub.items()[0].clone();
                self.sub = subscription(Some(end), self.sub.billed_through(), Some(licence));
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
            Op::Change(d, fee, quantity) => {
                let from = day(d);
                let product = ProductId::new("licence").unwrap();
                let quantity = Decimal::from(quantity);
                let item = Item::flat_fee(product.clone(), FEES[fee], quantity);
                // Refused after the end, and for an ended subscription.
                if self.sub.change_item(&product, item, from).is_ok() {
                    self.fee_changes.push((from, FEES[fee] * quantity));
                }
            }
            Op::Pause(d) => {
                // Refused unless Active.
                let _ = self.sub.pause(day(d));
            }
            Op::Resume(d) => {
                // Refused unless Paused since that day or earlier.
                let _ = self.sub.resume(day(d));
            }
            Op::Reimport => {
                let licence = self.sub.items()[0].clone();
                let end = self.sub.schedule().end();
                let mut again = subscription(end, self.sub.billed_through(), Some(licence));
                if let SubscriptionState::Paused { since } = self.sub.state() {
                    again.pause(since).unwrap();
                }
                self.sub = again;
            }
            Op::Late(d) => {
                let at = Utc.from_utc_datetime(&day(d).and_hms_opt(18, 0, 0).unwrap());
                let id = format!("late{}", self.usage.len());
                self.usage.push(
                    UsageRecord::new(
                        AccountKey::new("acme").unwrap(),
                        MetricId::new("calls").unwrap(),
                        at,
                        Decimal::ONE,
                        Some(RecordId::new(id).unwrap()),
                    )
                    .unwrap(),
                );
            }
        }
        Ok(())
    }

    fn restore(&mut self, on: NaiveDate) {
        let Some((_, billed)) = self.archived_since.take() else {
            return;
        };
        self.now = self.now.max(on);
        let batch = restore_account(&id(), std::slice::from_ref(&self.sub), self.now);
        for (i, change) in batch.changes.iter().enumerate() {
            match change {
                Change::PutSubscription { subscription } => {
                    self.sub.record_billed(subscription.billed_through());
                }
                Change::RecordRun { billed_usage, .. } => self.keep(billed_usage),
                other => apply_to_book(&mut self.book, i, other).unwrap(),
            }
        }
        let from = |b: Option<NaiveDate>| b.unwrap_or(start());
        self.fee_forfeit.push((from(billed.in_advance), self.now));
        self.usage_forfeit.push((from(billed.in_arrears), self.now));
    }

    /// Keeps `rows` as a store does: the latest of each key.
    fn keep(&mut self, rows: &[BilledUsage]) {
        for row in rows {
            self.billed_usage.retain(|r| r.key() != row.key());
            self.billed_usage.push(row.clone());
        }
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
        self.check_fee_money()?;
        // Usage in arrears: no day in two periods billed; a period's lines (its line and
        // its late usage lines) sum to its records, late ones included.
        let mut by_period: BTreeMap<Period, Decimal> = BTreeMap::new();
        for line in self.lines.iter().filter(|l| l.product.as_str() == "api") {
            *by_period.entry(line.period).or_default() += line.quantity;
        }
        let mut usage_days: BTreeMap<NaiveDate, u32> = BTreeMap::new();
        for (period, quantity) in &by_period {
            let mut d = period.start();
            while d < period.end() {
                *usage_days.entry(d).or_default() += 1;
                prop_assert_eq!(usage_days[&d], 1, "usage of {} in two periods", d);
                d = d.succ_opt().unwrap();
            }
            let records = deduplicate(&self.usage)
                .into_iter()
                .filter(|r| period.contains(r.timestamp().date_naive()))
                .count();
            prop_assert_eq!(*quantity, Decimal::from(records), "usage of {}", period);
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

impl World {
    /// Each month's fixed fee lines sum to the fee agreed for each billed day, prorated: to
    /// within half a cent a line, as each line is rounded once.
    fn check_fee_money(&self) -> Result<(), TestCaseError> {
        let mut months: BTreeMap<NaiveDate, (Decimal, Decimal, u32)> = BTreeMap::new();
        for line in self
            .lines
            .iter()
            .filter(|l| l.product.as_str() == "licence")
        {
            let month = months
                .entry(line.period.start().with_day(1).unwrap())
                .or_default();
            month.1 += line.amount.amount();
            month.2 += 1;
        }
        for (d, count) in &self.fee_days {
            if *count == 1 {
                let month = months.entry(d.with_day(1).unwrap()).or_default();
                month.0 += self.agreed(*d) / Decimal::from(month_days(*d));
            }
        }
        for (month, (agreed, billed, lines)) in months {
            let slack = dec!(0.005) * Decimal::from(lines) + dec!(0.000001);
            prop_assert!(
                (agreed - billed).abs() <= slack,
                "{}: agreed {} for the days billed, lines sum to {}",
                month,
                agreed.round_dp(4),
                billed
            );
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
        let _ = world.sub.resume(day(LAST_DAY));
        world.run(day(LAST_DAY))?;
        world.check_final()?;
    }
}

/// An end moved before a restore, then past the restore's first skipped day, then back: the
/// days billed after the restore's record of skipped days are credited like any billed day.
#[test]
fn an_end_moved_back_and_forth_around_a_restore_bills_each_day_once() {
    let mut world = World::new();
    let ops = [
        Op::Archive(0),
        Op::Restore(222),
        Op::End(1),
        Op::Run(0),
        Op::End(23),
        Op::Run(22),
        Op::End(1),
        Op::Run(0),
        Op::End(23),
    ];
    for op in ops {
        world.step(op).unwrap();
    }
    world.restore(day(LAST_DAY));
    world.run(day(LAST_DAY)).unwrap();
    world.check_final().unwrap();
}
