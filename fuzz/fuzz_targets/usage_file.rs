//! The usage file as `plock import usage` reads it, a chunk at a time, against `parse_usage`
//! of the whole file: both accept with the same records, or both refuse; never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plock_core::fuzzing::usage_file(data);
});
