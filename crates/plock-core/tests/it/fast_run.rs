//! The run against the tests' oracle: on random companies, with or without long histories,
//! both give the same result byte for byte, on 1 to 3 threads, errors included.

use chrono::{Days, NaiveDate};
use plock_core::account::*;
use plock_core::billing::oracle::{RecordData, reference_run};
use plock_core::billing::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::money::*;
use plock_core::subscription::*;
use plock_core::usage::*;
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::billing_props::{Company, aid, build, plan, recorded, run_records, shuffle};

/// What the differential test varies beyond the billing properties' companies.
#[derive(Debug, Clone)]
struct Variety {
    aggregations: [usize; 3],
    /// Per record, a scale for its quantity (0..=4), cycled.
    scales: Vec<u32>,
    first_invoice_number: u64,
    dispatch_fortnox: bool,
    /// 0: nothing; 1: usage of an unknown account; 2: a subscription id used twice;
    /// 3: a metric listed twice with different aggregations; 4: a subscription of an unknown
    /// account, in the middle of the id order; 5: accounts whose currency changed under
    /// their subscriptions.
    fault: u8,
}

fn variety() -> impl Strategy<Value = Variety> {
    (
        [0usize..5, 0usize..5, 0usize..5],
        prop::collection::vec(0u32..5, 1..8),
        prop_oneof![
            Just(1u64),
            1u64..1_000_000,
            Just(u64::MAX - 3),
            Just(u64::MAX)
        ],
        any::<bool>(),
        prop_oneof![8 => Just(0u8), 1 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8), 1 => Just(4u8), 2 => Just(5u8)],
    )
        .prop_map(
            |(aggregations, scales, first_invoice_number, dispatch_fortnox, fault)| Variety {
                aggregations,
                scales,
                first_invoice_number,
                dispatch_fortnox,
                fault,
            },
        )
}

fn vary(mut c: Company, v: &Variety) -> Company {
    for (m, metric) in c.metrics.iter_mut().enumerate() {
        metric.aggregation = Aggregation::ALL[v.aggregations[m % 3]];
    }
    c.usage = c
        .usage
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let scale = v.scales[i % v.scales.len()];
            let q = r.quantity();
            // The same digits at another scale: trailing zeros and fractions both occur.
            // Zeros of every scale too: Decimal adds them differently.
            let mantissa = if i % 7 == 3 { 0 } else { q.mantissa() as i64 };
            let quantity = Decimal::new(mantissa, scale);
            UsageRecord::new(
                r.account().clone(),
                r.metric().clone(),
                r.timestamp(),
                quantity,
                r.record_id().cloned(),
            )
            .unwrap()
        })
        .collect();
    if let Some(first) = c.usage.first().cloned() {
        // A metric nothing prices.
        c.usage.push(
            UsageRecord::new(
                first.account().clone(),
                MetricId::new("unpriced").unwrap(),
                first.timestamp() + Days::new(3),
                Decimal::ONE,
                None,
            )
            .unwrap(),
        );
    }
    match v.fault {
        1 => c.usage.push(
            UsageRecord::new(
                AccountKey::new("nobody").unwrap(),
                MetricId::new("m0").unwrap(),
                chrono::DateTime::UNIX_EPOCH,
                Decimal::ONE,
                None,
            )
            .unwrap(),
        ),
        2 => {
            if let Some(sub) = c.subs.last() {
                let mut spec = sub.spec().clone();
                spec.minimum_invoice_amount = Some(Decimal::from(123_456));
                c.subs
                    .push(Subscription::new(spec, sub.currency()).unwrap());
            }
        }
        3 => c.metrics.push(Metric {
            id: MetricId::new("m1").unwrap(),
            aggregation: if c.metrics[1].aggregation == Aggregation::Sum {
                Aggregation::Max
            } else {
                Aggregation::Sum
            },
        }),
        4 => {
            if let Some(sub) = c.subs.get(c.subs.len() / 2) {
                let mut spec = sub.spec().clone();
                spec.account = plock_core::AccountId::new("ghost").unwrap();
                spec.id = plock_core::SubscriptionId::new(format!("{}~", sub.id())).unwrap();
                c.subs
                    .push(Subscription::new(spec, sub.currency()).unwrap());
            }
        }
        5 => {
            // Accounts whose currency changed under their subscriptions: every subscription
            // of theirs fails, after others of their group may have been billed.
            for i in (1..c.book.len()).step_by(3) {
                let currency = c.book.get(&aid(i)).map(|a| a.currency());
                let other = if currency == Some(Currency::EUR) {
                    Currency::SEK
                } else {
                    Currency::EUR
                };
                let _ = c.book.set_currency(&aid(i), other);
            }
        }
        _ => {}
    }
    c
}

