//! The store contract: behaviour every [`Store`] implementation must show, as plain functions
//! generic over the trait, so a future adapter (PostgreSQL, say) runs the very same checks.
//!
//! Enable the `store-contract` feature in the adapter's dev-dependencies and call
//! [`run_all`] from a test with a function that returns a fresh, empty store. [`fixtures`]
//! holds the small domain values the checks build on, for the stores' own tests too.
// Test support: a failed expectation must stop the test, so panicking is the point here.
#![allow(
    clippy::arithmetic_side_effects,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use chrono::{TimeZone, Utc};
use rust_decimal::Decimal;

use crate::account::*;
use crate::billing::*;
use crate::id::*;
use crate::money::*;
use crate::period::*;
use crate::store::*;
use crate::subscription::*;
use crate::usage::*;

pub mod fixtures;
pub mod late_race;
pub mod moved_end;
mod price_changes;
mod streamed;

pub use price_changes::price_changes;
pub use streamed::streamed_runs;

use self::fixtures::{aid, date, licence};

fn account(id: &str, currency: Currency) -> Account {
    fixtures::account(id, &format!("key-{id}"), currency)
}

fn subscription(id: &str, account: &str, currency: Currency) -> Subscription {
    let items = vec![licence(Decimal::from(100))];
    let mut s = fixtures::draft(id, account, currency, items, None);
    s.activate().unwrap();
    s
}

fn record(key: &str, day: u32, hour: u32) -> UsageRecord {
    let timestamp = Utc.with_ymd_and_hms(2025, 1, day, hour, 0, 0).unwrap();
    fixtures::record_at(key, timestamp, Decimal::from(day), None)
}

/// A company of five accounts: a master `m` with children `c1`, `c2`, a pending `p`, a tagged
/// `t` with a Fortnox id, subscriptions, a metric and January usage.
fn seed<S: Store>(store: &mut S) {
    let mut changes = vec![];
    for id in ["m", "c1", "c2", "t"] {
        changes.push(Change::AddAccount {
            account: account(id, Currency::EUR),
        });
    }
    changes.push(Change::AddDiscovered {
        account: account("p", Currency::EUR),
    });
    changes.push(Change::Link {
        child: aid("c1"),
        master: aid("m"),
    });
    changes.push(Change::Link {
        child: aid("c2"),
        master: aid("m"),
    });
    changes.push(Change::SetGroupBilling {
        master: aid("m"),
        on: true,
    });
    changes.push(Change::Tag {
        id: aid("t"),
        tag: Tag::new("eu").unwrap(),
    });
    changes.push(Change::SetExternalId {
        id: aid("t"),
        system: ExternalSystem::Fortnox,
        external_id: ExternalId::new("1001").unwrap(),
    });
    changes.push(Change::PutSubscription {
        subscription: subscription("s-m", "m", Currency::EUR),
    });
    changes.push(Change::PutSubscription {
        subscription: subscription("s-t", "t", Currency::EUR),
    });
    changes.push(Change::PutMetric {
        metric: Metric {
            id: MetricId::new("calls").unwrap(),
            aggregation: Aggregation::Sum,
        },
    });
    changes.push(Change::AddUsage {
        records: vec![
            record("key-t", 1, 0),
            record("key-t", 31, 23),
            record("key-m", 15, 12),
            record("key-t", 20, 1),
        ],
    });
    store.apply(Batch { changes }).unwrap();
}

fn ids(accounts: &[Account]) -> Vec<&str> {
    accounts.iter().map(|a| a.id().as_str()).collect()
}

/// Runs every contract check, each on a fresh store.
pub fn run_all<S: Store>(mut fresh: impl FnMut() -> S) {
    lookups(&mut fresh());
    listing_and_paging(&mut fresh());
    usage_by_account_and_period(&mut fresh());
    batches_are_all_or_nothing(&mut fresh());
    subscriptions(&mut fresh());
    billing_runs(&mut fresh());
    combined_tag_filters(&mut fresh());
    currency_changes(&mut fresh());
    late_race::racing_late_usage(&mut fresh());
    moved_end::an_end_moved_back_is_credited_once(&mut fresh());
    price_changes(&mut fresh());
    streamed_runs(&mut fresh());
}

