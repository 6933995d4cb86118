//! plock-store-postgres's integration tests, against the server `PLOCK_TEST_POSTGRES` names
//! (`.ci/postgres.sh run cargo test -p plock-store-postgres` starts one). Without it, each
//! test prints a notice and passes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod concurrency;
mod contract;
mod import;
mod run_read;
mod schema;
mod support;
mod values;
