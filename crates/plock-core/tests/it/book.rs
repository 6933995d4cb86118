//! The account book's cross-account rules, each refused action checked to change nothing.

use plock_core::account::AccountState::{Active, Archived, Pending};
use plock_core::account::*;
use plock_core::book::*;
use plock_core::group::*;
use plock_core::id::*;
use plock_core::money::*;

use crate::fixtures::*;

/// Runs `action` on a clone of `book`, asserts it is refused and changes nothing, and returns
/// the error message.
fn refused<T: std::fmt::Debug>(
    book: &AccountBook,
    action: impl FnOnce(&mut AccountBook) -> Result<T, AccountError>,
) -> String {
    let mut after = book.clone();
    let err = action(&mut after).expect_err("the action should be refused");
    assert_eq!(&after, book, "a refused action changed the book");
    after.check_invariants().unwrap();
    err.to_string()
}

fn erp(s: &str) -> ExternalId {
    ExternalId::new(s).unwrap()
}

#[test]
fn add_refuses_duplicates() {
    let mut book = book_with(&[("a", Active)]);
    book.set_external_id(&id("a"), ExternalSystem::Fortnox, erp("1001"))
        .unwrap();
    let msg = refused(&book, |b| b.add(account("a", Currency::SEK)));
    assert_eq!(msg, "an account with id \"a\" already exists");
    let dup_key = Account::new(
        id("b"),
        AccountKey::new("key-a").unwrap(),
        AccountName::new("B").unwrap(),
        Contact::default(),
        Currency::SEK,
        date(2025, 1, 1),
    );
    assert_eq!(
        refused(&book, |b| b.add(dup_key)),
        "account key \"key-a\" already belongs to account \"a\""
    );
}

#[test]
fn external_ids_are_unique_per_system() {
    let mut book = book_with(&[("a", Active), ("b", Active)]);
    book.set_external_id(&id("a"), ExternalSystem::Fortnox, erp("1001"))
        .unwrap();
    book.set_external_id(&id("b"), ExternalSystem::HubSpot, erp("1001"))
        .unwrap();
    let msg = refused(&book, |b| {
        b.set_external_id(&id("b"), ExternalSystem::Fortnox, erp("1001"))
    });
    assert_eq!(msg, "fortnox id \"1001\" already belongs to account \"a\"");
    assert_eq!(
        book.by_external_id(&ExternalSystem::Fortnox, &erp("1001"))
            .unwrap()
            .id(),
        &id("a")
    );
    // Replacing an id frees the old one.
    book.set_external_id(&id("a"), ExternalSystem::Fortnox, erp("2002"))
        .unwrap();
    assert!(
        book.by_external_id(&ExternalSystem::Fortnox, &erp("1001"))
            .is_none()
    );
    book.set_external_id(&id("b"), ExternalSystem::Fortnox, erp("1001"))
        .unwrap();
    assert_eq!(
        book.remove_external_id(&id("b"), &ExternalSystem::Fortnox)
            .unwrap(),
        erp("1001")
    );
    assert!(
        refused(&book, |b| b
            .remove_external_id(&id("b"), &ExternalSystem::Fortnox))
        .contains("has no fortnox id")
    );
    book.check_invariants().unwrap();
}

#[test]
fn dismiss_removes_and_remembers_the_key() {
    let mut book = book_with(&[("p", Pending), ("a", Active)]);
    book.dismiss(&id("p")).unwrap();
    assert!(book.get(&id("p")).is_none());
    assert!(book.is_dismissed(&AccountKey::new("key-p").unwrap()));
    let msg = refused(&book, |b| b.add_discovered(account("p", Currency::SEK)));
    assert_eq!(
        msg,
        "account key \"key-p\" was dismissed; it is not proposed again"
    );
    assert!(refused(&book, |b| b.dismiss(&id("a"))).contains("is Active: cannot dismiss"));
    // A person may still add the customer by hand.
    book.add(account("p", Currency::SEK)).unwrap();
}

#[test]
fn discovered_accounts_are_pending() {
    let mut book = AccountBook::new();
    book.add_discovered(account("d", Currency::EUR)).unwrap();
    assert_eq!(book.get(&id("d")).unwrap().state(), Pending);
    book.approve(&id("d")).unwrap();
    assert_eq!(book.get(&id("d")).unwrap().state(), Active);
}

