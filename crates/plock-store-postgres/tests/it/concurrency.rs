//! Writers on separate connections at once: the invariants hold, nothing accepted is lost, and
//! a race lost is refused with the rule's error (or a conflict).

use std::sync::{Arc, Barrier};
use std::thread;

use plock_core::{Invoice, account::*, billing::*, group::*, id::*, money::*, store::*, usage::*};
use plock_store_postgres::PostgresStore;
use rust_decimal::Decimal;

use crate::support::{account, aid, date, fresh_schema, record, server, subscription};

/// Runs `work(i)` on `n` threads at once, each with its own connection to `config`.
fn race<T: Send + 'static>(
    config: &str,
    n: usize,
    work: impl Fn(usize, &mut PostgresStore) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let barrier = Arc::new(Barrier::new(n));
    let work = Arc::new(work);
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let (barrier, work, config) = (barrier.clone(), work.clone(), config.to_owned());
            thread::spawn(move || {
                let mut store = PostgresStore::open(&config).unwrap();
                barrier.wait();
                work(i, &mut store)
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

#[test]
fn eight_writers_add_accounts_and_one_of_two_adding_a_key_is_refused() {
    let Some(server) = server("eight_writers_add_accounts") else {
        return;
    };
    let config = fresh_schema(&server);
    PostgresStore::create(&config).unwrap();
    let outcomes = race(&config, 8, |w, store| {
        for i in 0..20 {
            let id = format!("w{w}-{i}");
            store
                .apply(Batch::one(Change::AddAccount {
                    account: account(&id, &format!("key-{id}"), Currency::EUR),
                }))
                .unwrap();
        }
        if w < 2 {
            let id = format!("contender-{w}");
            Some(store.apply(Batch::one(Change::AddAccount {
                account: account(&id, "contested", Currency::EUR),
            })))
        } else {
            None
        }
    });
    let contested: Vec<_> = outcomes.into_iter().flatten().collect();
    let accepted = contested.iter().filter(|r| r.is_ok()).count();
    assert_eq!(accepted, 1, "{contested:?}");
    let refused = contested.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        matches!(
            refused,
            StoreError::Account {
                index: 0,
                source: AccountError::DuplicateKey { .. }
            }
        ),
        "{refused:?}"
    );
    let store = PostgresStore::open(&config).unwrap();
    let company = store.company().unwrap();
    company.accounts.check_invariants().unwrap();
    assert_eq!(
        company.accounts.len(),
        8 * 20 + 1,
        "nothing accepted is lost"
    );
    for w in 0..8 {
        for i in 0..20 {
            assert!(company.accounts.get(&aid(&format!("w{w}-{i}"))).is_some());
        }
    }
}

#[test]
fn two_writers_linking_children_to_one_master_stop_at_its_limit() {
    let Some(server) = server("two_writers_linking_children") else {
        return;
    };
    let config = fresh_schema(&server);
    let mut store = PostgresStore::create(&config).unwrap();
    let mut changes = vec![Change::AddAccount {
        account: account("m", "key-m", Currency::EUR),
    }];
    for writer in ["a", "b"] {
        for i in 0..2 {
            let id = format!("{writer}{i}");
            changes.push(Change::AddAccount {
                account: account(&id, &format!("key-{id}"), Currency::EUR),
            });
        }
    }
    store.apply(Batch { changes }).unwrap();
    // All but two places taken, written directly: the limit is large.
    let below = MAX_CHILDREN_PER_MASTER - 2;
    let mut client = postgres::Client::connect(&config, postgres::NoTls).unwrap();
    client
        .execute(
            "INSERT INTO accounts (owner, id, key, name, state, currency, master, group_billing, \
             created_on) SELECT 'c' || n, 'c' || n, 'key-c' || n, 'Child ' || n, 'active', \
             'EUR', 'm', false, '2025-01-01' FROM generate_series(1, $1::integer) n",
            &[&i32::try_from(below).unwrap()],
        )
        .unwrap();
    let outcomes = race(&config, 2, |w, store| {
        let writer = ["a", "b"][w];
        (0..2)
            .map(|i| {
                store.apply(Batch::one(Change::Link {
                    child: aid(&format!("{writer}{i}")),
                    master: aid("m"),
                }))
            })
            .collect::<Vec<_>>()
    });
    let all: Vec<_> = outcomes.into_iter().flatten().collect();
    assert_eq!(all.iter().filter(|r| r.is_ok()).count(), 2, "{all:?}");
    for refused in all.iter().filter_map(|r| r.as_ref().err()) {
        assert!(
            matches!(
                refused,
                StoreError::Account {
                    source: AccountError::LimitExceeded { .. },
                    ..
                }
            ),
            "{refused:?}"
        );
    }
    assert_eq!(
        store.children(&aid("m")).unwrap().len(),
        MAX_CHILDREN_PER_MASTER
    );
    store
        .company()
        .unwrap()
        .accounts
        .check_invariants()
        .unwrap();
}

#[test]
fn a_bill_racing_an_import_and_another_bill_loses_nothing() {
    let Some(server) = server("a_bill_racing_an_import") else {
        return;
    };
    let config = fresh_schema(&server);
    let mut store = PostgresStore::create(&config).unwrap();
    let mut changes = vec![Change::PutMetric {
        metric: Metric {
            id: MetricId::new("calls").unwrap(),
            aggregation: Aggregation::Sum,
        },
    }];
    for i in 0..4 {
        let id = format!("t{i}");
        changes.push(Change::AddAccount {
            account: account(&id, &format!("key-{id}"), Currency::EUR),
        });
        changes.push(Change::PutSubscription {
            subscription: subscription(&format!("s{i}"), &id, Currency::EUR, true),
        });
    }
    store.apply(Batch { changes }).unwrap();
    let first = store.next_invoice_number().unwrap();
    // Two bills and one import of 20 batches, at once.
    let outcomes = race(&config, 3, move |w, store| {
        if w == 2 {
            for batch in 0..20u32 {
                let records = (0..50u32)
                    .map(|r| {
                        let key = format!("key-t{}", r % 4);
                        record(&key, 1 + (batch + r) % 28, Decimal::from(r + 1), None)
                    })
                    .collect();
                store
                    .apply(Batch::one(Change::AddUsage { records }))
                    .unwrap();
            }
            return None;
        }
        let company = store.company().unwrap();
        let usage = company.usage_table().unwrap();
        let options = RunOptions {
            run_date: date(2025, 2, 1),
            first_invoice_number: store.next_invoice_number().unwrap(),
            dispatch_erp: None,
        };
        let run = plock_core::run(&company.data(&usage), &options).unwrap();
        Some(store.apply(Batch::one(Change::RecordRun {
            invoices: run.invoices,
            billed: run.billed,
            billed_usage: run.billed_usage,
        })))
    });
    let bills: Vec<_> = outcomes.into_iter().flatten().collect();
    assert_eq!(bills.iter().filter(|r| r.is_ok()).count(), 1, "{bills:?}");
    let refused = bills.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        matches!(refused, StoreError::Conflict { .. }),
        "{refused:?}"
    );
    let company = store.company().unwrap();
    assert_eq!(
        company.usage.len(),
        20 * 50,
        "every imported record is kept"
    );
    let invoices = store.list_invoices(&InvoiceQuery::default()).unwrap().items;
    assert_eq!(invoices.len(), 4, "one run's invoices, once");
    let numbers: Vec<u64> = invoices.iter().map(Invoice::number).collect();
    assert_eq!(numbers, (first..first + 4).collect::<Vec<_>>());
    assert_eq!(store.next_invoice_number().unwrap(), first + 4);
    for s in &company.subscriptions {
        assert!(s.billed_through().in_advance.is_some(), "{s:?}");
    }
}

