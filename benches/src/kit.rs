//! The billing benchmark kit (`../shared/bench-kit`) run through plock: its CSV files read
//! with plock-core's public API as a user's program would, billed on the kit's run date, and
//! its four result files written for the kit's `compare.py`.
//!
//! The kit's mapping: accounts are Active plock accounts keyed by their numeric id; every
//! subscription bills on its account's period (MONTHLY, QUARTERLY, or ANNUAL from 1 April) and
//! practice (ARREARS in arrears, ADVANCE in advance) on calendar periods; masters bill their
//! children's lines when both share period and practice (plock's group billing); all earlier
//! periods were billed by earlier runs.

mod billing;
mod counters;
mod load;
mod memory;
mod output;
mod results;
mod rows;
mod usage;

use std::collections::HashMap;

use chrono::NaiveDate;
use plock_core::period::Period;
use plock_core::{AccountBook, BillingInterval, BillingPractice, Currency, Metric, Subscription};

pub use billing::{BATCH, Taking, bill, history};
pub use counters::Counters;
pub use load::load_rest;
pub use memory::structures;
pub use output::{Aggregates, Written, aggregates, write_results};
pub use results::{KitInvoice, KitLine, KitResults};
pub use usage::load_usage;

/// The kit's run date, 2025-04-01: every account's current period ends on it.
pub const RUN_DATE: NaiveDate = match NaiveDate::from_ymd_opt(2025, 4, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// The kit's company in plock's types, with what the kit says of each account.
pub struct Company {
    /// The accounts, children linked to their masters.
    pub book: AccountBook,
    /// Every subscription, activated.
    pub subscriptions: Vec<Subscription>,
    /// The metric catalogue.
    pub metrics: Vec<Metric>,
    /// The kit's accounts by numeric id.
    pub accounts: HashMap<u64, KitAccount>,
}

/// One of the kit's accounts: its billing period and practice, master and usage window.
#[derive(Debug, Clone)]
pub struct KitAccount {
    /// The billing period, as an interval.
    pub interval: BillingInterval,
    /// The billing practice.
    pub practice: BillingPractice,
    /// The currency.
    pub currency: Currency,
    /// The master, for a child.
    pub master: Option<u64>,
    /// The period ending on the run date (its subscriptions' current period).
    pub window: Option<Period>,
}

impl Company {
    /// The invoice owner of `account`: its master when both have the same billing period and
    /// practice, else the account itself.
    pub fn owner(&self, account: u64) -> u64 {
        let Some(kit) = self.accounts.get(&account) else {
            return account;
        };
        match kit
            .master
            .and_then(|m| self.accounts.get(&m).map(|k| (m, k)))
        {
            Some((master, its)) if its.interval == kit.interval && its.practice == kit.practice => {
                master
            }
            _ => account,
        }
    }
}
