//! Data generators for plock benchmarks.
