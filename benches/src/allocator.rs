//! The calls into mimalloc the benchmarks make beyond allocating: returning freed memory, and
//! how long freed memory is kept before it is returned.

// Foreign calls are unsafe by nature; `mi_collect` and `mi_option_set` take no pointer and are
// safe to call from any thread at any time (mimalloc's documentation), whatever allocator is
// global.
#![allow(unsafe_code)]

use std::ffi::{c_int, c_long};
use std::time::Duration;

unsafe extern "C" {
    /// mimalloc's `void mi_collect(bool force)`, linked from libmimalloc-sys's C library.
    fn mi_collect(force: bool);
    /// mimalloc's `void mi_option_set(mi_option_t option, long value)`.
    fn mi_option_set(option: c_int, value: c_long);
}

/// `mi_option_purge_delay` in `mi_option_t` (the 16th option in both mimalloc v2's and v3's
/// `mimalloc.h`): milliseconds freed memory stays committed before it goes back to the OS.
const PURGE_DELAY: c_int = 15;

/// Returns the memory this thread's mimalloc heap and the arenas hold freed to the OS, so
/// the resident figures after it count what the program holds, not what an earlier step
/// (such as generating the data) freed. Freed memory of other threads' heaps is returned
/// when those threads next collect.
pub fn release_freed() {
    // SAFETY: no arguments but a flag; mimalloc may be called at any time.
    unsafe { mi_collect(true) }
}

/// Keeps freed memory committed for `delay` before returning it to the OS (mimalloc's
/// default is one second), unless `MIMALLOC_PURGE_DELAY` says otherwise.
///
/// Repeated calls of a step reuse what the previous call freed only while it is still
/// committed: a 0.15 s run at M always could, a 2 s run at L lost half of it to the default
/// delay and faulted it back in on fresh pages (about 2 us a 4 KiB page on a shared 2-core VM),
/// so the two scales' medians measured different things.
pub fn keep_freed_for(delay: Duration) {
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
        return;
    }
    let ms = c_long::try_from(delay.as_millis()).unwrap_or(c_long::MAX);
    // SAFETY: an option number and a value; mimalloc may be called at any time.
    unsafe { mi_option_set(PURGE_DELAY, ms) }
}