/// By id, by batch of ids, by key, by external id, children, dismissed keys.
pub fn lookups<S: Store>(store: &mut S) {
    seed(store);
    assert_eq!(store.account(&aid("m")).unwrap().unwrap().id(), &aid("m"));
    assert!(store.account(&aid("nobody")).unwrap().is_none());
    let batch = store
        .accounts(&[aid("t"), aid("nobody"), aid("c1"), aid("t")])
        .unwrap();
    assert_eq!(ids(&batch), vec!["c1", "t"]);
    assert_eq!(
        store
            .account_by_key(&AccountKey::new("key-c2").unwrap())
            .unwrap()
            .unwrap()
            .id(),
        &aid("c2")
    );
    let by_ext = store
        .account_by_external_id(&ExternalSystem::Fortnox, &ExternalId::new("1001").unwrap())
        .unwrap();
    assert_eq!(by_ext.unwrap().id(), &aid("t"));
    assert!(
        store
            .account_by_external_id(&ExternalSystem::Kleer, &ExternalId::new("1001").unwrap())
            .unwrap()
            .is_none()
    );
    assert_eq!(ids(&store.children(&aid("m")).unwrap()), vec!["c1", "c2"]);
    store
        .apply(Batch::one(Change::Dismiss { id: aid("p") }))
        .unwrap();
    assert!(
        store
            .is_dismissed(&AccountKey::new("key-p").unwrap())
            .unwrap()
    );
    assert!(store.account(&aid("p")).unwrap().is_none());
}

/// Filters by state and tags; pages cover everything once, in id order.
pub fn listing_and_paging<S: Store>(store: &mut S) {
    seed(store);
    let pending = store
        .list_accounts(&AccountQuery {
            state: Some(AccountState::Pending),
            ..AccountQuery::default()
        })
        .unwrap();
    assert_eq!(ids(&pending.items), vec!["p"]);
    let eu = AccountQuery {
        tags: Some(TagFilter::All(vec![Tag::new("EU").unwrap()])),
        ..AccountQuery::default()
    };
    assert_eq!(ids(&store.list_accounts(&eu).unwrap().items), vec!["t"]);
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = store
            .list_accounts(&AccountQuery {
                after: after.clone(),
                limit: 2,
                ..AccountQuery::default()
            })
            .unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(|a| a.id().to_string()));
        match page.next {
            Some(next) => after = Some(next),
            None => break,
        }
    }
    assert_eq!(seen, vec!["c1", "c2", "m", "p", "t"]);
}

/// Usage lookups are per account and half-open in the period.
pub fn usage_by_account_and_period<S: Store>(store: &mut S) {
    seed(store);
    let january = Period::new(date(2025, 1, 1), date(2025, 1, 31)).unwrap();
    let t = store
        .usage(&[AccountKey::new("key-t").unwrap()], &january)
        .unwrap();
    let days: Vec<u32> = t
        .iter()
        .map(|r| chrono::Datelike::day(&r.timestamp()))
        .collect();
    assert_eq!(days, vec![1, 20], "Jan 31 is outside [Jan 1, Jan 31)");
    let both = store
        .usage(
            &[
                AccountKey::new("key-t").unwrap(),
                AccountKey::new("key-m").unwrap(),
            ],
            &Period::new(date(2025, 1, 1), date(2025, 2, 1)).unwrap(),
        )
        .unwrap();
    assert_eq!(both.len(), 4);
    let unknown = store.apply(Batch::one(Change::AddUsage {
        records: vec![record("key-ghost", 2, 0)],
    }));
    assert!(
        matches!(unknown, Err(StoreError::NotFound { index: 0, .. })),
        "{unknown:?}"
    );
}

