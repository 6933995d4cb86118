//! The store contract, run against the memory store, directly and through a data-file round trip.

use plock_core::Store;
use plock_store_memory::{MemoryStore, Snapshot, decode, encode};

#[test]
fn memory_store_passes_the_contract() {
    plock_core::contract::run_all(MemoryStore::new);
}

/// The same contract on stores that were saved and loaded between every batch would need a
/// wrapper; this checks the snapshot round trip keeps everything the contract reads.
#[test]
fn snapshot_round_trip_is_lossless() {
    let mut store = MemoryStore::new();
    plock_core::contract::billing_runs(&mut store);
    let bytes = encode(&store.snapshot()).unwrap();
    let back = MemoryStore::from_snapshot(decode::<Snapshot>(&bytes).unwrap()).unwrap();
    assert_eq!(back, store);
    assert_eq!(back.company().unwrap(), store.company().unwrap());
}
