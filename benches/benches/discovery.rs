//! Discovery re-sync at scale: `cargo bench -p plock-benches --bench discovery`.
//!
//! A plan-only re-sync of a source that still has every linked account, at 10,000 and
//! 100,000 accounts: the plan looks every account up (by id in the source system, or by key)
//! and checks each linked account against the set of source keys, so its time grows with
//! n log n, not n squared.

use std::hint::black_box;

use chrono::NaiveDate;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use plock_core::account::{AccountName, Contact, ExternalId, ExternalSystem};
use plock_core::discovery::{SourceCustomer, plan_discovery};
use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `n` accounts linked to `source`, and the source's records of them.
fn linked_company(n: usize, source: &ExternalSystem) -> (AccountBook, Vec<SourceCustomer>) {
    let day = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
    let mut book = AccountBook::new();
    let mut customers = Vec::with_capacity(n);
    for i in 0..n {
        let key = format!("customer-{i:06}");
        let (Ok(id), Ok(account_key), Ok(name), Ok(external)) = (
            AccountId::new(&key),
            AccountKey::new(&key),
            AccountName::new(&format!("Customer {i}")),
            ExternalId::new(&key),
        ) else {
            continue;
        };
        let account = Account::new(
            id.clone(),
            account_key.clone(),
            name.clone(),
            Contact::default(),
            Currency::EUR,
            day,
        );
        if book.add(account).is_err()
            || book.set_external_id(&id, source.clone(), external).is_err()
        {
            continue;
        }
        customers.push(SourceCustomer {
            key: account_key,
            name,
            contact: Contact::default(),
            currency: Currency::EUR,
            external_ids: Vec::new(),
        });
    }
    (book, customers)
}

fn resync(c: &mut Criterion) {
    let source = ExternalSystem::HubSpot;
    let day = NaiveDate::from_ymd_opt(2025, 2, 1).unwrap_or_default();
    let mut group = c.benchmark_group("discovery_resync");
    group.sample_size(10);
    for n in [10_000, 100_000] {
        let (book, customers) = linked_company(n, &source);
        group.throughput(Throughput::Elements(n as u64));
        group.bench_function(format!("plan_{n}_linked_accounts"), |b| {
            b.iter(|| plan_discovery(black_box(&source), &customers, &book, day))
        });
    }
    group.finish();
}

criterion_group!(benches, resync);
criterion_main!(benches);
