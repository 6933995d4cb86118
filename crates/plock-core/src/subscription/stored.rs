//! A stored subscription read in one pass.
//!
//! A subscription is stored as one flat document: its spec's fields, its state (`state`,
//! and `since` when paused) and `billed_through`. Written, it is the spec and the state
//! flattened into one object ([`super::StoredSubscription`]); read that way, serde first
//! buffers the whole document (every item, price and tier) into an intermediate tree and
//! then reads the tree, which cost a store's billing run more than the rest of its reading
//! of subscriptions. These are the same fields, read straight from the document.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;

use super::{
    BilledThrough, BillingPractice, Item, Subscription, SubscriptionError, SubscriptionSpec,
    SubscriptionState,
};
use crate::id::{AccountId, SubscriptionId};
use crate::money::Currency;
use crate::period::{BillingInterval, PeriodMode};

/// The fields of a stored subscription, as [`super::StoredSubscription`] writes them.
#[derive(Deserialize)]
pub(super) struct SubscriptionFields {
    id: SubscriptionId,
    account: AccountId,
    start: NaiveDate,
    #[serde(default)]
    end: Option<NaiveDate>,
    interval: BillingInterval,
    mode: PeriodMode,
    #[serde(default)]
    anchor: Option<NaiveDate>,
    practice: BillingPractice,
    currency: Currency,
    items: Vec<Item>,
    #[serde(default)]
    minimum_invoice_amount: Option<Decimal>,
    state: State,
    /// The day a pause began: read for a paused subscription only, as the state's own
    /// document does.
    #[serde(default)]
    since: Option<NaiveDate>,
    #[serde(default)]
    billed_through: BilledThrough,
}

/// [`SubscriptionState`]'s names.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum State {
    Draft,
    Active,
    Paused,
    Ended,
}

impl TryFrom<SubscriptionFields> for Subscription {
    type Error = SubscriptionError;
    fn try_from(s: SubscriptionFields) -> Result<Subscription, SubscriptionError> {
        let state = match s.state {
            State::Draft => SubscriptionState::Draft,
            State::Active => SubscriptionState::Active,
            State::Ended => SubscriptionState::Ended,
            State::Paused => match s.since {
                Some(since) => SubscriptionState::Paused { since },
                None => {
                    return Err(SubscriptionError::Invalid {
                        subscription: s.id,
                        field: "since",
                        value: String::new(),
                        reason: "a paused subscription needs the day its pause began".into(),
                    });
                }
            },
        };
        let spec = SubscriptionSpec {
            id: s.id,
            account: s.account,
            start: s.start,
            end: s.end,
            interval: s.interval,
            mode: s.mode,
            anchor: s.anchor,
            practice: s.practice,
            currency: s.currency,
            items: s.items,
            minimum_invoice_amount: s.minimum_invoice_amount,
        };
        let currency = spec.currency;
        let mut sub = Subscription::new(spec, currency)?;
        sub.state = state;
        sub.billed = s.billed_through;
        Ok(sub)
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::super::tests::spec;
    use super::*;

    fn d(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2025, month, day).unwrap()
    }

    fn round_trip(s: &Subscription) -> Subscription {
        serde_json::from_str(&serde_json::to_string(s).unwrap()).unwrap()
    }

    #[test]
    fn every_state_and_watermark_reads_back_as_written() {
        let draft = Subscription::new(spec(), Currency::EUR).unwrap();
        let mut active = draft.clone();
        active.activate().unwrap();
        active.record_run(BilledThrough {
            in_advance: Some(d(3, 1)),
            in_arrears: Some(d(2, 1)),
        });
        let mut paused = active.clone();
        paused.pause(d(2, 15)).unwrap();
        let mut ended = active.clone();
        ended.end(d(6, 1)).unwrap();
        for s in [draft, active, paused, ended] {
            assert_eq!(round_trip(&s), s);
        }
    }

    #[test]
    fn a_pause_needs_its_day_and_other_states_ignore_one() {
        let mut s = Subscription::new(spec(), Currency::EUR).unwrap();
        s.activate().unwrap();
        let json = serde_json::to_string(&s).unwrap();
        let paused = json.replace("\"state\":\"active\"", "\"state\":\"paused\"");
        let refused = serde_json::from_str::<Subscription>(&paused).unwrap_err();
        assert!(refused.to_string().contains("since"), "{refused}");
        let dated = json.replace(
            "\"state\":\"active\"",
            "\"state\":\"active\",\"since\":\"2025-02-01\"",
        );
        assert_eq!(serde_json::from_str::<Subscription>(&dated).unwrap(), s);
    }
}
