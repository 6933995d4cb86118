//! The SQLite store against the memory store, the reference: the same batches, applied to
//! both, must give the same outcome (the same error, to the change index) and leave both
//! answering every read alike. The batches come from a small universe of ids, keys, tags and
//! external ids, so collisions, refusals and group rules happen often.

use chrono::{TimeZone, Utc};
use plock_core::account::*;
use plock_core::billing::*;
use plock_core::id::*;
use plock_core::money::*;
use plock_core::period::*;
use plock_core::store::*;
use plock_core::usage::*;
use plock_store_memory::MemoryStore;
use plock_store_sqlite::SqliteStore;
use proptest::prelude::*;
use rust_decimal::Decimal;

use crate::support::{account, aid, date, subscription};

const IDS: [&str; 4] = ["a", "b", "c", "d"];
const KEYS: [&str; 5] = ["key-a", "key-b", "key-c", "key-d", "key-e"];
const TAGS: [&str; 3] = ["eu", "EU", "vip"];

#[derive(Debug, Clone)]
enum Step {
    Batch(Vec<Change>),
    /// Bill with the reference's data and record the run in both stores.
    Run {
        month: u32,
    },
    /// Record the last run again: a conflict in both.
    ReplayLastRun,
}

fn id() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&IDS[..])
}

fn key() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&KEYS[..])
}

fn currency() -> impl Strategy<Value = Currency> {
    prop_oneof![Just(Currency::EUR), Just(Currency::SEK)]
}

fn tag() -> impl Strategy<Value = Tag> {
    prop::sample::select(&TAGS[..]).prop_map(|t| Tag::new(t).unwrap())
}

fn system() -> impl Strategy<Value = ExternalSystem> {
    prop_oneof![
        Just(ExternalSystem::Fortnox),
        Just(ExternalSystem::HubSpot),
        Just(ExternalSystem::Other("pipedrive".into())),
    ]
}

fn external_id() -> impl Strategy<Value = ExternalId> {
    prop::sample::select(&["1", "2"][..]).prop_map(|e| ExternalId::new(e).unwrap())
}

fn usage_record() -> impl Strategy<Value = UsageRecord> {
    (
        prop_oneof![4 => key(), 1 => Just("key-ghost")],
        1..=3u32,
        1..=28u32,
        0..24u32,
        (0..100_000i64, 0..4u32),
        prop::option::of(prop::sample::select(&["r-1", "r-2"][..])),
    )
        .prop_map(|(key, month, day, hour, (mantissa, scale), rid)| {
            UsageRecord::new(
                AccountKey::new(key).unwrap(),
                MetricId::new("calls").unwrap(),
                Utc.with_ymd_and_hms(2025, month, day, hour, 0, 0).unwrap(),
                Decimal::new(mantissa, scale),
                rid.map(|r| RecordId::new(r).unwrap()),
            )
            .unwrap()
        })
}

fn change() -> impl Strategy<Value = Change> {
    prop_oneof![
        3 => (id(), key(), currency()).prop_map(|(id, key, c)| Change::AddAccount {
            account: account(id, key, c),
        }),
        2 => (id(), key(), currency()).prop_map(|(id, key, c)| Change::AddDiscovered {
            account: account(id, key, c),
        }),
        1 => (
            id(),
            prop::option::of(prop::sample::select(&["Renamed", "Other"][..])),
            prop::option::of(currency()),
        )
            .prop_map(|(id, name, currency)| Change::EditAccount {
                id: aid(id),
                name: name.map(|n| AccountName::new(n).unwrap()),
                contact: None,
                currency,
            }),
        1 => id().prop_map(|id| Change::Approve { id: aid(id) }),
        1 => id().prop_map(|id| Change::Dismiss { id: aid(id) }),
        1 => id().prop_map(|id| Change::Archive { id: aid(id) }),
        1 => id().prop_map(|id| Change::Restore { id: aid(id) }),
        2 => (id(), id()).prop_map(|(child, master)| Change::Link {
            child: aid(child),
            master: aid(master),
        }),
        1 => id().prop_map(|child| Change::Unlink { child: aid(child) }),
        1 => (id(), any::<bool>()).prop_map(|(master, on)| Change::SetGroupBilling {
            master: aid(master),
            on,
        }),
        2 => (id(), tag()).prop_map(|(id, tag)| Change::Tag { id: aid(id), tag }),
        1 => (id(), tag()).prop_map(|(id, tag)| Change::Untag { id: aid(id), tag }),
        2 => (id(), system(), external_id()).prop_map(|(id, system, external_id)| {
            Change::SetExternalId {
                id: aid(id),
                system,
                external_id,
            }
        }),
        1 => (id(), system()).prop_map(|(id, system)| Change::RemoveExternalId {
            id: aid(id),
            system,
        }),
        2 => (
            prop::sample::select(&["s-1", "s-2"][..]),
            id(),
            currency(),
            any::<bool>(),
        )
            .prop_map(|(sid, id, c, active)| Change::PutSubscription {
                subscription: subscription(sid, id, c, active),
            }),
        1 => prop_oneof![Just(Aggregation::Sum), Just(Aggregation::Max)].prop_map(
            |aggregation| Change::PutMetric {
                metric: Metric {
                    id: MetricId::new("calls").unwrap(),
                    aggregation,
                },
            }
        ),
        2 => prop::collection::vec(usage_record(), 1..4)
            .prop_map(|records| Change::AddUsage { records }),
    ]
}

