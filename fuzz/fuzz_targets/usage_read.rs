//! Any bytes given to streaming usage reading: the first chooses a layout, the second a chunk
//! size, the rest is the CSV. Read in chunks and whole, the same table or the same problems,
//! never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    plock_core::fuzzing::usage_read(data);
});