/// A batch whose last change is refused leaves the store exactly as before.
pub fn batches_are_all_or_nothing<S: Store>(store: &mut S) {
    seed(store);
    let before = store.company().unwrap();
    let number_before = store.next_invoice_number().unwrap();
    let batch = Batch {
        changes: vec![
            Change::AddAccount {
                account: account("new", Currency::EUR),
            },
            Change::Tag {
                id: aid("m"),
                tag: Tag::new("vip").unwrap(),
            },
            Change::AddUsage {
                records: vec![record("key-new", 3, 0)],
            },
            Change::PutSubscription {
                subscription: subscription("s-new", "new", Currency::EUR),
            },
            Change::Archive { id: aid("m") }, // refused: live children
        ],
    };
    let err = store.apply(batch).unwrap_err();
    assert!(matches!(err, StoreError::Account { index: 4, .. }), "{err}");
    assert_eq!(store.company().unwrap(), before);
    assert_eq!(store.next_invoice_number().unwrap(), number_before);
    assert!(
        store
            .account_by_key(&AccountKey::new("key-new").unwrap())
            .unwrap()
            .is_none()
    );
    let vip = AccountQuery {
        tags: Some(TagFilter::Any(vec![Tag::new("vip").unwrap()])),
        ..AccountQuery::default()
    };
    assert!(
        store.list_accounts(&vip).unwrap().items.is_empty(),
        "the tag index kept a refused change"
    );
    // An account found, given usage and dismissed in one batch: its usage would be orphaned.
    let orphan = Batch {
        changes: vec![
            Change::AddDiscovered {
                account: account("found", Currency::EUR),
            },
            Change::AddUsage {
                records: vec![record("key-found", 3, 0)],
            },
            Change::Dismiss { id: aid("found") },
        ],
    };
    let err = store.apply(orphan).unwrap_err();
    assert!(
        matches!(err, StoreError::Conflict { index: 2, .. }),
        "{err}"
    );
    assert_eq!(store.company().unwrap(), before);
}

/// Subscriptions need a known account in the same currency.
pub fn subscriptions<S: Store>(store: &mut S) {
    seed(store);
    assert_eq!(
        store
            .subscriptions_of(&[aid("t"), aid("c1")])
            .unwrap()
            .len(),
        1
    );
    let wrong = store.apply(Batch::one(Change::PutSubscription {
        subscription: subscription("s-x", "t", Currency::SEK),
    }));
    assert!(
        matches!(wrong, Err(StoreError::Subscription { index: 0, .. })),
        "{wrong:?}"
    );
    let orphan = store.apply(Batch::one(Change::PutSubscription {
        subscription: subscription("s-y", "ghost", Currency::EUR),
    }));
    assert!(
        matches!(orphan, Err(StoreError::NotFound { .. })),
        "{orphan:?}"
    );
    let page = store
        .list_subscriptions(&SubscriptionQuery {
            limit: 1,
            ..SubscriptionQuery::default()
        })
        .unwrap();
    assert_eq!(page.items.len(), 1);
    assert_eq!(page.next, Some(SubscriptionId::new("s-m").unwrap()));
    let dismiss_with_sub = store.apply(Batch::one(Change::Dismiss { id: aid("t") }));
    assert!(dismiss_with_sub.is_err());
}

/// A recorded run's invoices and watermarks come back; a run recorded twice, or over a
/// subscription another run has moved since, is a conflict; replacing a subscription keeps
/// what it is billed through.
pub fn billing_runs<S: Store>(store: &mut S) {
    seed(store);
    let company = store.company().unwrap();
    let usage = company.usage_table().unwrap();
    let first = store.next_invoice_number().unwrap();
    let options = RunOptions {
        run_date: date(2025, 2, 1),
        first_invoice_number: first,
        dispatch_erp: None,
    };
    let result = crate::billing::run(&company.data(&usage), &options).unwrap();
    assert!(!result.invoices.is_empty());
    assert!(!result.billed.is_empty());
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: result.invoices.clone(),
            billed: result.billed.clone(),
            billed_usage: result.billed_usage.clone(),
        }))
        .unwrap();
    check_billed_usage(store, &result.billed_usage);
    for billed in &result.billed {
        let stored = store.subscription(&billed.subscription).unwrap().unwrap();
        assert_eq!(stored.billed_through(), billed.through);
        // A subscription written again, as an import or an edit writes it, keeps what it is
        // billed through: its watermark is the store's to keep.
        let mut fresh = Subscription::new(stored.spec().clone(), stored.currency()).unwrap();
        if stored.state() == SubscriptionState::Active {
            fresh.activate().unwrap();
        }
        store
            .apply(Batch::one(Change::PutSubscription {
                subscription: fresh,
            }))
            .unwrap();
        let kept = store.subscription(&billed.subscription).unwrap().unwrap();
        assert_eq!(kept.billed_through(), billed.through);
    }
    assert_eq!(
        store.invoice(first).unwrap().as_ref(),
        result.invoices.first()
    );
    let listed = store.list_invoices(&InvoiceQuery::default()).unwrap();
    assert_eq!(listed.items, result.invoices);
    let next = store.next_invoice_number().unwrap();
    assert_eq!(next, first + result.invoices.len() as u64);
    let again = store.apply(Batch::one(Change::RecordRun {
        invoices: vec![],
        billed: result.billed.clone(),
        billed_usage: Vec::new(),
    }));
    assert!(
        matches!(again, Err(StoreError::Conflict { .. })),
        "{again:?}"
    );
    let company = store.company().unwrap();
    let usage = company.usage_table().unwrap();
    let rerun = crate::billing::run(
        &company.data(&usage),
        &RunOptions {
            first_invoice_number: next,
            ..options
        },
    )
    .unwrap();
    assert!(
        rerun.invoices.is_empty(),
        "a run after recording bills nothing again"
    );
}

