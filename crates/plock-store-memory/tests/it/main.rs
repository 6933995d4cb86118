//! plock-store-memory's integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod contract;
mod corpus;
mod durability;
mod reimport;
