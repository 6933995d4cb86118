//! What the kit's structures take: counts times each type's size, for the memory figures of
//! `plock-kit`. Heap bytes behind a value (ids longer than 23 bytes, tier tables, map nodes)
//! are left out; the allocator's live bytes (`alloc-stats`) count them.

use std::mem::size_of;

use plock_core::billing::{Billed, BilledUsage};
use plock_core::invoice::{InvoiceLine, ProductTotal};
use plock_core::{Account, BillingRun, Invoice, Item, Subscription, UsageTable};

use super::{Company, KitAccount};

/// One structure: how many, the size of one, and their product.
fn entry(name: &str, count: usize, size: usize) -> serde_json::Value {
    serde_json::json!({
        "structure": name,
        "count": count,
        "size": size,
        "bytes": count.saturating_mul(size),
    })
}

/// The company's, the usage table's and the run's structures, as a JSON list.
pub fn structures(company: &Company, usage: &UsageTable, run: &BillingRun) -> serde_json::Value {
    let items: usize = company.subscriptions.iter().map(|s| s.items().len()).sum();
    let lines: usize = run.invoices.iter().map(|i| i.lines().len()).sum();
    let products: usize = run.invoices.iter().map(|i| i.products().len()).sum();
    serde_json::Value::Array(vec![
        entry(
            "Account (boxed in the book)",
            company.book.len(),
            size_of::<Account>(),
        ),
        entry(
            "Subscription",
            company.subscriptions.len(),
            size_of::<Subscription>(),
        ),
        entry("Item", items, size_of::<Item>()),
        entry(
            "kit account (u64, KitAccount)",
            company.accounts.len(),
            size_of::<(u64, KitAccount)>(),
        ),
        entry("usage table (heap bytes)", usage.heap_bytes(), 1),
        entry("Invoice", run.invoices.len(), size_of::<Invoice>()),
        entry("InvoiceLine", lines, size_of::<InvoiceLine>()),
        entry("ProductTotal", products, size_of::<ProductTotal>()),
        entry("Billed", run.billed.len(), size_of::<Billed>()),
        entry(
            "BilledUsage",
            run.billed_usage.len(),
            size_of::<BilledUsage>(),
        ),
    ])
}
