//! Data generators for plock benchmarks: deterministic, so every run measures the same work.

#[cfg(feature = "alloc-stats")]
pub mod alloc_stats;
pub mod allocator;
pub mod company;
pub mod kit;
pub mod usage_csv;

use plock_core::store::CompanySnapshot;
use plock_core::{CompanyData, UsageTable};

/// The billing run's view of a generated company and its usage table.
pub fn table_data<'a>(company: &'a CompanySnapshot, usage: &'a UsageTable) -> CompanyData<'a> {
    company.data(usage)
}

use std::fmt::Write;

use chrono::NaiveDate;

/// This process's peak resident memory (VmHWM), in bytes; 0 where /proc is not there.
pub fn peak_rss_bytes() -> u64 {
    status_bytes("VmHWM:")
}

/// Starts a new peak: from here on [`peak_rss_bytes`] is the peak since this call (Linux's
/// `clear_refs` 5); returns whether the kernel took it.
pub fn reset_peak_rss() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

/// This process's resident memory now (VmRSS), in bytes; 0 where /proc is not there.
pub fn rss_bytes() -> u64 {
    status_bytes("VmRSS:")
}

/// Processor time of the whole process (every thread) so far, user and system, in clock ticks
/// of 10 ms: steadier than wall time on a shared machine; 0 where /proc is not there.
pub fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which may hold spaces): utime and stime are 12th and 13th.
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    after
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|t| t.parse::<u64>().ok())
        .sum()
}

fn status_bytes(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).map(str::to_owned))
        .and_then(|l| {
            l.split_whitespace()
                .nth(1)
                .and_then(|kb| kb.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb.saturating_mul(1024))
}

/// The import date used by the generated files.
pub const DAY: NaiveDate = match NaiveDate::from_ymd_opt(2025, 1, 1) {
    Some(d) => d,
    None => NaiveDate::MIN,
};

/// An accounts CSV and a subscriptions CSV of `n` rows each: 2% masters with group billing,
/// 10% children, tags, Fortnox ids, and subscriptions of every price model.
pub fn import_files(n: usize) -> (String, String) {
    let mut accounts =
        String::from("key,name,currency,email,country,tags,master_key,group_billing,ext_fortnox\n");
    let masters = (n / 50).max(1);
    for i in 0..n {
        let (master, group) = if i < masters {
            ("", "true")
        } else if i % 10 == 0 {
            // Children, skewed towards the first masters.
            let m = (i / 10) % masters.min(1 + i % 97);
            (&*format!("acct-{m:07}"), "")
        } else {
            ("", "")
        };
        let _ = writeln!(
            accounts,
            "acct-{i:07},Customer {i} AB,EUR,billing{i}@customer.example,SE,tier-{}|region-{},{master},{group},{}",
            i % 3,
            i % 7,
            100_000 + i
        );
    }
    let mut subs = String::from(
        "subscription_id,account_key,start,currency,product,metric,aggregation,model,price,quantity,tiers,rebate_percent\n",
    );
    for i in 0..n {
        let row = match i % 6 {
            0 => "licence,,,flat_fee,450.00,1,,10".to_owned(),
            1 => "api,api_calls,sum,per_unit,0.002,,,".to_owned(),
            2 => "emails,emails,sum,graduated,,,10000:0.010:|100000:0.008:|:0.005:,".to_owned(),
            3 => "users,seats,max,volume,,,100:5.00:|1000:4.00:|:3.00:,".to_owned(),
            4 => "sms,sms,sum,package,2.50,1000,,".to_owned(),
            _ => "storage,gb,average,commitment,0.25,100,,".to_owned(),
        };
        let _ = writeln!(subs, "sub-{i:07},acct-{i:07},2025-01-01,EUR,{row}");
    }
    (accounts, subs)
}

#[cfg(test)]
mod tests {
    use plock_core::{AccountBook, Store};

    #[test]
    fn generated_import_files_import_cleanly() {
        let (accounts, subs) = super::import_files(2_000);
        let mut store = plock_store_memory::MemoryStore::new();
        store
            .apply(
                plock_core::import::plan_account_import(
                    accounts.as_bytes(),
                    &AccountBook::new(),
                    super::DAY,
                )
                .unwrap(),
            )
            .unwrap();
        let c = store.company().unwrap();
        assert_eq!(c.accounts.len(), 2_000);
        assert!(c.accounts.iter().filter(|a| a.master().is_some()).count() >= 150);
        let batch = plock_core::import::plan_subscription_import(
            subs.as_bytes(),
            &c.accounts,
            &c.subscriptions,
            &c.metrics,
        )
        .unwrap();
        store.apply(batch).unwrap();
        assert_eq!(store.company().unwrap().subscriptions.len(), 2_000);
    }
}
