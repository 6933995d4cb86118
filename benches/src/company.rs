//! A deterministic company at a chosen scale: skewed groups and usage, every price model,
//! some records outside any billed period and some for a metric nothing prices.

// Benchmark data: every index below is taken modulo, or below, the length of the vector it
// indexes, and every identifier is built from digits, so neither can fail.
#![allow(clippy::indexing_slicing, clippy::expect_used)]

use chrono::{Days, NaiveDate, TimeZone, Utc};
use plock_core::account::{AccountName, Contact};
use plock_core::period::PeriodMode;
use plock_core::pricing::{Rebate, Tier, Tiers};
use plock_core::store::CompanySnapshot;
use plock_core::usage::{Aggregation, UsageTableBuilder};
use plock_core::{
    Account, AccountBook, AccountId, AccountKey, BillingInterval, BillingPractice, Currency, Item,
    Metric, MetricId, PriceModel, ProductId, Subscription, SubscriptionId, SubscriptionSpec,
    UsageRecord, UsageTable,
};
use rust_decimal::Decimal;

/// A benchmark scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// 1,000 accounts, 100,000 usage records.
    S,
    /// 100,000 accounts, 10 million usage records.
    M,
    /// 1,000,000 accounts, 100 million usage records.
    L,
}

impl Scale {
    /// (accounts, usage records).
    pub fn size(self) -> (usize, usize) {
        match self {
            Scale::S => (1_000, 100_000),
            Scale::M => (100_000, 10_000_000),
            Scale::L => (1_000_000, 100_000_000),
        }
    }
}

/// xorshift64*: small, fast, and the same numbers on every machine.
pub struct Rng(u64);

impl Rng {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed | 1)
    }
    /// The next number.
    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    /// A number below `n`, skewed towards 0 by `power` (1 = uniform).
    pub fn skewed(&mut self, n: usize, power: u32) -> usize {
        let mut x = self.next_u64() % (1 << 20);
        for _ in 1..power {
            x = (x * (self.next_u64() % (1 << 20))) >> 20;
        }
        ((x as u128 * n as u128) >> 20) as usize
    }
}

/// The run date the generated company is billed on: January's arrears, February in advance.
pub const RUN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2025, 2, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

fn id<T>(r: Result<T, impl std::fmt::Debug>) -> T {
    r.expect("generated identifiers are valid")
}

/// Builds the company: 2% masters with group billing, 10% children (a few very large
/// groups; 1 in 10 children on a quarterly schedule, so it does not match), usage skewed
/// towards a few heavy accounts, 1% of records in March (not yet billed), 1% unpriced.
pub fn generate(scale: Scale, seed: u64) -> CompanySnapshot {
    generate_sized(scale.size().0, scale.size().1, seed)
}

/// [`generate`] with explicit sizes.
pub fn generate_sized(accounts: usize, records: usize, seed: u64) -> CompanySnapshot {
    let mut generated = Generated::new(accounts, records, seed);
    let mut usage = Vec::with_capacity(records);
    generated.for_each_record(|key, metric, at, quantity| {
        usage.push(id(UsageRecord::new(
            key.clone(),
            metric.clone(),
            at,
            quantity,
            None,
        )));
    });
    let mut company = generated.company;
    company.usage = usage;
    company
}

/// The company of [`generate_sized`] with its usage packed in a [`UsageTable`], the records
/// never held in any other form.
pub fn generate_table(accounts: usize, records: usize, seed: u64) -> (CompanySnapshot, UsageTable) {
    let mut generated = Generated::new(accounts, records, seed);
    let mut builder = UsageTableBuilder::with_capacity(records);
    generated.for_each_record(|key, metric, at, quantity| {
        id(builder.push(key, metric, at, quantity, None));
    });
    (generated.company, builder.finish())
}

/// The usage of [`generate_sized`] as a usage CSV, with the company it belongs to.
pub fn generate_csv(accounts: usize, records: usize, seed: u64) -> (CompanySnapshot, String) {
    use std::fmt::Write;
    let mut generated = Generated::new(accounts, records, seed);
    let mut csv = String::with_capacity(records.saturating_mul(48));
    csv.push_str("account_key,metric,timestamp,quantity\n");
    generated.for_each_record(|key, metric, at, quantity| {
        let _ = writeln!(
            csv,
            "{key},{metric},{}Z,{quantity}",
            at.naive_utc().format("%Y-%m-%dT%H:%M:%S")
        );
    });
    (generated.company, csv)
}

/// A generated company whose usage is produced on demand, record by record.
pub struct Generated {
    /// The company, without usage.
    pub company: CompanySnapshot,
    keys: Vec<AccountKey>,
    records: usize,
    rng: Rng,
}

impl Generated {
    /// The company of `accounts` accounts that will have `records` usage records.
    pub fn new(accounts: usize, records: usize, seed: u64) -> Generated {
        let mut rng = Rng::new(seed);
        let (company, keys) = company(accounts, &mut rng);
        Generated {
            company,
            keys,
            records,
            rng,
        }
    }