fn batch() -> impl Strategy<Value = Vec<Change>> {
    prop::collection::vec(change(), 1..4)
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        8 => batch().prop_map(Step::Batch),
        2 => (1..=4u32).prop_map(|month| Step::Run { month }),
        1 => Just(Step::ReplayLastRun),
    ]
}

fn outcome(result: Result<(), StoreError>) -> String {
    match result {
        Ok(()) => "ok".into(),
        Err(e) => format!("{e:?}"),
    }
}

/// Every read of both stores, side by side.
fn check_same_reads(reference: &MemoryStore, store: &SqliteStore) {
    assert_eq!(store.company().unwrap(), reference.company().unwrap());
    let all = InvoiceQuery::default();
    assert_eq!(
        store.list_invoices(&all).unwrap(),
        reference.list_invoices(&all).unwrap()
    );
    assert_eq!(
        store.next_invoice_number().unwrap(),
        reference.next_invoice_number().unwrap()
    );
    let ids: Vec<AccountId> = IDS.iter().map(|i| aid(i)).collect();
    assert_eq!(
        store.accounts(&ids).unwrap(),
        reference.accounts(&ids).unwrap()
    );
    assert_eq!(
        store.subscriptions_of(&ids).unwrap(),
        reference.subscriptions_of(&ids).unwrap()
    );
    for id in &ids {
        assert_eq!(store.children(id).unwrap(), reference.children(id).unwrap());
        let mine = SubscriptionQuery {
            account: Some(id.clone()),
            limit: 1,
            ..SubscriptionQuery::default()
        };
        assert_eq!(
            store.list_subscriptions(&mine).unwrap(),
            reference.list_subscriptions(&mine).unwrap()
        );
        let owned = InvoiceQuery {
            owner: Some(id.clone()),
            ..InvoiceQuery::default()
        };
        assert_eq!(
            store.list_invoices(&owned).unwrap(),
            reference.list_invoices(&owned).unwrap()
        );
    }
    for key in KEYS {
        let key = AccountKey::new(key).unwrap();
        assert_eq!(
            store.account_by_key(&key).unwrap(),
            reference.account_by_key(&key).unwrap()
        );
        assert_eq!(
            store.is_dismissed(&key).unwrap(),
            reference.is_dismissed(&key).unwrap()
        );
        let march = Period::new(date(2025, 1, 1), date(2025, 3, 1)).unwrap();
        assert_eq!(
            store.usage(std::slice::from_ref(&key), &march).unwrap(),
            reference.usage(&[key], &march).unwrap()
        );
    }
    for system in [ExternalSystem::Fortnox, ExternalSystem::HubSpot] {
        for ext in ["1", "2"] {
            let ext = ExternalId::new(ext).unwrap();
            assert_eq!(
                store.account_by_external_id(&system, &ext).unwrap(),
                reference.account_by_external_id(&system, &ext).unwrap()
            );
        }
    }
    let tags = |list: &[&str]| {
        list.iter()
            .map(|t| Tag::new(t).unwrap())
            .collect::<Vec<_>>()
    };
    let filters = [
        None,
        Some(TagFilter::All(tags(&["EU"]))),
        Some(TagFilter::All(tags(&["eu", "vip"]))),
        Some(TagFilter::All(vec![])),
        Some(TagFilter::Any(tags(&["vip", "Eu"]))),
        Some(TagFilter::Any(vec![])),
        Some(TagFilter::None(tags(&["eu"]))),
    ];
    let states = [
        None,
        Some(AccountState::Pending),
        Some(AccountState::Active),
        Some(AccountState::Archived),
    ];
    for tags in &filters {
        for state in states {
            let mut after = None;
            loop {
                let query = AccountQuery {
                    state,
                    tags: tags.clone(),
                    after: after.clone(),
                    limit: 2,
                };
                let page = store.list_accounts(&query).unwrap();
                assert_eq!(page, reference.list_accounts(&query).unwrap(), "{query:?}");
                match page.next {
                    Some(next) => after = Some(next),
                    None => break,
                }
            }
        }
    }
    store.check().unwrap();
}

