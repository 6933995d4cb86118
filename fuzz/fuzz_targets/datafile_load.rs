//! Any bytes given to the data-file loader: an error or a store, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use plock_store_memory::{MemoryStore, Snapshot, decode};

fuzz_target!(|data: &[u8]| {
    if let Ok(snapshot) = decode::<Snapshot>(data) {
        let _ = MemoryStore::from_snapshot(snapshot);
    }
});
