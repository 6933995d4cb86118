//! Prices read with their model first, as plock writes them.
//!
//! A [`PriceModel`] names its model inside its own object (`{"model":"per_unit",...}`), and
//! serde reads such an enum by buffering the whole object into an intermediate tree first,
//! since the model could come last. plock writes the model first, so the fields that follow
//! can be read straight into the model's own: at M that buffering was two fifths of decoding
//! a store's 109,926 subscriptions. A price whose model is not its first member, or names it
//! twice, is refused here, and the caller reads the document the ordinary way, whose rules and
//! messages stay the only ones a user meets. A tier table is read once per distinct text
//! and shared ([`super::tiers_seen`]).

use std::fmt;

use rust_decimal::Decimal;
use serde::de::value::MapAccessDeserializer;
use serde::de::{Error, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use super::tiers_seen::SharedTiers;
use super::{BillingPractice, Item, PriceChanges};
use crate::id::{MetricId, ProductId};
use crate::pricing::{PriceModel, Rebate};

/// An [`Item`] whose price is read with its model first; the same fields and defaults.
#[derive(Deserialize)]
pub(super) struct ModelFirstItem {
    product: ProductId,
    #[serde(default)]
    metric: Option<MetricId>,
    price: ModelFirstPrice,
    #[serde(default)]
    practice: Option<BillingPractice>,
    #[serde(default)]
    rebate: Option<Rebate>,
    #[serde(default)]
    changes: PriceChanges,
}

impl From<ModelFirstItem> for Item {
    fn from(item: ModelFirstItem) -> Item {
        Item {
            product: item.product,
            metric: item.metric,
            price: item.price.0,
            practice: item.practice,
            rebate: item.rebate,
            changes: item.changes,
        }
    }
}

/// A price read with its model first.
struct ModelFirstPrice(PriceModel);

/// [`PriceModel`]'s names.
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Model {
    FlatFee,
    PerUnit,
    Graduated,
    Volume,
    Package,
    Commitment,
}

/// The members after the model, for each model. `model` is a field so that a second one is
/// refused, as the ordinary reader does.
#[derive(Deserialize)]
struct FlatFee {
    fee: Decimal,
    quantity: Decimal,
    model: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct PerUnit {
    unit_price: Decimal,
    model: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Tiered {
    tiers: SharedTiers,
    model: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Package {
    size: Decimal,
    price: Decimal,
    model: Option<IgnoredAny>,
}

#[derive(Deserialize)]
struct Commitment {
    committed: Decimal,
    unit_price: Decimal,
    model: Option<IgnoredAny>,
}

impl<'de> Deserialize<'de> for ModelFirstPrice {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<ModelFirstPrice, D::Error> {
        deserializer.deserialize_map(PriceVisitor)
    }
}

struct PriceVisitor;

/// The rest of the price's members as the model's fields; a second `model` refused.
fn rest<'de, A: MapAccess<'de>, T: Deserialize<'de>>(
    map: A,
    model: impl Fn(&T) -> bool,
) -> Result<T, A::Error> {
    let fields = T::deserialize(MapAccessDeserializer::new(map))?;
    if model(&fields) {
        return Err(A::Error::custom("a price names its model twice"));
    }
    Ok(fields)
}

impl<'de> Visitor<'de> for PriceVisitor {
    type Value = ModelFirstPrice;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a price whose first member is its model")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ModelFirstPrice, A::Error> {
        if map.next_key::<&str>()? != Some("model") {
            return Err(A::Error::custom("a price's first member is not its model"));
        }
        let price = match map.next_value::<Model>()? {
            Model::FlatFee => {
                let f: FlatFee = rest(map, |f: &FlatFee| f.model.is_some())?;
                PriceModel::FlatFee {
                    fee: f.fee,
                    quantity: f.quantity,
                }
            }
            Model::PerUnit => {
                let f: PerUnit = rest(map, |f: &PerUnit| f.model.is_some())?;
                PriceModel::PerUnit {
                    unit_price: f.unit_price,
                }
            }
            Model::Graduated => {
                let f: Tiered = rest(map, |f: &Tiered| f.model.is_some())?;
                PriceModel::Graduated { tiers: f.tiers.0 }
            }
            Model::Volume => {
                let f: Tiered = rest(map, |f: &Tiered| f.model.is_some())?;
                PriceModel::Volume { tiers: f.tiers.0 }
            }
            Model::Package => {
                let f: Package = rest(map, |f: &Package| f.model.is_some())?;
                PriceModel::Package {
                    size: f.size,
                    price: f.price,
                }
            }
            Model::Commitment => {
                let f: Commitment = rest(map, |f: &Commitment| f.model.is_some())?;
                PriceModel::Commitment {
                    committed: f.committed,
                    unit_price: f.unit_price,
                }
            }
        };
        Ok(ModelFirstPrice(price))
    }
}
