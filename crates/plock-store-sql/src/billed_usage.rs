//! A stored billed usage row read back: both stores keep one column a field and select them
//! in the same order; each reads the columns with its driver and checks them here.
//!
//! ```
//! use plock_store_sql::billed_usage::BilledUsageColumns;
//! use rust_decimal::Decimal;
//!
//! let row = BilledUsageColumns {
//!     subscription: "sub-1".into(),
//!     product: "api".into(),
//!     start: "2025-03-01".into(),
//!     end: "2025-04-01".into(),
//!     records: 3,
//!     quantity: Decimal::new(30, 0),
//!     amount: Decimal::new(1250, 2),
//!     skipped: false,
//! };
//! let billed = row.into_billed().unwrap();
//! assert_eq!(billed.records, 3);
//! ```

use plock_core::billing::BilledUsage;
use plock_core::id::{ProductId, SubscriptionId};
use plock_core::period::Period;
use plock_core::store::StoreError;
use rust_decimal::Decimal;

use crate::codec::parse;
use crate::error::backend;

/// The columns of a stored billed usage row, as read, not yet checked.
#[derive(Debug, Clone)]
pub struct BilledUsageColumns {
    /// The subscription's id.
    pub subscription: String,
    /// The product's id.
    pub product: String,
    /// The period's first day, as stored (`YYYY-MM-DD`).
    pub start: String,
    /// The day after the period, as stored.
    pub end: String,
    /// How many usage records were billed.
    pub records: i64,
    /// The quantity billed.
    pub quantity: Decimal,
    /// The amount billed.
    pub amount: Decimal,
    /// Whether the period was skipped rather than billed.
    pub skipped: bool,
}

impl BilledUsageColumns {
    /// The row as a [`BilledUsage`], each value checked.
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the row's key and the value that is not valid.
    pub fn into_billed(self) -> Result<BilledUsage, StoreError> {
        let key = format!("{}/{}/{}", self.subscription, self.product, self.start);
        let invalid = |what: &str| backend(format!("stored billed usage {key}: {what}"));
        let period = Period::new(
            parse("period start", self.start.clone())?,
            parse("period end", self.end)?,
        )
        .map_err(|e| invalid(&e.to_string()))?;
        let records = self.records;
        Ok(BilledUsage {
            subscription: SubscriptionId::new(&self.subscription)
                .map_err(|e| invalid(&e.to_string()))?,
            product: ProductId::new(&self.product).map_err(|e| invalid(&e.to_string()))?,
            period,
            records: u64::try_from(records).map_err(|_| invalid(&format!("records {records}")))?,
            quantity: self.quantity,
            amount: self.amount,
            replaces: None,
            skipped: self.skipped,
        })
    }
}