/// A filter of several tag lists applies each of them: `--tag eu --no-tag smb` leaves out an
/// account tagged both.
pub fn combined_tag_filters<S: Store>(store: &mut S) {
    seed(store);
    let tag = |t: &str| Tag::new(t).unwrap();
    store
        .apply(Batch {
            changes: vec![
                Change::Tag {
                    id: aid("c1"),
                    tag: tag("eu"),
                },
                Change::Tag {
                    id: aid("c1"),
                    tag: tag("smb"),
                },
            ],
        })
        .unwrap();
    let list = |filter: Option<TagFilter>| {
        let query = AccountQuery {
            tags: filter,
            ..AccountQuery::default()
        };
        let page = store.list_accounts(&query).unwrap();
        ids(&page.items)
            .into_iter()
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(
        list(TagFilter::combined(vec![tag("eu")], vec![], vec![])),
        ["c1", "t"]
    );
    assert_eq!(
        list(TagFilter::combined(
            vec![tag("eu")],
            vec![],
            vec![tag("SMB")]
        )),
        ["t"]
    );
    assert_eq!(
        list(TagFilter::combined(
            vec![],
            vec![tag("smb"), tag("x")],
            vec![tag("nope")]
        )),
        ["c1"]
    );
}

/// An account's currency does not change while a subscription still bills in it; an
/// account without one may change it.
pub fn currency_changes<S: Store>(store: &mut S) {
    seed(store);
    let edit = |id: &str| {
        Batch::one(Change::EditAccount {
            id: aid(id),
            name: None,
            contact: None,
            currency: Some(Currency::SEK),
        })
    };
    let refused = store.apply(edit("m")).unwrap_err();
    assert!(
        matches!(&refused, StoreError::Conflict { what: "account", id, .. } if id == "m"),
        "{refused:?}"
    );
    assert_eq!(
        store.account(&aid("m")).unwrap().unwrap().currency(),
        Currency::EUR
    );
    store.apply(edit("c2")).unwrap();
    assert_eq!(
        store.account(&aid("c2")).unwrap().unwrap().currency(),
        Currency::SEK
    );
}

/// A store returns the billed usage a run recorded, and a later row of the same key replaces
/// the earlier one (with a row of its own when the run recorded none).
fn check_billed_usage(store: &mut impl Store, recorded: &[BilledUsage]) {
    let mut stored = store.company().unwrap().billed_usage;
    stored.sort();
    assert_eq!(stored, recorded, "billed usage as recorded");
    let synthetic = BilledUsage {
        subscription: SubscriptionId::new("s-m").unwrap(),
        product: ProductId::new("api").unwrap(),
        period: Period::new(date(2025, 1, 1), date(2025, 2, 1)).unwrap(),
        records: 2,
        quantity: Decimal::new(1250, 2),
        amount: Decimal::new(2500, 2),
        replaces: None,
        skipped: false,
    };
    let first = recorded.first().unwrap_or(&synthetic);
    let later = BilledUsage {
        records: first.records + 1,
        quantity: first.quantity + rust_decimal::Decimal::ONE,
        amount: first.amount + rust_decimal::Decimal::ONE,
        ..first.clone()
    };
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: vec![],
            billed: vec![],
            billed_usage: vec![later.clone()],
        }))
        .unwrap();
    let replaced: Vec<_> = store
        .company()
        .unwrap()
        .billed_usage
        .into_iter()
        .filter(|r| r.key() == first.key())
        .collect();
    assert_eq!(replaced, [later]);
    // Back as the run left it, for the checks that follow.
    store
        .apply(Batch::one(Change::RecordRun {
            invoices: vec![],
            billed: vec![],
            billed_usage: vec![first.clone()],
        }))
        .unwrap();
}
