//! Any bytes given to the accounts_import entry point: an error or a plan, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plock_core::fuzzing::accounts_import(data);
});