#[test]
fn group_rules() {
    let mut book = book_with(&[
        ("m", Active),
        ("c", Active),
        ("c2", Active),
        ("p", Pending),
        ("x", Archived),
    ]);
    assert_eq!(
        refused(&book, |b| b.link(&id("m"), &id("m"))),
        "account \"m\" cannot be its own master"
    );
    assert!(refused(&book, |b| b.link(&id("p"), &id("m"))).contains("is Pending: cannot link"));
    assert!(refused(&book, |b| b.link(&id("c"), &id("p"))).contains("is Pending: cannot link"));
    assert!(refused(&book, |b| b.link(&id("x"), &id("m"))).contains("is Archived: cannot link"));
    book.link(&id("c"), &id("m")).unwrap();
    assert!(refused(&book, |b| b.link(&id("c"), &id("c2"))).contains("already a child of \"m\""));
    assert!(refused(&book, |b| b.link(&id("c2"), &id("c"))).contains("cannot be a master"));
    assert!(refused(&book, |b| b.link(&id("m"), &id("c2"))).contains("cannot become a child"));
    assert!(
        refused(&book, |b| b.set_group_billing(&id("c"), true))
            .contains("only a master has group billing")
    );
    book.set_group_billing(&id("m"), true).unwrap();
    let children: Vec<&AccountId> = book.children(&id("m")).map(Account::id).collect();
    assert_eq!(children, vec![&id("c")]);
    book.unlink(&id("c")).unwrap();
    assert_eq!(book.children(&id("m")).count(), 0);
    assert_eq!(
        refused(&book, |b| b.unlink(&id("c"))),
        "account \"c\" has no master"
    );
    book.check_invariants().unwrap();
}

#[test]
fn archiving_a_master_with_live_children_is_refused_and_lists_them() {
    let mut book = book_with(&[("m", Active), ("c1", Active), ("c2", Active)]);
    book.link(&id("c1"), &id("m")).unwrap();
    book.link(&id("c2"), &id("m")).unwrap();
    let msg = refused(&book, |b| b.archive(&id("m")));
    assert_eq!(
        msg,
        "account \"m\" is the master of non-archived accounts \"c1\", \"c2\": archive or unlink them first"
    );
    book.archive(&id("c1")).unwrap();
    book.unlink(&id("c2")).unwrap();
    book.archive(&id("m")).unwrap();
    // The archived child keeps its link; it cannot come back before its master.
    assert_eq!(book.get(&id("c1")).unwrap().master(), Some(&id("m")));
    assert!(refused(&book, |b| b.restore(&id("c1"))).contains("restore the master first"));
    book.restore(&id("m")).unwrap();
    book.restore(&id("c1")).unwrap();
    book.check_invariants().unwrap();
}

#[test]
fn children_limit_at_and_past() {
    let mut book = AccountBook::new();
    book.add(account("m", Currency::SEK)).unwrap();
    let n = MAX_CHILDREN_PER_MASTER;
    for i in 0..n {
        let child = account(&format!("c{i}"), Currency::SEK);
        let cid = child.id().clone();
        book.add(child).unwrap();
        book.link(&cid, &id("m")).unwrap();
    }
    assert_eq!(book.children(&id("m")).count(), n);
    book.add(account("one-more", Currency::SEK)).unwrap();
    let msg = refused(&book, |b| b.link(&id("one-more"), &id("m")));
    assert_eq!(
        msg,
        format!("account \"m\" would exceed the limit of {n} children")
    );
}

#[test]
fn tags_limit_at_and_past() {
    let mut book = book_with(&[("a", Active)]);
    for i in 0..MAX_TAGS_PER_ACCOUNT {
        book.tag(&id("a"), Tag::new(&format!("t{i}")).unwrap())
            .unwrap();
    }
    // Re-adding a present tag (in another case) is fine at the limit.
    book.tag(&id("a"), Tag::new("T0").unwrap()).unwrap();
    let msg = refused(&book, |b| b.tag(&id("a"), Tag::new("new").unwrap()));
    assert_eq!(
        msg,
        format!("account \"a\" would exceed the limit of {MAX_TAGS_PER_ACCOUNT} tags")
    );
    book.untag(&id("a"), &Tag::new("t0").unwrap()).unwrap();
    book.tag(&id("a"), Tag::new("new").unwrap()).unwrap();
}

#[test]
fn filter_by_state_and_tags() {
    let mut book = book_with(&[("a", Active), ("b", Active), ("p", Pending)]);
    book.tag(&id("a"), Tag::new("eu").unwrap()).unwrap();
    book.tag(&id("p"), Tag::new("EU").unwrap()).unwrap();
    let eu = TagFilter::All(vec![Tag::new("eu").unwrap()]);
    let ids = |it: Vec<&Account>| {
        it.into_iter()
            .map(|a| a.id().as_str().to_owned())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(book.filter(None, Some(&eu)).collect()), vec!["a", "p"]);
    assert_eq!(
        ids(book.filter(Some(Active), Some(&eu)).collect()),
        vec!["a"]
    );
    let not_eu = TagFilter::None(vec![Tag::new("eu").unwrap()]);
    assert_eq!(ids(book.filter(None, Some(&not_eu)).collect()), vec!["b"]);
    assert_eq!(ids(book.filter(Some(Pending), None).collect()), vec!["p"]);
}