/// A company to start from, so most generated changes find something to change: a group
/// billed together, an account in another currency, a pending one, subscriptions and usage.
fn seed() -> Step {
    let record = |key: &str, day: u32| {
        UsageRecord::new(
            AccountKey::new(key).unwrap(),
            MetricId::new("calls").unwrap(),
            Utc.with_ymd_and_hms(2025, 1, day, 8, 0, 0).unwrap(),
            Decimal::new(1250, 1),
            None,
        )
        .unwrap()
    };
    Step::Batch(vec![
        Change::AddAccount {
            account: account("a", "key-a", Currency::EUR),
        },
        Change::AddAccount {
            account: account("b", "key-b", Currency::EUR),
        },
        Change::AddAccount {
            account: account("c", "key-c", Currency::SEK),
        },
        Change::AddDiscovered {
            account: account("d", "key-d", Currency::EUR),
        },
        Change::Link {
            child: aid("b"),
            master: aid("a"),
        },
        Change::SetGroupBilling {
            master: aid("a"),
            on: true,
        },
        Change::PutSubscription {
            subscription: subscription("s-1", "b", Currency::EUR, true),
        },
        Change::PutSubscription {
            subscription: subscription("s-2", "c", Currency::SEK, true),
        },
        Change::PutMetric {
            metric: Metric {
                id: MetricId::new("calls").unwrap(),
                aggregation: Aggregation::Sum,
            },
        },
        Change::AddUsage {
            records: vec![record("key-b", 3), record("key-c", 9), record("key-b", 20)],
        },
    ])
}

fn check_same_history(steps: Vec<Step>) {
    let mut reference = MemoryStore::new();
    let mut store = SqliteStore::in_memory().unwrap();
    let mut last_run: Option<Batch> = None;
    for step in std::iter::once(seed()).chain(steps) {
        let batch = match step {
            Step::Batch(changes) => Batch { changes },
            Step::Run { month } => {
                let company = reference.company().unwrap();
                let Ok(usage) = company.usage_table() else {
                    continue;
                };
                let options = RunOptions {
                    run_date: date(2025, month + 1, 1),
                    first_invoice_number: reference.next_invoice_number().unwrap(),
                    dispatch_erp: None,
                };
                let Ok(result) = run(&company.data(&usage), &options) else {
                    continue;
                };
                let batch = Batch::one(Change::RecordRun {
                    invoices: result.invoices,
                    billed: result.billed,
                    billed_usage: result.billed_usage,
                });
                last_run = Some(batch.clone());
                batch
            }
            Step::ReplayLastRun => match &last_run {
                Some(batch) => batch.clone(),
                None => continue,
            },
        };
        let expected = outcome(reference.apply(batch.clone()));
        let got = outcome(store.apply(batch.clone()));
        assert_eq!(got, expected, "{batch:?}");
        check_same_reads(&reference, &store);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_sqlite_store_answers_as_the_memory_store(steps in prop::collection::vec(step(), 1..25)) {
        check_same_history(steps);
    }
}
