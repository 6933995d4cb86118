//! Properties of the billing run over random companies.

use std::collections::BTreeMap;

use chrono::{Days, NaiveDate, TimeZone, Utc};
use plock_core::account::*;
use plock_core::billing::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::invoice::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::pricing::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::fixtures::{date, first_run_on};

#[derive(Debug, Clone)]
pub(crate) struct AccountPlan {
    state: u8,      // 0..8: mostly Active, some Pending/Archived
    currency: bool, // EUR or SEK
    master: Option<usize>,
    group_billing: bool,
}

#[derive(Debug, Clone)]
struct SubPlan {
    account: usize,
    start_days: u64,
    quarterly: bool,
    continuous: bool,
    in_arrears: bool,
    state: u8, // 0..10: mostly Active, some Draft/Paused/Ended
    fee: i64,
    usage_model: u8,
    unit_cents: i64,
}

prop_compose! {
    /// A subscription of one of `accounts` accounts, each field beside its range.
    fn sub_plan(accounts: usize)(
        account in 0..accounts,
        start_days in 0u64..90,
        quarterly in any::<bool>(),
        continuous in any::<bool>(),
        in_arrears in any::<bool>(),
        state in 0u8..10,
        fee in 0i64..100_000,
        usage_model in 0u8..6,
        unit_cents in 1i64..500,
    ) -> SubPlan {
        SubPlan {
            account,
            start_days,
            quarterly,
            continuous,
            in_arrears,
            state,
            fee,
            usage_model,
            unit_cents,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) accounts: Vec<AccountPlan>,
    subs: Vec<SubPlan>,
    usage: Vec<(usize, usize, u64, i64, Option<u8>)>,
    run_days: u64,
}

pub(crate) fn plan() -> impl Strategy<Value = Plan> {
    let accounts = prop::collection::vec(
        (
            0u8..8,
            any::<bool>(),
            prop::option::of(0usize..3),
            any::<bool>(),
        ),
        1..9,
    );
    accounts.prop_flat_map(|raw| {
        let n = raw.len();
        let accounts: Vec<AccountPlan> = raw
            .into_iter()
            .map(|(state, currency, master, group_billing)| AccountPlan {
                state,
                currency,
                master,
                group_billing,
            })
            .collect();
        let sub = sub_plan(n);
        (
            Just(accounts),
            prop::collection::vec(sub, 0..12),
            prop::collection::vec(
                (
                    0..n,
                    0usize..3,
                    0u64..200,
                    0i64..5000,
                    prop::option::of(0u8..20),
                ),
                0..80,
            ),
            20u64..200,
        )
            .prop_map(|(accounts, subs, usage, run_days)| Plan {
                accounts,
                subs,
                usage,
                run_days,
            })
    })
}

pub(crate) struct Company {
    pub(crate) book: AccountBook,
    pub(crate) subs: Vec<Subscription>,
    pub(crate) metrics: Vec<Metric>,
    pub(crate) usage: Vec<UsageRecord>,
    pub(crate) run_date: NaiveDate,
}

fn key(i: usize) -> AccountKey {
    AccountKey::new(format!("k{i}")).unwrap()
}
pub(crate) fn aid(i: usize) -> AccountId {
    AccountId::new(format!("a{i}")).unwrap()
}

pub(crate) fn build(plan: &Plan) -> Company {
    let origin = date(2025, 1, 1);
    let mut book = AccountBook::new();
    for (i, a) in plan.accounts.iter().enumerate() {
        let currency = if a.currency {
            Currency::EUR
        } else {
            Currency::SEK
        };
        let state = if a.state == 6 {
            AccountState::Pending
        } else {
            AccountState::Active
        };
        let account = Account::new(
            aid(i),
            key(i),
            AccountName::new(&format!("A{i}")).unwrap(),
            Contact::default(),
            currency,
            origin,
        );
        book.add(account.with_state(state)).unwrap();
    }
    // Links (refused for Pending accounts), then archiving (refused for masters with live children).
    for (i, a) in plan.accounts.iter().enumerate() {
        if let Some(m) = a.master {
            let _ = book.link(&aid(i), &aid(m));
        }
    }
    for (i, a) in plan.accounts.iter().enumerate() {
        if a.group_billing {
            let _ = book.set_group_billing(&aid(i), true);
        }
    }
    for (i, a) in plan.accounts.iter().enumerate() {
        if a.state == 7 {
            let _ = book.archive(&aid(i));
        }
    }
    let metric = |m: usize| MetricId::new(format!("m{m}")).unwrap();
    let mut subs = Vec::new();
    let mut per_account: BTreeMap<usize, usize> = BTreeMap::new();
    for (s, p) in plan.subs.iter().enumerate() {
        let account = book.get(&aid(p.account)).unwrap();
        let n = per_account.entry(p.account).or_default();
        // One subscription per account prices each metric, so usage has one home.
        let m = *n % 3;
        *n += 1;
        let unit = Decimal::new(p.unit_cents, 3);
        let model = match p.usage_model {
            0 => PriceModel::PerUnit { unit_price: unit },
            1 => PriceModel::Graduated {
                tiers: Tiers::new(vec![
                    Tier::unit(Some(Decimal::from(1000)), unit),
                    Tier {
                        up_to: None,
                        unit_price: Some(unit / Decimal::TWO),
                        flat_fee: Some(Decimal::TEN),
                    },
                ])
                .unwrap(),
            },
            2 => PriceModel::Volume {
                tiers: Tiers::new(vec![
                    Tier::unit(Some(Decimal::from(500)), unit),
                    Tier::unit(None, unit / Decimal::TWO),
                ])
                .unwrap(),
            },
            3 => PriceModel::Package {
                size: Decimal::from(250),
                price: unit * Decimal::from(100),
            },
            4 => PriceModel::Commitment {
                committed: Decimal::from(800),
                unit_price: unit,
            },
            _ => PriceModel::PerUnit {
                unit_price: Decimal::ZERO,
            },
        };
        let mut items = vec![Item::usage(
            ProductId::new(format!("usage{m}")).unwrap(),
            metric(m),
            model,
        )];
        if p.fee > 0 {
            let mut fee = Item::flat_fee(
                ProductId::new("licence").unwrap(),
                Decimal::new(p.fee, 2),
                Decimal::ONE,
            );
            if p.fee % 3 == 0 {
                fee = fee.with_rebate(Rebate::percent(Decimal::new(p.fee % 100, 0)).unwrap());
            }
            items.push(fee);
        }
        let start = origin + Days::new(p.start_days);
        let spec = SubscriptionSpec {
            id: SubscriptionId::new(format!("s{s:02}")).unwrap(),
            account: aid(p.account),
            start,
            end: None,
            interval: if p.quarterly {
                BillingInterval::QUARTERLY
            } else {
                BillingInterval::MONTHLY
            },
            mode: if p.continuous {
                PeriodMode::Continuous
            } else {
                PeriodMode::Calendar
            },
            anchor: None,
            practice: if p.in_arrears {
                BillingPractice::InArrears
            } else {
                BillingPractice::InAdvance
            },
            currency: account.currency(),
            items,
            minimum_invoice_amount: (p.fee % 5 == 0).then_some(Decimal::from(100)),
        };
        let mut sub = Subscription::new(spec, account.currency()).unwrap();
        match p.state {
            0 => {}
            1 => {
                sub.activate().unwrap();
                sub.pause(start).unwrap();
            }
            2 => {
                sub.activate().unwrap();
                sub.end(start + Days::new(45)).unwrap();
            }
            _ => sub.activate().unwrap(),
        }
        subs.push(sub);
    }
    let usage = plan
        .usage
        .iter()
        .map(|(a, m, day, q, rid)| {
            UsageRecord::new(
                key(*a),
                metric(*m),
                Utc.with_ymd_and_hms(2025, 1, 1, 6, 0, 0).unwrap() + Days::new(*day),
                Decimal::new(*q, 1),
                rid.map(|r| RecordId::new(format!("r{a}-{r}")).unwrap()),
            )
            .unwrap()
        })
        .collect();
    let metrics = (0..3)
        .map(|m| Metric {
            id: metric(m),
            aggregation: Aggregation::Sum,
        })
        .collect();
    Company {
        book,
        subs,
        metrics,
        usage,
        run_date: origin + Days::new(plan.run_days),
    }
}

/// The run over records, packed into a table first.
pub(crate) fn run_records(
    book: &AccountBook,
    subscriptions: &[Subscription],
    metrics: &[Metric],
    usage: &[UsageRecord],
    options: &RunOptions,
) -> Result<BillingRun, BillingError> {
    let table = UsageTable::from_records(usage).unwrap();
    let data = CompanyData {
        accounts: book,
        subscriptions,
        metrics,
        usage: &table,
        billed_usage: &[],
    };
    run(&data, options)
}

/// `subscriptions` with what `result` billed recorded on them, as a store records it.
pub(crate) fn recorded(subscriptions: &[Subscription], result: &BillingRun) -> Vec<Subscription> {
    let billed: BTreeMap<&SubscriptionId, BilledThrough> = result
        .billed
        .iter()
        .map(|b| (&b.subscription, b.through))
        .collect();
    subscriptions
        .iter()
        .map(|s| {
            let mut s = s.clone();
            if let Some(through) = billed.get(s.id()) {
                s.record_run(*through);
            }
            s
        })
        .collect()
}

fn run_company(c: &Company, book: &AccountBook, subs: &[Subscription]) -> BillingRun {
    let options = first_run_on(c.run_date);
    run_records(book, subs, &c.metrics, &c.usage, &options).unwrap()
}

type LineKey = (SubscriptionId, Period, ProductId, LineKind, AccountId);

fn line_key(l: &InvoiceLine) -> LineKey {
    (
        l.subscription.clone().unwrap(),
        l.period,
        l.product.clone(),
        l.kind,
        l.source_account.clone(),
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn billing_run_properties(plan in plan(), seed in any::<u64>()) {
        let c = build(&plan);
        let result = run_company(&c, &c.book, &c.subs);

        // Totals equal the sum of lines; every line is in the invoice's currency.
        for inv in &result.invoices {
            inv.check_invariants().unwrap();
            prop_assert!(inv.lines().iter().all(|l| l.amount.currency() == inv.currency()));
        }

        // No Pending or Archived account, no Draft or Paused subscription on any invoice.
        let subs: BTreeMap<&SubscriptionId, &Subscription> = c.subs.iter().map(|s| (s.id(), s)).collect();
        for inv in &result.invoices {
            prop_assert_eq!(c.book.get(inv.owner()).unwrap().state(), AccountState::Active);
            for l in inv.lines() {
                prop_assert_eq!(c.book.get(&l.source_account).unwrap().state(), AccountState::Active);
                let state = subs[l.subscription.as_ref().unwrap()].state();
                prop_assert!(matches!(state, SubscriptionState::Active | SubscriptionState::Ended), "{:?}", state);
            }
        }

        // Shuffling every input changes nothing, byte for byte.
        let mut shuffled_subs = c.subs.clone();
        let mut shuffled_usage = c.usage.clone();
        let mut shuffled_metrics = c.metrics.clone();
        shuffle(&mut shuffled_subs, seed);
        shuffle(&mut shuffled_usage, seed.rotate_left(7));
        shuffle(&mut shuffled_metrics, seed.rotate_left(13));
        let options = RunOptions { run_date: c.run_date, first_invoice_number: 1, dispatch_erp: None };
        let again = run_records(&c.book, &shuffled_subs, &shuffled_metrics, &shuffled_usage, &options).unwrap();
        prop_assert_eq!(serde_json::to_string(&again).unwrap(), serde_json::to_string(&result).unwrap());

        // A second run, what the first billed recorded, bills nothing.
        let second = run_company(&c, &c.book, &recorded(&c.subs, &result));
        prop_assert!(second.invoices.is_empty());
        prop_assert!(second.billed.is_empty());

        // Consolidation conserves money: with group billing off everywhere, the same lines
        // exist; each consolidated invoice's total is the sum of its members' own lines.
        let mut solo_book = c.book.clone();
        let masters: Vec<AccountId> = c.book.iter().filter(|a| a.group_billing()).map(|a| a.id().clone()).collect();
        for m in &masters {
            solo_book.set_group_billing(m, false).unwrap();
        }
        let solo = run_company(&c, &solo_book, &c.subs);
        let lines = |r: &BillingRun| {
            let mut v: Vec<_> = r.invoices.iter().flat_map(|i| i.lines().iter().map(|l| (line_key(l), l.amount.amount(), l.amount.currency()))).collect();
            v.sort();
            v
        };
        prop_assert_eq!(lines(&result), lines(&solo));
        let solo_lines: BTreeMap<LineKey, Money> = solo.invoices.iter().flat_map(|i| i.lines().iter().map(|l| (line_key(l), l.amount))).collect();
        for inv in &result.invoices {
            let members_sum = Money::sum(inv.currency(), inv.lines().iter().map(|l| solo_lines[&line_key(l)])).unwrap();
            prop_assert_eq!(members_sum, inv.total());
        }

        // Every usage record with a quantity, inside a billed in-arrears period of the one
        // subscription pricing its metric for an Active account, is counted in exactly one line.
        let billed_arrears: BTreeMap<&SubscriptionId, NaiveDate> = result
            .billed
            .iter()
            .filter_map(|b| Some((&b.subscription, b.through.in_arrears?)))
            .collect();
        let all_lines: Vec<&InvoiceLine> = result.invoices.iter().flat_map(|i| i.lines()).collect();
        // Record ids identify a record within its account and metric.
        let mut groups: BTreeMap<(&AccountKey, &MetricId), Vec<&UsageRecord>> = BTreeMap::new();
        for r in &c.usage {
            groups.entry((r.account(), r.metric())).or_default().push(r);
        }
        for record in groups.into_values().flat_map(deduplicate) {
            let account = c.book.by_key(record.account()).unwrap();
            let day = record.timestamp().date_naive();
            let Some(sub) = c.subs.iter().find(|s| s.account() == account.id() && s.items().iter().any(|i| i.metric.as_ref() == Some(record.metric()))) else { continue };
            let Some(period) = sub.schedule().period_containing(day) else { continue };
            let billed = billed_arrears.get(sub.id()).is_some_and(|through| period.covered.end() <= *through);
            if !billed || account.state() != AccountState::Active {
                continue;
            }
            let item = sub.items().iter().find(|i| i.metric.as_ref() == Some(record.metric())).unwrap();
            let counted = all_lines
                .iter()
                .filter(|l| l.subscription.as_ref() == Some(sub.id()) && l.product == item.product && l.period.contains(day) && matches!(l.kind, LineKind::InArrears | LineKind::Overage))
                .count();
            let is_commitment = matches!(item.price, PriceModel::Commitment { .. });
            if record.quantity() > Decimal::ZERO && !is_commitment {
                prop_assert_eq!(counted, 1, "record {:?} counted {} times", record, counted);
            } else {
                prop_assert!(counted <= 1);
            }
        }
        // ... and a usage line's quantity is the sum of the records it counts.
        for l in all_lines.iter().filter(|l| l.kind == LineKind::InArrears && l.product.as_str().starts_with("usage")) {
            let sub = subs[l.subscription.as_ref().unwrap()];
            let item = sub.items().iter().find(|i| i.product == l.product).unwrap();
            let key = c.book.get(&l.source_account).unwrap().key();
            let sum: Decimal = deduplicate(c.usage.iter().filter(|r| r.account() == key && Some(r.metric()) == item.metric.as_ref()))
                .into_iter()
                .filter(|r| l.period.contains(r.timestamp().date_naive()))
                .map(UsageRecord::quantity)
                .sum();
            prop_assert_eq!(sum, l.quantity);
        }
    }
}

pub(crate) fn shuffle<T>(v: &mut [T], seed: u64) {
    let mut state = seed | 1;
    for i in (1..v.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        v.swap(i, (state % (i as u64 + 1)) as usize);
    }
}
