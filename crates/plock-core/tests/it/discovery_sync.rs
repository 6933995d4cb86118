//! Discovery that stays in sync: a match by key links the account, so a later departure is
//! flagged; the source carries ids in other systems; a re-sync looks accounts up.

use plock_core::account::*;
use plock_core::book::*;
use plock_core::discovery::*;
use plock_core::id::*;
use plock_core::store::*;

use crate::fixtures::date;

fn source(csv: &str) -> Vec<SourceCustomer> {
    parse_source(csv.as_bytes()).unwrap()
}

fn apply(book: &AccountBook, batch: &Batch) -> AccountBook {
    let mut next = book.clone();
    for (i, change) in batch.changes.iter().enumerate() {
        apply_to_book(&mut next, i, change).unwrap();
    }
    next
}

#[test]
fn an_account_matched_by_key_is_linked_and_flagged_missing_when_it_leaves() {
    let crm = ExternalSystem::HubSpot;
    let mut book = AccountBook::new();
    book.add(crate::fixtures::eur_account("acme", "Acme"))
        .unwrap();
    // Same name and contact: nothing to update but the link.
    let plan = plan_discovery(
        &crm,
        &source("key,name,currency\nacme,Acme,EUR\n"),
        &book,
        date(2025, 2, 1),
    );
    assert_eq!(plan.updates.len(), 1, "{plan:?}");
    assert!(plan.updates[0].link);
    let book = apply(&book, &plan.batch());
    let acme = book.get(&AccountId::new("acme").unwrap()).unwrap();
    assert_eq!(
        acme.external_ids().get(&crm).map(|e| e.as_str()),
        Some("acme")
    );
    // Synced again: nothing to do.
    let again = plan_discovery(
        &crm,
        &source("key,name,currency\nacme,Acme,EUR\n"),
        &book,
        date(2025, 3, 1),
    );
    assert!(again.is_empty() && again.missing.is_empty(), "{again:?}");
    // The customer leaves the source: flagged.
    let gone = plan_discovery(
        &crm,
        &source("key,name,currency\nother,Other,EUR\n"),
        &book,
        date(2025, 4, 1),
    );
    assert_eq!(gone.missing, vec![AccountId::new("acme").unwrap()]);
}

#[test]
fn the_source_carries_ids_in_other_systems() {
    let crm = ExternalSystem::HubSpot;
    let customers = source("key,name,currency,ext_fortnox\nnew,New AB,SEK,1001\n");
    assert_eq!(
        customers[0].external_ids,
        vec![(ExternalSystem::Fortnox, ExternalId::new("1001").unwrap())]
    );
    let plan = plan_discovery(&crm, &customers, &AccountBook::new(), date(2025, 2, 1));
    let book = apply(&AccountBook::new(), &plan.batch());
    // Approved later and synced again: its Fortnox id comes from the source.
    let book = apply(
        &book,
        &Batch::one(Change::Approve {
            id: AccountId::new("new").unwrap(),
        }),
    );
    let plan = plan_discovery(&crm, &customers, &book, date(2025, 3, 1));
    let book = apply(&book, &plan.batch());
    let new = book.get(&AccountId::new("new").unwrap()).unwrap();
    assert_eq!(
        new.external_ids()
            .get(&ExternalSystem::Fortnox)
            .map(|e| e.as_str()),
        Some("1001")
    );
    assert!(parse_source(b"key,name,currency,ext_fortnox\nbad,Bad,SEK,\"a\x07b\"\n").is_err());
}

#[test]
fn the_operator_archives_the_missing_or_dismisses_the_flag() {
    let crm = ExternalSystem::HubSpot;
    let both = source("key,name,currency\nacme,Acme,EUR\nglobex,Globex,EUR\n");
    let plan = plan_discovery(&crm, &both, &AccountBook::new(), date(2025, 1, 1));
    let mut book = apply(&AccountBook::new(), &plan.batch());
    for key in ["acme", "globex"] {
        book = apply(
            &book,
            &Batch::one(Change::Approve {
                id: AccountId::new(key).unwrap(),
            }),
        );
    }
    let left = source("key,name,currency\nother,Other,EUR\n");
    let plan = plan_discovery(&crm, &left, &book, date(2025, 2, 1));
    assert_eq!(plan.missing.len(), 2);
    // Archived: billing stops, and an archived account is no longer flagged.
    let archived = apply(&book, &plan.settle_missing(true));
    assert!(
        archived
            .iter()
            .all(|a| a.state() == AccountState::Archived || a.key().as_str() == "other")
    );
    assert!(
        plan_discovery(&crm, &left, &archived, date(2025, 3, 1))
            .missing
            .is_empty()
    );
    // Dismissed: unlinked from the source, active, no longer flagged.
    let dismissed = apply(&book, &plan.settle_missing(false));
    let acme = dismissed.get(&AccountId::new("acme").unwrap()).unwrap();
    assert_eq!(acme.state(), AccountState::Active);
    assert_eq!(acme.external_ids().get(&crm), None);
    assert!(
        plan_discovery(&crm, &left, &dismissed, date(2025, 3, 1))
            .missing
            .is_empty()
    );
}

/// A re-sync at the scale the bullet names: 100,000 linked accounts, one of which left the
/// source. The plan looks every account up (n log n); a search per account would be 10^10
/// steps here and never finish. Its time at scale is measured by the `discovery` benchmark.
#[test]
fn a_resync_of_100000_linked_accounts_flags_the_one_that_left() {
    let crm = ExternalSystem::HubSpot;
    let n = 100_000;
    let mut book = AccountBook::new();
    let mut customers = Vec::with_capacity(n);
    for i in 0..n {
        let key = format!("customer-{i:06}");
        let account = crate::fixtures::eur_account(&key, &key);
        let id = account.id().clone();
        book.add(account).unwrap();
        book.set_external_id(&id, crm.clone(), ExternalId::new(&key).unwrap())
            .unwrap();
        if i != 4_242 {
            customers.push(SourceCustomer {
                key: AccountKey::new(&key).unwrap(),
                name: AccountName::new(&key).unwrap(),
                contact: Contact::default(),
                currency: plock_core::money::Currency::EUR,
                external_ids: Vec::new(),
            });
        }
    }
    let plan = plan_discovery(&crm, &customers, &book, date(2025, 2, 1));
    assert!(plan.is_empty(), "nothing new, nothing to update");
    assert_eq!(
        plan.missing,
        vec![AccountId::new("customer-004242").unwrap()]
    );
}
