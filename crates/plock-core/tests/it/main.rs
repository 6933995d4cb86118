//! plock-core's integration tests: one binary, one module per area.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod billed_usage_order;
mod billing_props;
mod billing_scenario;
mod book;
mod book_machine;
mod discovery_sync;
mod fast_run;
mod fixtures;
mod import;
mod isolation;
mod kinds;
mod late_usage;
mod over_time_model;
mod payment_terms;
mod periods;
mod price_changes;
mod product_totals;
mod product_view;
mod read_usage;
mod reimport;
mod restore_commitment;
mod restore_credits;
mod run_progress;
mod small_rules;
