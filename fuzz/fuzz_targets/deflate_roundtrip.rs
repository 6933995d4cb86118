//! The SQLite store's deflate encoder on documents the fuzzer chooses, one after another with
//! one encoder: each stream reads back through flate2's zlib decoder as its document (a
//! difference panics).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plock_store_sqlite::fuzzing::deflate_roundtrip(data);
});
