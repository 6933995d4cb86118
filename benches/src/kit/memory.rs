//! What the kit's structures take: counts times each type's size, for the memory figures of
//! `plock-kit`. Heap bytes behind a value (ids longer than 23 bytes, tier tables, map nodes)
//! are left out; the allocator's live bytes (`alloc-stats`) count them.

use std::mem::size_of;

use plock_core::billing::{Billed, BilledUsage};
use plock_core::{Account, BillingRun, Item, Subscription, UsageTable};

use super::results::{KitInvoice, KitLine, KitResults};
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

/// The company's, the usage table's, the run's and the kit's rows' structures, as a JSON list.
pub fn structures(
    company: &Company,
    usage: &UsageTable,
    run: &BillingRun,
    results: &KitResults,
) -> serde_json::Value {
    let items: usize = company.subscriptions.iter().map(|s| s.items().len()).sum();
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
        entry(
            "kit invoice row",
            results.invoices.len(),
            size_of::<KitInvoice>(),
        ),
        entry("kit line row", results.line_count(), size_of::<KitLine>()),
        entry("Billed", run.billed.len(), size_of::<Billed>()),
        entry(
            "BilledUsage (handed on, counted, not kept)",
            results.billed_usage,
            size_of::<BilledUsage>(),
        ),
    ])
}