#[test]
fn two_connections_billing_the_same_late_usage_at_once_bill_it_once() {
    use plock_core::contract::late_race::{late_lines, late_run, record, seed_late_usage};
    let Some(server) = server("two_connections_billing_late_usage") else {
        return;
    };
    let config = fresh_schema(&server);
    let mut store = PostgresStore::create(&config).unwrap();
    seed_late_usage(&mut store);
    let first = store.next_invoice_number().unwrap();
    let both_computed = Arc::new(Barrier::new(2));
    let outcomes = race(&config, 2, move |w, store| {
        let company = store.company().unwrap();
        // Invoice numbers of their own, so only the billed usage tells the two runs apart.
        let run = late_run(&company, first + w as u64, date(2025, 2, 2));
        assert_eq!(late_lines(&run), 1);
        both_computed.wait();
        store.apply(Batch::one(record(run)))
    });
    assert_eq!(
        outcomes.iter().filter(|r| r.is_ok()).count(),
        1,
        "{outcomes:?}"
    );
    let refused = outcomes.iter().find_map(|r| r.as_ref().err()).unwrap();
    assert!(
        matches!(
            refused,
            StoreError::Conflict {
                what: "billed usage",
                ..
            }
        ),
        "{refused:?}"
    );
    let invoices = store.list_invoices(&InvoiceQuery::default()).unwrap().items;
    let late = invoices
        .iter()
        .flat_map(Invoice::lines)
        .filter(|l| l.kind == plock_core::invoice::LineKind::LateUsage)
        .count();
    assert_eq!((invoices.len(), late), (2, 1), "{invoices:?}");
}
