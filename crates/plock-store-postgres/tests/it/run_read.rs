//! What a billing run reads (the book in one statement, the subscriptions, metrics and billed
//! usage on a second connection in the same snapshot) is what the store's other reads give.

use plock_core::Store;
use plock_core::account::{ExternalId, ExternalSystem, Tag};
use plock_core::money::Currency;
use plock_core::store::{Batch, Change};

use crate::support::{account, aid, fresh_store, server, subscription};

#[test]
fn a_runs_read_holds_the_accounts_and_subscriptions_as_read_one_by_one() {
    let Some(server) =
        server("a_runs_read_holds_the_accounts_and_subscriptions_as_read_one_by_one")
    else {
        return;
    };
    let mut store = fresh_store(&server);
    let mut changes = Vec::new();
    for (id, key) in [("a", "key-a"), ("b", "key-b"), ("c", "key-c")] {
        changes.push(Change::AddAccount {
            account: account(id, key, Currency::EUR),
        });
    }
    for tag in ["eu", "vip"] {
        changes.push(Change::Tag {
            id: aid("a"),
            tag: Tag::new(tag).unwrap(),
        });
    }
    for (id, system) in [("a", ExternalSystem::Fortnox), ("a", ExternalSystem::Kleer)] {
        changes.push(Change::SetExternalId {
            id: aid(id),
            system,
            external_id: ExternalId::new("1001").unwrap(),
        });
    }
    changes.push(Change::Tag {
        id: aid("c"),
        tag: Tag::new("eu").unwrap(),
    });
    for (id, owner) in [("s1", "a"), ("s2", "b")] {
        changes.push(Change::PutSubscription {
            subscription: subscription(id, owner, Currency::EUR, true),
        });
    }
    store.apply(Batch { changes }).unwrap();

    let (company, usage) = store.run_input().unwrap();
    assert!(usage.is_empty());
    let read: Vec<_> = company.accounts.iter().cloned().collect();
    let ids: Vec<_> = ["a", "b", "c"].iter().map(|id| aid(id)).collect();
    assert_eq!(read, store.accounts(&ids).unwrap());
    let tagged = company.accounts.get(&aid("a")).unwrap();
    assert_eq!(tagged.tags().len(), 2);
    assert_eq!(company.subscriptions, store.subscriptions_of(&ids).unwrap());
    assert_eq!(company.subscriptions.len(), 2);
    assert_eq!(company.metrics, store.metrics().unwrap());
}
