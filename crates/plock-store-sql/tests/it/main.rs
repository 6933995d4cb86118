//! plock-store-sql's integration tests: the plan of a batch's account writes, and rows by
//! column name.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod plan;
mod rows;
