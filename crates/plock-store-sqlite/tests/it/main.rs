//! plock-store-sqlite's integration tests.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod book_marked;
mod book_read;
mod compact_runs;
mod concurrency;
mod contract;
mod corpus;
mod differential;
mod files;
mod key_blocks;
mod made_up_ids;
mod operate;
mod run_record;
mod stored_items;
mod support;
mod values;
mod watermarks;
