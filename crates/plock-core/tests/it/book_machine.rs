//! A state-machine property of the account book: random sequences of actions, with every
//! invariant checked after every step and every refused step checked to change nothing.

use std::collections::BTreeSet;

use plock_core::account::*;
use plock_core::book::*;
use plock_core::id::*;
use plock_core::money::*;
use proptest::prelude::*;

use crate::fixtures::account;

const ACCOUNTS: usize = 6;

#[derive(Debug, Clone)]
enum Op {
    Add(usize, AccountState),
    Discover(usize),
    Approve(usize),
    Dismiss(usize),
    Archive(usize),
    Restore(usize),
    Link(usize, usize),
    Unlink(usize),
    GroupBilling(usize, bool),
    Tag(usize, &'static str),
    Untag(usize, &'static str),
    SetExternalId(usize, usize, &'static str),
}

fn systems() -> [ExternalSystem; 3] {
    [
        ExternalSystem::Fortnox,
        ExternalSystem::HubSpot,
        ExternalSystem::Kleer,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..ACCOUNTS;
    let state = prop_oneof![
        Just(AccountState::Active),
        Just(AccountState::Pending),
        Just(AccountState::Archived)
    ];
    let tag = prop_oneof![Just("eu"), Just("EU"), Just("smb"), Just("tier-1")];
    let ext = prop_oneof![Just("1"), Just("2"), Just("3")];
    prop_oneof![
        (i.clone(), state).prop_map(|(i, s)| Op::Add(i, s)),
        i.clone().prop_map(Op::Discover),
        i.clone().prop_map(Op::Approve),
        i.clone().prop_map(Op::Dismiss),
        i.clone().prop_map(Op::Archive),
        i.clone().prop_map(Op::Restore),
        (i.clone(), i.clone()).prop_map(|(c, m)| Op::Link(c, m)),
        (i.clone(), i.clone()).prop_map(|(c, m)| Op::Link(c, m)),
        i.clone().prop_map(Op::Unlink),
        (i.clone(), any::<bool>()).prop_map(|(m, on)| Op::GroupBilling(m, on)),
        (i.clone(), tag.clone()).prop_map(|(i, t)| Op::Tag(i, t)),
        (i.clone(), tag).prop_map(|(i, t)| Op::Untag(i, t)),
        (i, 0..3usize, ext).prop_map(|(i, s, e)| Op::SetExternalId(i, s, e)),
    ]
}

fn name(i: usize) -> String {
    format!("a{i}")
}

fn aid(i: usize) -> AccountId {
    AccountId::new(name(i)).unwrap()
}

fn apply(book: &mut AccountBook, op: &Op) -> Result<(), AccountError> {
    match op {
        Op::Add(i, state) => book.add(account(&name(*i), Currency::SEK).with_state(*state)),
        Op::Discover(i) => book.add_discovered(account(&name(*i), Currency::SEK)),
        Op::Approve(i) => book.approve(&aid(*i)),
        Op::Dismiss(i) => book.dismiss(&aid(*i)).map(drop),
        Op::Archive(i) => book.archive(&aid(*i)),
        Op::Restore(i) => book.restore(&aid(*i)),
        Op::Link(c, m) => book.link(&aid(*c), &aid(*m)),
        Op::Unlink(c) => book.unlink(&aid(*c)),
        Op::GroupBilling(m, on) => book.set_group_billing(&aid(*m), *on),
        Op::Tag(i, t) => book.tag(&aid(*i), Tag::new(t).unwrap()),
        Op::Untag(i, t) => book.untag(&aid(*i), &Tag::new(t).unwrap()),
        Op::SetExternalId(i, s, e) => {
            book.set_external_id(&aid(*i), systems()[*s].clone(), ExternalId::new(e).unwrap())
        }
    }
}

/// The invariants, computed from the public API alone (independently of check_invariants).
fn check(book: &AccountBook) -> Result<(), TestCaseError> {
    book.check_invariants()
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mut pairs = BTreeSet::new();
    for a in book.iter() {
        if let Some(master_id) = a.master() {
            prop_assert_ne!(master_id, a.id(), "an account is its own master");
            let master = book.get(master_id).expect("the master exists");
            prop_assert!(master.master().is_none(), "depth above one at {}", a.id());
            prop_assert!(
                a.state() != AccountState::Pending && master.state() != AccountState::Pending
            );
            if a.state() == AccountState::Active {
                prop_assert_eq!(master.state(), AccountState::Active);
            }
            prop_assert!(book.children(master_id).any(|c| c.id() == a.id()));
        }
        if a.state() == AccountState::Archived {
            // An archived account is never the master of a live child.
            prop_assert!(
                book.children(a.id())
                    .all(|c| c.state() == AccountState::Archived)
            );
        }
        for (system, ext) in a.external_ids().iter() {
            prop_assert!(
                pairs.insert((system.clone(), ext.clone())),
                "duplicate {system} id {ext}"
            );
            prop_assert_eq!(
                book.by_external_id(system, ext).map(Account::id),
                Some(a.id())
            );
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn account_book_state_machine(ops in prop::collection::vec(op(), 1..60)) {
        let mut book = AccountBook::new();
        for op in &ops {
            let before = book.clone();
            match apply(&mut book, op) {
                Ok(()) => {}
                Err(_) => prop_assert_eq!(&book, &before, "refused {:?} changed the book", op),
            }
            check(&book)?;
            // The book survives a round trip through its persisted form.
            let json = serde_json::to_string(&book).unwrap();
            let back: AccountBook = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(&back, &book);
        }
    }
}
