//! The usage checker a usage import runs on every row, against `parse_usage` of the same rows:
//! the same block or the same problems, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plock_core::fuzzing::usage_check(data);
});
