//! The metrics as a run prices them, and where it finds an account's usage: resolved once a
//! run and shared by the engine, the tests' oracle and the rules.

use std::collections::HashMap;

use rust_decimal::Decimal;

use super::BillingError;
use crate::hash::FastState;
use crate::id::{AccountKey, MetricId};
use crate::period::Period;
use crate::usage::{Aggregation, Metric};

/// A metric as a run prices it: its aggregation, and its place among the usage table's
/// metrics, if the table has it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CatalogueEntry {
    pub(crate) aggregation: Aggregation,
    pub(crate) table: Option<u32>,
}

/// A run's metric catalogue, resolved once: every item's metric is looked up here by hash,
/// and its usage then found by the table's metric number instead of comparing names.
pub(crate) struct Catalogue<'a>(HashMap<&'a MetricId, CatalogueEntry, FastState>);

impl<'a> Catalogue<'a> {
    /// The catalogue of `metrics`, each placed by `table_index`.
    ///
    /// # Errors
    /// [`BillingError::DuplicateMetric`] for a metric listed twice with different aggregations.
    pub(crate) fn new(
        metrics: &'a [Metric],
        table_index: impl Fn(&MetricId) -> Option<u32>,
    ) -> Result<Catalogue<'a>, BillingError> {
        let mut catalogue: HashMap<&MetricId, CatalogueEntry, FastState> = HashMap::default();
        for m in metrics {
            let entry = CatalogueEntry {
                aggregation: m.aggregation,
                table: table_index(&m.id),
            };
            if let Some(previous) = catalogue.insert(&m.id, entry)
                && previous.aggregation != m.aggregation
            {
                return Err(BillingError::DuplicateMetric {
                    metric: m.id.clone(),
                });
            }
        }
        Ok(Catalogue(catalogue))
    }

    pub(crate) fn get(&self, metric: &MetricId) -> Option<CatalogueEntry> {
        self.0.get(metric).copied()
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
}
