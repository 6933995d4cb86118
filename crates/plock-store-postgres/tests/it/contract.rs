//! The store contract, each check on a fresh schema.

use crate::support::{fresh_store, server};

#[test]
fn postgres_store_passes_the_contract() {
    let Some(server) = server("postgres_store_passes_the_contract") else {
        return;
    };
    plock_core::contract::run_all(|| fresh_store(&server));
}
