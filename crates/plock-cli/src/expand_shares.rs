//! Adoption scores and usage signals over a company a share of accounts at a time, so a
//! progress bar can count accounts as they are scored. Core scores each (account, product)
//! from that account's subscriptions and usage alone, so a share holding whole accounts gives
//! exactly their part of the company's result, in the same order.

use std::collections::HashMap;

use plock_core::expand::ExpandError;
use plock_core::store::CompanySnapshot;
use plock_core::{AccountKey, Subscription, UsageRecord};

use crate::progress::Progress;

/// How many shares a company is scored in: enough for a bar that moves smoothly, few enough
/// that the per-call work of core stays small.
pub const SHARES: usize = 64;

/// One share: whole accounts' subscriptions and usage.
struct Share {
    subscriptions: Vec<Subscription>,
    usage: Vec<UsageRecord>,
}

/// Splits the company's subscriptions and usage into about `shares` shares of whole accounts,
/// in account id order; a subscription keeps its place among its account's. Usage of an
/// account without subscriptions is scored by no one and left out.
fn split(company: &mut CompanySnapshot, shares: usize) -> Vec<Share> {
    let mut subscriptions = std::mem::take(&mut company.subscriptions);
    subscriptions.sort_by(|a, b| a.account().cmp(b.account()));
    let per_share = subscriptions.len().div_ceil(shares.max(1)).max(1);
    let mut out: Vec<Share> = Vec::new();
    let mut share_of: HashMap<AccountKey, usize> = HashMap::new();
    for sub in subscriptions {
        let same_account = out
            .last()
            .and_then(|s| s.subscriptions.last())
            .is_some_and(|last| last.account() == sub.account());
        let full = out
            .last()
            .is_none_or(|s| s.subscriptions.len() >= per_share);
        if full && !same_account {
            out.push(Share {
                subscriptions: Vec::new(),
                usage: Vec::new(),
            });
        }
        let index = out.len().saturating_sub(1);
        if let Some(account) = company.accounts.get(sub.account()) {
            share_of.insert(account.key().clone(), index);
        }
        if let Some(share) = out.last_mut() {
            share.subscriptions.push(sub);
        }
    }
    for record in std::mem::take(&mut company.usage) {
        if let Some(share) = share_of.get(record.account()).and_then(|i| out.get_mut(*i)) {
            share.usage.push(record);
        }
    }
    out
}

/// `score` over `company` share by share, the bar counting subscriptions scored.
///
/// # Errors
/// The first error of `score`.
pub fn in_shares<T>(
    mut company: CompanySnapshot,
    shares: usize,
    what: &str,
    score: impl Fn(&CompanySnapshot) -> Result<Vec<T>, ExpandError>,
) -> Result<Vec<T>, ExpandError> {
    let bar = Progress::bar(
        u64::try_from(company.subscriptions.len()).unwrap_or(u64::MAX),
        what,
        "subscriptions",
    );
    let mut all = Vec::new();
    for share in split(&mut company, shares) {
        let count = share.subscriptions.len();
        company.subscriptions = share.subscriptions;
        company.usage = share.usage;
        all.extend(score(&company)?);
        bar.inc(count);
    }
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;
    use plock_core::Store;
    use plock_core::expand::{company_adoption, company_signals};
    use plock_core::import::{parse_usage, plan_account_import, plan_subscription_import};
    use plock_core::store::{Batch, Change};

    /// The sample company of docs/csv: an account with two subscriptions, usage of several.
    fn sample() -> CompanySnapshot {
        let day = chrono::NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
        let mut store = plock_store_sqlite::SqliteStore::in_memory().unwrap();
        let accounts = include_bytes!("../../../docs/csv/accounts.csv");
        let batch = plan_account_import(accounts, &store.account_book().unwrap(), day).unwrap();
        store.apply(batch).unwrap();
        let c = store.company().unwrap();
        let subscriptions = include_bytes!("../../../docs/csv/subscriptions.csv");
        let batch =
            plan_subscription_import(subscriptions, &c.accounts, &c.subscriptions, &c.metrics)
                .unwrap();
        store.apply(batch).unwrap();
        let usage = include_bytes!("../../../docs/csv/usage.csv");
        let records = parse_usage(usage, &store.account_book().unwrap()).unwrap();
        store
            .apply(Batch::one(Change::AddUsage { records }))
            .unwrap();
        store.company().unwrap()
    }

    #[test]
    fn shares_give_the_whole_company_result_in_its_order() {
        let mut store = plock_store_sqlite::SqliteStore::in_memory().unwrap();
        crate::demo::run(&mut store).unwrap();
        let demo = store.company().unwrap();
        for company in [sample(), demo] {
            for date in ["2025-01-20", "2025-02-01", "2025-03-20", "2025-04-01"] {
                let date: chrono::NaiveDate = date.parse().unwrap();
                let adoption = company_adoption(&company, date).unwrap();
                let signals = company_signals(&company, date).unwrap();
                assert!(!adoption.is_empty());
                for shares in [1, 2, 3, 7, 100] {
                    let split = in_shares(company.clone(), shares, "scoring", |c| {
                        company_adoption(c, date)
                    })
                    .unwrap();
                    assert_eq!(split, adoption, "{shares} shares on {date}");
                    let split = in_shares(company.clone(), shares, "scoring", |c| {
                        company_signals(c, date)
                    })
                    .unwrap();
                    assert_eq!(split, signals, "{shares} shares on {date}");
                }
            }
        }
    }
}