fn outcome(r: Result<BillingRun, BillingError>) -> String {
    match r {
        Ok(mut run) => {
            // The work differs by design: the oracle walks every period from the start.
            run.periods_visited = 0;
            serde_json::to_string(&run).unwrap()
        }
        Err(e) => format!("error: {e:?}"),
    }
}

/// The oracle's result and the run's, on `threads` threads; the run's twice, once with its
/// invoices and billed usage handed on in parts of `batch` subscriptions and put back
/// together.
fn both(
    c: &Company,
    book: &AccountBook,
    subs: &[Subscription],
    options: &RunOptions,
    threads: usize,
    batch: usize,
) -> (String, String, String) {
    let records = RecordData {
        accounts: book,
        subscriptions: subs,
        metrics: &c.metrics,
        usage: &c.usage,
        billed_usage: &[],
    };
    let reference = outcome(reference_run(&records, options));
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap();
    let fast = outcome(pool.install(|| run_records(book, subs, &c.metrics, &c.usage, options)));
    let streamed = pool.install(|| {
        let table = UsageTable::from_records(&c.usage).unwrap();
        let data = CompanyData {
            accounts: book,
            subscriptions: subs,
            metrics: &c.metrics,
            usage: &table,
            billed_usage: &[],
        };
        let mut all = RunPart::default();
        let run = run_streaming(&data, options, batch, &|_| (), &mut |part| {
            all.invoices.extend(part.invoices);
            all.billed_usage.extend(part.billed_usage);
        });
        // Each part's billed usage is in id order; the parts, in invoice order.
        all.billed_usage.sort();
        outcome(run.map(|run| BillingRun {
            invoices: all.invoices,
            billed_usage: all.billed_usage,
            ..run
        }))
    });
    (reference, fast, streamed)
}

/// Histories: per subscription, how many days before the run date each timing was billed
/// through (`None`: never billed), cycled over the subscriptions. Any day, not only period
/// boundaries: a schedule changed after billing leaves a watermark inside a period.
fn histories() -> impl Strategy<Value = Vec<(Option<u16>, Option<u16>)>> {
    prop::collection::vec(
        (prop::option::of(0u16..1500), prop::option::of(0u16..1500)),
        1..8,
    )
}

/// Changes of the `licence` fee: per subscription, cycled, how many days before the run date
/// the new fee applies from and the new fee in cents (`None`: no change). Inside billed days
/// or not; refused ones (before the start, after the end, an Ended subscription) are left out.
fn fee_changes() -> impl Strategy<Value = Vec<Option<(u16, i64)>>> {
    prop::collection::vec(prop::option::of((0u16..1500, 0i64..100_000)), 1..6)
}

fn with_fee_changes(
    subs: &mut [Subscription],
    run_date: NaiveDate,
    changes: &[Option<(u16, i64)>],
) {
    let licence = ProductId::new("licence").unwrap();
    for (s, change) in subs.iter_mut().zip(changes.iter().cycle()) {
        if let Some((back, cents)) = change {
            let from = run_date - Days::new(u64::from(*back));
            let fee = Item::flat_fee(
                licence.clone(),
                Decimal::new(*cents, 2),
                Decimal::from(1 + cents % 3),
            );
            let _ = s.change_item(&licence, fee, from);
        }
    }
}

