//! What billing runs have billed of a subscription: a watermark per timing.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::subscription::terms::BillingPractice;

/// What earlier billing runs billed of a subscription: for each timing, the day up to which
/// (exclusive) its charges are billed, in the spirit of a charged-through date. A run bills
/// only days after it, so re-running a date bills nothing and a run's work does not grow with
/// how long the subscription has run.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::BillingPractice;
/// use plock_core::subscription::BilledThrough;
///
/// let april = NaiveDate::from_ymd_opt(2025, 4, 1).unwrap();
/// let march = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap();
/// let billed = BilledThrough::default().advanced(BillingPractice::InArrears, april);
/// // Watermarks never move back.
/// assert_eq!(billed.advanced(BillingPractice::InArrears, march).get(BillingPractice::InArrears), Some(april));
/// assert_eq!(billed.get(BillingPractice::InAdvance), None);
/// ```
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct BilledThrough {
    /// Fixed charges billed in advance are billed up to this day (exclusive).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_advance: Option<NaiveDate>,
    /// Charges billed in arrears (usage, fixed fees in arrears) are billed up to this day.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_arrears: Option<NaiveDate>,
}

impl BilledThrough {
    /// The day `timing`'s charges are billed up to, if any were billed.
    pub fn get(&self, timing: BillingPractice) -> Option<NaiveDate> {
        match timing {
            BillingPractice::InAdvance => self.in_advance,
            BillingPractice::InArrears => self.in_arrears,
        }
    }

    /// The same, with `timing` billed through `through` unless it already was further.
    #[must_use]
    pub fn advanced(mut self, timing: BillingPractice, through: NaiveDate) -> BilledThrough {
        let slot = match timing {
            BillingPractice::InAdvance => &mut self.in_advance,
            BillingPractice::InArrears => &mut self.in_arrears,
        };
        *slot = Some(slot.map_or(through, |d| d.max(through)));
        self
    }

    /// Each timing at the later of the two.
    #[must_use]
    pub fn max(self, other: BilledThrough) -> BilledThrough {
        BilledThrough {
            in_advance: self.in_advance.max(other.in_advance),
            in_arrears: self.in_arrears.max(other.in_arrears),
        }
    }
}
