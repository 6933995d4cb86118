//! Any bytes given to bulk usage ingestion: the table or the problems the usage importer
//! gives for the same bytes, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plock_core::fuzzing::usage_ingest(data);
});