/// The run over `c`'s records with `billed_usage` recorded by earlier runs.
fn run_with_rows(
    c: &Company,
    subs: &[Subscription],
    billed_usage: &[BilledUsage],
    options: &RunOptions,
) -> BillingRun {
    let table = UsageTable::from_records(&c.usage).unwrap();
    let data = CompanyData {
        accounts: &c.book,
        subscriptions: subs,
        metrics: &c.metrics,
        usage: &table,
        billed_usage,
    };
    run(&data, options).unwrap()
}

fn with_history(
    subs: &[Subscription],
    run_date: NaiveDate,
    history: &[(Option<u16>, Option<u16>)],
) -> Vec<Subscription> {
    subs.iter()
        .zip(history.iter().cycle())
        .map(|(s, (advance, arrears))| {
            let mut s = s.clone();
            let day = |back: &Option<u16>| back.map(|b| run_date - Days::new(u64::from(b)));
            s.record_billed(BilledThrough {
                in_advance: day(advance),
                in_arrears: day(arrears),
            });
            s
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_run_gives_the_oracles_result(plan in plan(), v in variety(), seed in any::<u64>(), threads in 1usize..4, batch in 1usize..6) {
        let mut c = vary(build(&plan), &v);
        shuffle(&mut c.usage, seed);
        shuffle(&mut c.subs, seed.rotate_left(9));
        let mut book = c.book.clone();
        if v.dispatch_fortnox {
            // Some owners have a Fortnox debtor id, some do not.
            for i in (0..plan.accounts.len()).step_by(2) {
                let _ = book.set_external_id(&aid(i), ExternalSystem::Fortnox, ExternalId::new(&format!("{}", 1000 + i)).unwrap());
            }
        }
        let options = RunOptions {
            run_date: c.run_date,
            first_invoice_number: v.first_invoice_number,
            dispatch_erp: v.dispatch_fortnox.then_some(ExternalSystem::Fortnox),
        };
        let (reference, fast, streamed) = both(&c, &book, &c.subs, &options, threads, batch);
        prop_assert_eq!(&fast, &reference);
        prop_assert_eq!(&streamed, &fast);

        // A later run, what half of this one billed recorded, agrees too.
        if let Ok(first) = run_records(&book, &c.subs, &c.metrics, &c.usage, &options) {
            let half = BillingRun { billed: first.billed[..first.billed.len() / 2].to_vec(), ..first };
            let subs = recorded(&c.subs, &half);
            let later = RunOptions { run_date: c.run_date + Days::new(40), ..options.clone() };
            let (reference, fast, streamed) = both(&c, &book, &subs, &later, threads, batch);
            prop_assert_eq!(&fast, &reference);
            prop_assert_eq!(streamed, fast);
        }
    }

    /// Subscriptions that started years before the run, billed through any day since.
    #[test]
    fn the_run_gives_the_oracles_result_over_long_histories(plan in plan(), years in 0u64..6, history in histories(), changes in fee_changes(), seed in any::<u64>(), threads in 1usize..3, batch in 1usize..6) {
        let mut c = build(&plan);
        shuffle(&mut c.subs, seed);
        let run_date = c.run_date + Days::new(365 * years);
        let mut subs = with_history(&c.subs, run_date, &history);
        with_fee_changes(&mut subs, run_date, &changes);
        let options = RunOptions { run_date, first_invoice_number: 1, dispatch_erp: None };
        let (reference, fast, streamed) = both(&c, &c.book, &subs, &options, threads, batch);
        prop_assert_eq!(&fast, &reference);
        prop_assert_eq!(&streamed, &fast);
        // Recorded, the same date bills nothing more.
        if let Ok(first) = run_records(&c.book, &subs, &c.metrics, &c.usage, &options) {
            let again = run_with_rows(&c, &recorded(&subs, &first), &first.billed_usage, &options);
            prop_assert!(again.invoices.is_empty());
            prop_assert!(again.billed.is_empty());
        }
    }
}
