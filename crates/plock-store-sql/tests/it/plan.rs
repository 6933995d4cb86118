//! Which account rows differ after a batch, and the statements that write them.

use plock_core::AccountBook;
use plock_core::contract::fixtures::{account, aid};
use plock_core::money::Currency;
use plock_core::store::{Change, apply_to_book};
use plock_store_sql::SqlValue;
use plock_store_sql::plan::AccountWrites;

/// The book after `changes`, applied in order.
fn book_after(book: &AccountBook, changes: Vec<Change>) -> AccountBook {
    let mut book = book.clone();
    for (index, change) in changes.iter().enumerate() {
        apply_to_book(&mut book, index, change).unwrap();
    }
    book
}

/// A master `m` with a child `c`, group billing off.
fn group() -> AccountBook {
    book_after(
        &AccountBook::new(),
        vec![
            Change::AddAccount {
                account: account("m", "key-m", Currency::EUR),
            },
            Change::AddAccount {
                account: account("c", "key-c", Currency::EUR),
            },
            Change::Link {
                child: aid("c"),
                master: aid("m"),
            },
        ],
    )
}

fn ids(rows: &[Vec<SqlValue>]) -> Vec<SqlValue> {
    rows.iter().map(|row| row[0].clone()).collect()
}

fn text(s: &str) -> SqlValue {
    SqlValue::Text(s.into())
}

#[test]
fn an_account_is_rewritten_only_when_one_of_the_stores_columns_differs() {
    let original = group();
    let work = book_after(
        &original,
        vec![Change::SetGroupBilling {
            master: aid("m"),
            on: true,
        }],
    );
    // The child's invoice owner moved to its master: a store with an owner column rewrites it.
    let with_owner = AccountWrites::plan(&original, &work, "id, owner, key").unwrap();
    assert_eq!(ids(&with_owner.updated), [text("c")]);
    assert_eq!(with_owner.updated[0][1], text("m"));
    // Without one, only the master's own row changed.
    let without = AccountWrites::plan(&original, &work, "id, key, group_billing").unwrap();
    assert_eq!(ids(&without.updated), [text("m")]);
    assert!(without.inserted.is_empty() && without.deleted.is_empty());
}

#[test]
fn a_dismissed_account_is_removed_before_its_key_is_written_again() {
    let original = book_after(
        &AccountBook::new(),
        vec![Change::AddDiscovered {
            account: account("p", "key-p", Currency::EUR),
        }],
    );
    let work = book_after(&original, vec![Change::Dismiss { id: aid("p") }]);
    let writes = AccountWrites::plan(&original, &work, "id, key").unwrap();
    assert_eq!(writes.deleted, ["p"]);
    assert_eq!(writes.dismissed_keys, ["key-p"]);
    let removals = writes.removals(|_, n| format!("?{n}"));
    assert_eq!(removals.len(), 1);
    assert_eq!(removals[0].sql, "DELETE FROM accounts WHERE id = ?1");
    assert_eq!(removals[0].values, [text("p")]);
    let dismissals = writes.dismissals(|_, n| format!("${n}"));
    assert_eq!(
        dismissals[0].sql,
        "INSERT INTO dismissed_keys (key) VALUES ($1) ON CONFLICT DO NOTHING"
    );
}

#[test]
fn a_column_the_table_lacks_is_an_error_naming_it() {
    let error = AccountWrites::plan(&AccountBook::new(), &group(), "id, colour")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("accounts") && error.contains("\"colour\""),
        "{error}"
    );
}
