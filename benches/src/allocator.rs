//! The one call into mimalloc the benchmarks make beyond allocating: returning freed memory.

// A foreign call is unsafe by nature; `mi_collect` takes no pointer and is safe to call
// from any thread at any time (mimalloc's documentation), whatever allocator is global.
#![allow(unsafe_code)]

unsafe extern "C" {
    /// mimalloc's `void mi_collect(bool force)`, linked from libmimalloc-sys's C library.
    fn mi_collect(force: bool);
}

/// Returns the memory this thread's mimalloc heap and the arenas hold freed to the OS, so
/// the resident figures after it count what the program holds, not what an earlier step
/// (such as generating the data) freed. Freed memory of other threads' heaps is returned
/// when those threads next collect.
pub fn release_freed() {
    // SAFETY: no arguments but a flag; mimalloc may be called at any time.
    unsafe { mi_collect(true) }
}
