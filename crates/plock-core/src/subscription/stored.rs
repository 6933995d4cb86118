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

/// The fields of a stored subscription, as [`super::StoredSubscription`] writes them; its
/// items read as `I`.
#[derive(Deserialize)]
pub(super) struct SubscriptionFields<I = Item> {
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
    items: Vec<I>,
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

impl<I: Into<Item>> TryFrom<SubscriptionFields<I>> for Subscription {
    type Error = SubscriptionError;
    fn try_from(s: SubscriptionFields<I>) -> Result<Subscription, SubscriptionError> {
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
            items: s.items.into_iter().map(Into::into).collect(),
            minimum_invoice_amount: s.minimum_invoice_amount,
        };
        let currency = spec.currency;
        let mut sub = Subscription::new(spec, currency)?;
        sub.state = state;
        sub.billed = s.billed_through;
        Ok(sub)
    }
}

/// A stored subscription read faster when each of its prices names its model first, as plock
/// writes them: the same subscription as [`Subscription`]'s own
/// reader makes of the same document. A document it refuses may still be one that reader
/// accepts (a price naming its model later), so a caller reads a refused document again with
/// that reader, whose message is the one to show.
///
/// ```
/// use plock_core::Subscription;
/// use plock_core::subscription::ModelFirst;
///
/// let json = r#"{"id":"s","account":"a","start":"2025-01-01","interval":1,"mode":"calendar",
///   "practice":"in_advance","currency":"EUR","state":"draft",
///   "items":[{"product":"p","metric":"m","price":{"model":"per_unit","unit_price":"0.5"}}]}"#;
/// let fast: ModelFirst = serde_json::from_str(json)?;
/// assert_eq!(fast.0, serde_json::from_str::<Subscription>(json)?);
/// // The model last: refused here, read by the ordinary reader.
/// let late = json.replace(r#""model":"per_unit","unit_price":"0.5""#, r#""unit_price":"0.5","model":"per_unit""#);
/// assert!(serde_json::from_str::<ModelFirst>(&late).is_err());
/// assert_eq!(serde_json::from_str::<Subscription>(&late)?, fast.0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct ModelFirst(pub Subscription);

impl<'de> Deserialize<'de> for ModelFirst {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<ModelFirst, D::Error> {
        let fields =
            SubscriptionFields::<super::model_first::ModelFirstItem>::deserialize(deserializer)?;
        Subscription::try_from(fields)
            .map(ModelFirst)
            .map_err(serde::de::Error::custom)
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

    /// A subscription holding an item of every price model, a rebate and a practice.
    fn every_model() -> Subscription {
        use crate::id::{MetricId, ProductId};
        use crate::pricing::{PriceModel, Rebate, Tier, Tiers};
        use rust_decimal::dec;
        let tiers = || {
            Tiers::new(vec![
                Tier::unit(Some(dec!(10)), dec!(1.5)),
                Tier::flat(None, dec!(3)),
            ])
            .unwrap()
        };
        let usage = |product: &str, price| {
            Item::usage(
                ProductId::new(product).unwrap(),
                MetricId::new(product).unwrap(),
                price,
            )
        };
        let mut spec = spec();
        spec.items.push(
            Item::flat_fee(ProductId::new("seats").unwrap(), dec!(2.50), dec!(4))
                .with_rebate(Rebate::percent(dec!(10)).unwrap()),
        );
        spec.items[1].practice = Some(BillingPractice::InArrears);
        spec.items.extend([
            usage(
                "a",
                PriceModel::PerUnit {
                    unit_price: dec!(0.002),
                },
            ),
            usage("b", PriceModel::Graduated { tiers: tiers() }),
            usage("c", PriceModel::Volume { tiers: tiers() }),
            usage(
                "d",
                PriceModel::Package {
                    size: dec!(100),
                    price: dec!(7),
                },
            ),
            usage(
                "e",
                PriceModel::Commitment {
                    committed: dec!(50),
                    unit_price: dec!(0.1),
                },
            ),
        ]);
        let mut s = Subscription::new(spec, Currency::EUR).unwrap();
        s.activate().unwrap();
        s
    }

    #[test]
    fn prices_read_model_first_are_the_ordinary_reading() {
        let s = every_model();
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(json.matches("\"model\":").count(), 7, "{json}");
        let ModelFirst(fast) = serde_json::from_str(&json).unwrap();
        assert_eq!(fast, s);
    }

    /// The tier tables of every graduated or volume price read on this thread.
    fn tier_tables(s: &Subscription) -> Vec<*const [crate::pricing::Tier]> {
        s.items()
            .iter()
            .filter_map(|item| match &item.price {
                crate::pricing::PriceModel::Graduated { tiers }
                | crate::pricing::PriceModel::Volume { tiers } => {
                    Some(std::ptr::from_ref(tiers.tiers()))
                }
                _ => None,
            })
            .collect()
    }

    #[test]
    fn subscriptions_read_model_first_share_their_tier_tables() {
        let json = serde_json::to_string(&every_model()).unwrap();
        let ModelFirst(first) = serde_json::from_str(&json).unwrap();
        let ModelFirst(second) = serde_json::from_str(&json).unwrap();
        assert!(!tier_tables(&first).is_empty());
        assert_eq!(tier_tables(&first), tier_tables(&second));
        assert_eq!(second, every_model());
    }

    #[test]
    fn a_price_not_model_first_is_left_to_the_ordinary_reader() {
        let json = serde_json::to_string(&every_model()).unwrap();
        let later = json.replace(
            "{\"model\":\"per_unit\",\"unit_price\":\"0.002\"}",
            "{\"unit_price\":\"0.002\",\"model\":\"per_unit\"}",
        );
        assert_ne!(later, json);
        assert!(serde_json::from_str::<ModelFirst>(&later).is_err());
        assert_eq!(
            serde_json::from_str::<Subscription>(&later).unwrap(),
            every_model()
        );
        // A model named twice is refused by both readers.
        let twice = json.replace(
            "\"unit_price\":\"0.002\"}",
            "\"unit_price\":\"0.002\",\"model\":\"flat_fee\"}",
        );
        assert_ne!(twice, json);
        assert!(serde_json::from_str::<ModelFirst>(&twice).is_err());
        assert!(serde_json::from_str::<Subscription>(&twice).is_err());
    }
}
