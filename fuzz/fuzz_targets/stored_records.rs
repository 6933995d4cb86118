//! Records as a store keeps them, read back from a damaged or tampered file: the first byte
//! chooses the kind, the rest is the JSON. What reads writes back as itself, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plock_core::fuzzing::stored_records(data);
});