    /// Produces every usage record, in the same order on every machine.
    pub fn for_each_record(
        &mut self,
        mut f: impl FnMut(&AccountKey, &MetricId, chrono::DateTime<Utc>, Decimal),
    ) {
        let metric_ids = [
            id(MetricId::new("api_calls")),
            id(MetricId::new("seats")),
            id(MetricId::new("gb_stored")),
            id(MetricId::new("unpriced")),
        ];
        let start = Utc
            .with_ymd_and_hms(2025, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default();
        let accounts = self.keys.len();
        let rng = &mut self.rng;
        for _ in 0..self.records {
            let a = rng.skewed(accounts, 2);
            let roll = rng.next_u64() % 100;
            let (m, day) = match roll {
                0 => (3, rng.next_u64() % 31),          // a metric nothing prices
                1 => (a % 3, 59 + rng.next_u64() % 31), // March: no period due yet
                _ => (a % 3, rng.next_u64() % 31),
            };
            let at = start
                + Days::new(day)
                + chrono::Duration::seconds((rng.next_u64() % 86_400) as i64);
            // Stored gigabytes come with two decimals; counts are whole.
            let quantity = match m {
                2 => Decimal::new((rng.next_u64() % 100_000) as i64, 2),
                _ => Decimal::from(rng.next_u64() % 1_000),
            };
            f(&self.keys[a], &metric_ids[m], at, quantity);
        }
    }
}

fn company(accounts: usize, rng: &mut Rng) -> (CompanySnapshot, Vec<AccountKey>) {
    let (book, keys, quarterly) = book(accounts, rng);
    let subscriptions = subscriptions(&keys, &quarterly);
    let metric = |m: &str| id(MetricId::new(m));
    let metrics = vec![
        Metric {
            id: metric("api_calls"),
            aggregation: Aggregation::Sum,
        },
        Metric {
            id: metric("seats"),
            aggregation: Aggregation::Max,
        },
        Metric {
            id: metric("gb_stored"),
            aggregation: Aggregation::Average,
        },
    ];
    let company = CompanySnapshot {
        accounts: book,
        subscriptions,
        metrics,
        usage: Vec::new(),
        billed_usage: Vec::new(),
    };
    (company, keys)
}

/// The accounts: one in 50 a master with group billing on, one in ten of the others its
/// child (a tenth of those quarterly).
fn book(accounts: usize, rng: &mut Rng) -> (AccountBook, Vec<AccountKey>, Vec<bool>) {
    let jan = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or(NaiveDate::MIN);
    let masters = (accounts / 50).max(1);
    let mut book = AccountBook::new();
    let keys: Vec<AccountKey> = (0..accounts)
        .map(|i| id(AccountKey::new(format!("a{i:07}"))))
        .collect();
    for key in &keys {
        let account = Account::new(
            AccountId::from_key(key),
            key.clone(),
            id(AccountName::new(key.as_str())),
            Contact::default(),
            Currency::EUR,
            jan,
        );
        id(book.add(account));
    }
    let mut quarterly = vec![false; accounts];
    for i in masters..accounts {
        if i % 10 == 0 {
            let master = rng.skewed(masters, 3);
            id(book.link(
                &AccountId::from_key(&keys[i]),
                &AccountId::from_key(&keys[master]),
            ));
            quarterly[i] = rng.next_u64().is_multiple_of(10);
        }
    }
    for key in keys.iter().take(masters) {
        id(book.set_group_billing(&AccountId::from_key(key), true));
    }
    (book, keys, quarterly)
}

/// One subscription an account: a licence in advance and one metric, the price models in
/// turn.
fn subscriptions(keys: &[AccountKey], quarterly: &[bool]) -> Vec<Subscription> {
    let jan = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or(NaiveDate::MIN);
    let metric = |m: &str| id(MetricId::new(m));
    let tiers = |rows: &[(Option<i64>, i64)]| {
        id(Tiers::new(
            rows.iter()
                .map(|(up, cents)| Tier::unit(up.map(Decimal::from), Decimal::new(*cents, 3)))
                .collect(),
        ))
    };
    let mut subscriptions = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let usage = match i % 6 {
            0 => PriceModel::PerUnit {
                unit_price: Decimal::new(2, 3),
            },
            1 => PriceModel::Graduated {
                tiers: tiers(&[(Some(10_000), 10), (Some(100_000), 8), (None, 5)]),
            },
            2 => PriceModel::Volume {
                tiers: tiers(&[(Some(1_000), 9), (None, 4)]),
            },
            3 => PriceModel::Package {
                size: Decimal::from(1_000),
                price: Decimal::new(250, 2),
            },
            4 => PriceModel::Commitment {
                committed: Decimal::from(5_000),
                unit_price: Decimal::new(3, 3),
            },
            _ => PriceModel::PerUnit {
                unit_price: Decimal::new(1, 2),
            },
        };
        let metric_id = match i % 3 {
            0 => "api_calls",
            1 => "seats",
            _ => "gb_stored",
        };
        let mut licence = Item::flat_fee(
            id(ProductId::new("licence")),
            Decimal::new(4500 + (i % 7) as i64 * 100, 1),
            Decimal::ONE,
        );
        if i % 5 == 0 {
            licence = licence.with_rebate(id(Rebate::percent(Decimal::from(10))));
        }
        let spec = SubscriptionSpec {
            id: id(SubscriptionId::new(format!("s{i:07}"))),
            account: AccountId::from_key(key),
            start: jan,
            end: None,
            interval: if quarterly[i] {
                BillingInterval::QUARTERLY
            } else {
                BillingInterval::MONTHLY
            },
            mode: PeriodMode::Calendar,
            anchor: None,
            practice: BillingPractice::InAdvance,
            currency: Currency::EUR,
            items: vec![
                licence,
                Item::usage(id(ProductId::new(metric_id)), metric(metric_id), usage),
            ],
            minimum_invoice_amount: None,
        };
        let mut sub = id(Subscription::new(spec, Currency::EUR));
        id(sub.activate());
        subscriptions.push(sub);
    }
    subscriptions
}
