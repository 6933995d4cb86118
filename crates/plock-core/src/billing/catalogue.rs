//! The metrics as a run prices them, and where it finds an account's usage: resolved once a
//! run and shared by the engine, the tests' oracle and the rules.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::BillingError;
use crate::hash::{FastState, InlineIndex};
use crate::id::{AccountKey, MetricId};
use crate::period::Period;
use crate::usage::{Aggregation, Metric};

/// A metric as a run prices it: its aggregation, and its place among the usage table's
/// metrics, if the table has it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CatalogueEntry {
    pub(crate) aggregation: Aggregation,
    pub(crate) table: Option<u32>,
    /// The usage table's group of the subscription's account and this metric, once the
    /// engine has found it for the subscription: its aggregates then skip the search.
    pub(crate) group: Option<usize>,
}

/// A run's metric catalogue, resolved once: every item's metric is looked up here by an
/// inline copy of its bytes, and its usage then found by the table's metric number instead of
/// comparing names. A run looks up every item of every subscription (546,000 at the kit's M)
/// against a few dozen metrics: the inline words need no hash of the string's bytes and no
/// pointer followed, where a map of ids did both.
pub(crate) struct Catalogue<'a> {
    index: InlineIndex<'a>,
    /// One an entry of the metrics given, in their order (a metric listed twice has the same
    /// entry at both places).
    entries: Vec<CatalogueEntry>,
}

impl<'a> Catalogue<'a> {
    /// The catalogue of `metrics`, each placed by `table_index`.
    ///
    /// # Errors
    /// [`BillingError::DuplicateMetric`] for a metric listed twice with different aggregations.
    pub(crate) fn new(
        metrics: &'a [Metric],
        table_index: impl Fn(&MetricId) -> Option<u32>,
    ) -> Result<Catalogue<'a>, BillingError> {
        let mut seen: HashMap<&MetricId, Aggregation, FastState> = HashMap::default();
        let mut entries = Vec::with_capacity(metrics.len());
        for m in metrics {
            if let Some(previous) = seen.insert(&m.id, m.aggregation)
                && previous != m.aggregation
            {
                return Err(BillingError::DuplicateMetric {
                    metric: m.id.clone(),
                });
            }
            entries.push(CatalogueEntry {
                aggregation: m.aggregation,
                table: table_index(&m.id),
                group: None,
            });
        }
        Ok(Catalogue {
            index: InlineIndex::new(metrics.iter().map(|m| m.id.as_str())),
            entries,
        })
    }

    pub(crate) fn get(&self, metric: &MetricId) -> Option<CatalogueEntry> {
        let place = self.index.get_str(metric.as_str())?;
        self.entries.get(place as usize).copied()
    }
}

/// Where a run finds an account's aggregated usage: the packed
/// [`UsageTable`](crate::usage::UsageTable) of the engine, or the oracle's index of records.
pub(crate) trait UsageLookup {
    /// The aggregate of `account`'s `metric` (as the catalogue resolved it) over `period`;
    /// `None` on overflow.
    fn aggregate(
        &self,
        account: &AccountKey,
        metric: &MetricId,
        entry: CatalogueEntry,
        period: &Period,
    ) -> Option<Decimal>;

    /// [`UsageLookup::aggregate`] and the count of the records it aggregates (`u64::MAX`
    /// past it); `None` on overflow of the aggregate.
    fn aggregate_counted(
        &self,
        account: &AccountKey,
        metric: &MetricId,
        entry: CatalogueEntry,
        period: &Period,
    ) -> Option<(Decimal, u64)> {
        let value = self.aggregate(account, metric, entry, period)?;
        let count = CatalogueEntry {
            aggregation: Aggregation::Count,
            ..entry
        };
        let count = self.aggregate(account, metric, count, period)?;
        Some((value, u64::try_from(count).unwrap_or(u64::MAX)))
    }
}
