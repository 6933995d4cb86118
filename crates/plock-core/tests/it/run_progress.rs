//! The run with a progress callback: the same result as the run, and the shares it reports add
//! up to the subscriptions of known accounts, on any number of threads.

use std::sync::atomic::{AtomicUsize, Ordering};

use plock_core::billing::run_with_progress;
use plock_core::*;
use proptest::prelude::*;

use crate::billing_props::{build, plan};

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn progress_adds_up_to_the_subscriptions_and_changes_nothing(plan in plan(), threads in 1usize..4) {
        let c = build(&plan);
        let table = UsageTable::from_records(&c.usage).unwrap();
        let data = CompanyData { accounts: &c.book, subscriptions: &c.subs, metrics: &c.metrics, usage: &table, billed_usage: &[] };
        let options = RunOptions { run_date: c.run_date, first_invoice_number: 1, dispatch_erp: None };
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        let done = AtomicUsize::new(0);
        let observed = pool.install(|| run_with_progress(&data, &options, &|n| {
            done.fetch_add(n, Ordering::Relaxed);
        }));
        let plain = pool.install(|| run(&data, &options));
        prop_assert_eq!(format!("{observed:?}"), format!("{plain:?}"));
        if observed.is_ok() {
            let known = c.subs.iter().filter(|s| c.book.get(s.account()).is_some()).count();
            prop_assert_eq!(done.load(Ordering::Relaxed), known);
        }
    }
}