#[test]
fn serde_round_trip_rebuilds_indexes_and_checks_invariants() {
    let mut book = book_with(&[("m", Active), ("c", Active), ("p", Pending)]);
    book.link(&id("c"), &id("m")).unwrap();
    book.set_group_billing(&id("m"), true).unwrap();
    book.set_external_id(&id("m"), ExternalSystem::Kleer, erp("K-1"))
        .unwrap();
    book.dismiss(&id("p")).unwrap();
    let json = serde_json::to_string(&book).unwrap();
    let back: AccountBook = serde_json::from_str(&json).unwrap();
    assert_eq!(back, book);
    assert_eq!(back.children(&id("m")).count(), 1);
    assert!(
        back.by_external_id(&ExternalSystem::Kleer, &erp("K-1"))
            .is_some()
    );
    // A file edited to make an account its own master is refused on load.
    let broken = json.replace("\"master\":\"m\"", "\"master\":\"c\"");
    assert!(serde_json::from_str::<AccountBook>(&broken).is_err());
}

#[test]
fn a_loaded_book_refuses_repeated_ids_keys_and_external_ids() {
    let mut book = book_with(&[("a", Active), ("b", Active), ("c", Active)]);
    book.set_external_id(&id("a"), ExternalSystem::Kleer, erp("K-1"))
        .unwrap();
    book.set_external_id(&id("b"), ExternalSystem::Kleer, erp("K-2"))
        .unwrap();
    let json = serde_json::to_string(&book).unwrap();
    let refused = |edited: &str| match serde_json::from_str::<AccountBook>(edited) {
        Ok(_) => panic!("an edited book was loaded: {edited}"),
        Err(e) => e.to_string(),
    };
    // The later account in id order is the one named.
    let keys = refused(&json.replace("\"key\":\"key-c\"", "\"key\":\"key-a\""));
    assert!(
        keys.contains("keys are unique") && keys.contains("c"),
        "{keys}"
    );
    let ids = refused(&json.replace("\"id\":\"c\"", "\"id\":\"b\""));
    assert!(ids.contains("ids are unique") && ids.contains("b"), "{ids}");
    let external = refused(&json.replace("K-2", "K-1"));
    assert!(
        external.contains("belongs to one account") && external.contains("b"),
        "{external}"
    );
    // Accounts out of id order load as the same book, its indexes whole.
    let mut value: serde_json::Value = serde_json::from_str(&json).unwrap();
    value["accounts"].as_array_mut().unwrap().reverse();
    let back: AccountBook = serde_json::from_value(value).unwrap();
    assert_eq!(back, book);
    back.check_invariants().unwrap();
}

#[test]
fn refused_action_messages() {
    let mut book = book_with(&[
        ("m", Active),
        ("c", Active),
        ("p", Pending),
        ("x", Archived),
        ("y", Active),
    ]);
    book.link(&id("c"), &id("m")).unwrap();
    book.set_external_id(&id("m"), ExternalSystem::Fortnox, erp("1001"))
        .unwrap();
    book.dismiss(&id("p")).unwrap();
    book.add(account("p2", Currency::SEK).with_state(Pending))
        .unwrap();
    let mut messages: Vec<String> = vec![
        refused(&book, |b| b.approve(&id("m"))),
        refused(&book, |b| b.approve(&id("nobody"))),
        refused(&book, |b| b.archive(&id("p2"))),
        refused(&book, |b| b.archive(&id("m"))),
        refused(&book, |b| b.restore(&id("m"))),
        refused(&book, |b| b.dismiss(&id("x"))),
        refused(&book, |b| b.link(&id("y"), &id("y"))),
        refused(&book, |b| b.link(&id("p2"), &id("m"))),
        refused(&book, |b| b.link(&id("y"), &id("c"))),
        refused(&book, |b| b.link(&id("m"), &id("y"))),
        refused(&book, |b| b.link(&id("c"), &id("y"))),
        refused(&book, |b| b.unlink(&id("y"))),
        refused(&book, |b| b.set_group_billing(&id("c"), true)),
        refused(&book, |b| {
            b.set_external_id(&id("y"), ExternalSystem::Fortnox, erp("1001"))
        }),
        refused(&book, |b| b.add_discovered(account("p", Currency::SEK))),
        refused(&book, |b| b.add(account("y", Currency::SEK))),
    ];
    messages.push(Tag::new("").unwrap_err().to_string());
    messages.push(AccountName::new("\u{0}x").unwrap_err().to_string());
    messages.push(Email::new("billing(at)acme.se").unwrap_err().to_string());
    messages.push(Country::new("Sweden").unwrap_err().to_string());
    insta::assert_yaml_snapshot!(messages);
}
