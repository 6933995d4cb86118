//! The subscription file an operator writes, TOML or JSON: read, its items priced, or refused
//! with an error; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plock_core::fuzzing::subscription_file(data);
});
