//! The store contract, on databases in memory and in files.

use std::cell::Cell;

use plock_store_sqlite::SqliteStore;

use crate::support::temp_dir;

#[test]
fn in_memory_store_passes_the_contract() {
    plock_core::contract::run_all(|| SqliteStore::in_memory().unwrap());
}

#[test]
fn file_store_passes_the_contract() {
    let dir = temp_dir();
    let n = Cell::new(0);
    plock_core::contract::run_all(|| {
        n.set(n.get() + 1);
        SqliteStore::create(dir.path().join(format!("company-{}.plock", n.get()))).unwrap()
    });
}
