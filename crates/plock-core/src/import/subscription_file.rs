//! The subscription file (docs/subscription.md): one subscription with any number of items
//! and any price model, written as TOML or JSON. Both are read into one JSON value and then
//! into the same fields, so they accept exactly the same things.
//!
//! Amounts are exact: a decimal is written as a string (`"0.002"`) or an integer (`1`); a
//! floating-point number is refused rather than rounded through binary.
//!
//! ```
//! use plock_core::import::subscription_file::{FileItem, SubscriptionFile, from_toml};
//!
//! let file: SubscriptionFile = from_toml(r#"
//!     id = "s1"
//!     account = "acme"
//!     start = 2025-01-01
//!     [[items]]
//!     product = "api"
//!     metric = "calls"
//!     price = { model = "per_unit", unit_price = "0.002" }
//! "#)?;
//! let (item, metric) = file.items[0].item()?;
//! assert_eq!(item.product.as_str(), "api");
//! assert!(metric.is_some());
//! // A float is refused, not rounded through binary.
//! let float = from_toml::<FileItem>("product = \"api\"\nprice = { model = \"flat_fee\", fee = 9.9 }");
//! assert!(float.is_err_and(|e| e.contains("write decimals as strings")));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;

use crate::id::{MetricId, ProductId};
use crate::period::{BillingInterval, PeriodMode};
use crate::pricing::{PriceModel, PricingError, Rebate, Tier, Tiers};
use crate::subscription::{BillingPractice, Item, PriceChanges};
use crate::usage::Aggregation;
use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// An exact decimal read from a string or an integer, never from a float.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(pub Decimal);

impl<'de> Deserialize<'de> for Amount {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Amount, D::Error> {
        struct Exact;
        impl Visitor<'_> for Exact {
            type Value = Amount;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a decimal written as a string, such as \"0.002\", or an integer")
            }
            fn visit_str<E: de::Error>(self, text: &str) -> Result<Amount, E> {
                Decimal::from_str_exact(text.trim())
                    .map(Amount)
                    .map_err(|_| E::custom(format!("not a decimal number: {text:?}")))
            }
            fn visit_i64<E: de::Error>(self, n: i64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(n)))
            }
            fn visit_u64<E: de::Error>(self, n: u64) -> Result<Amount, E> {
                Ok(Amount(Decimal::from(n)))
            }
            fn visit_f64<E: de::Error>(self, n: f64) -> Result<Amount, E> {
                Err(E::custom(format!(
                    "{n} is a floating-point number; write decimals as strings, such as \"{n}\""
                )))
            }
        }
        deserializer.deserialize_any(Exact)
    }
}

/// A subscription as the file states it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionFile {
    /// Its id.
    pub id: String,
    /// The account's id or key.
    pub account: String,
    /// First billed day.
    pub start: NaiveDate,
    /// First day no longer billed.
    #[serde(default)]
    pub end: Option<NaiveDate>,
    /// Months per period.
    #[serde(default = "one")]
    pub interval_months: u32,
    /// `calendar` or `continuous`.
    #[serde(default = "calendar")]
    pub mode: PeriodMode,
    /// Renewal anchor inside the first interval.
    #[serde(default)]
    pub anchor: Option<NaiveDate>,
    /// When fixed fees are invoiced.
    #[serde(default = "in_advance")]
    pub practice: BillingPractice,
    /// The account's currency, stated as a check.
    #[serde(default)]
    pub currency: Option<String>,
    /// Invoices below this are held from dispatch.
    #[serde(default)]
    pub minimum_invoice_amount: Option<Amount>,
    /// `active` (default) or `draft`.
    #[serde(default)]
    pub state: FileState,
    /// The items.
    pub items: Vec<FileItem>,
}

fn one() -> u32 {
    1
}
fn calendar() -> PeriodMode {
    PeriodMode::Calendar
}
fn in_advance() -> BillingPractice {
    BillingPractice::InAdvance
}

/// The state a file's subscription is created in.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileState {
    /// Billing from its start.
    #[default]
    Active,
    /// Not billed until `plock subscription activate`.
    Draft,
}

/// One item as the file states it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileItem {
    /// The product.
    pub product: String,
    /// The metric a usage price counts.
    #[serde(default)]
    pub metric: Option<String>,
    /// The metric's aggregation, for a metric new to the catalogue.
    #[serde(default)]
    pub aggregation: Option<Aggregation>,
    /// The price.
    pub price: FilePrice,
    /// When this item's fixed fee is invoiced, if not as the subscription's.
    #[serde(default)]
    pub practice: Option<BillingPractice>,
    /// A rebate in percent.
    #[serde(default)]
    pub rebate_percent: Option<Amount>,
}

/// A price as the file states it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "snake_case", tag = "model", deny_unknown_fields)]
pub enum FilePrice {
    /// `fee x quantity` per period.
    FlatFee {
        /// Fee per unit of quantity.
        fee: Amount,
        /// How many.
        #[serde(default = "one_amount")]
        quantity: Amount,
    },
    /// `units x unit_price`.
    PerUnit {
        /// Price per unit.
        unit_price: Amount,
    },
    /// Each tier prices the units inside it.
    Graduated {
        /// The tiers.
        tiers: Vec<FileTier>,
    },
    /// The tier the total reaches prices every unit.
    Volume {
        /// The tiers.
        tiers: Vec<FileTier>,
    },
    /// Whole packages of `size` units.
    Package {
        /// Units per package.
        size: Amount,
        /// Price per package.
        price: Amount,
    },
    /// Committed units with the fixed fees, units above them in arrears.
    Commitment {
        /// Units committed per period.
        committed: Amount,
        /// Price per unit.
        unit_price: Amount,
    },
}

fn one_amount() -> Amount {
    Amount(Decimal::ONE)
}

/// One tier as the file states it.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileTier {
    /// Inclusive upper bound; left out on the last tier.
    #[serde(default)]
    pub up_to: Option<Amount>,
    /// Price per unit inside the tier.
    #[serde(default)]
    pub unit_price: Option<Amount>,
    /// Flat fee when any unit reaches the tier.
    #[serde(default)]
    pub flat_fee: Option<Amount>,
}

/// Reads a TOML subscription file, or (as `T`) a file of one item.
///
/// # Errors
/// TOML syntax, or fields the file format does not accept.
pub fn from_toml<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    let value: toml::Value = toml::from_str(text).map_err(|e| {
        let message = e.message().to_owned();
        match e.span().map(|span| line_of(text, span.start)) {
            Some(line) => format!("line {line}: {message}"),
            None => message,
        }
    })?;
    serde_json::from_value(json_of(value)).map_err(|e| e.to_string())
}

/// Reads a JSON subscription file, or (as `T`) a file of one item.
///
/// # Errors
/// JSON syntax, or fields the file format does not accept.
pub fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    serde_json::from_str(text).map_err(|e| e.to_string())
}

fn line_of(text: &str, at: usize) -> usize {
    text.get(..at)
        .map_or(0, |before| before.matches('\n').count())
        .saturating_add(1)
}

/// A TOML value as JSON; TOML dates become `YYYY-MM-DD` strings.
fn json_of(value: toml::Value) -> serde_json::Value {
    use serde_json::Value as J;
    match value {
        toml::Value::String(s) => J::String(s),
        toml::Value::Integer(i) => J::from(i),
        toml::Value::Float(f) => serde_json::Number::from_f64(f).map_or(J::Null, J::Number),
        toml::Value::Boolean(b) => J::Bool(b),
        toml::Value::Datetime(d) => J::String(d.to_string()),
        toml::Value::Array(items) => J::Array(items.into_iter().map(json_of).collect()),
        toml::Value::Table(table) => {
            J::Object(table.into_iter().map(|(k, v)| (k, json_of(v))).collect())
        }
    }
}

impl FileItem {
    /// The core item, and the metric it counts with its aggregation, if it counts one.
    ///
    /// # Errors
    /// An invalid product or metric id, tiers or rebate, each named.
    pub fn item(&self) -> Result<(Item, Option<(MetricId, Aggregation)>), String> {
        let named = |e: &dyn fmt::Display| format!("item {:?}: {e}", self.product);
        let product = ProductId::new(&self.product).map_err(|e| named(&e))?;
        let price = self.price.model().map_err(|e| named(&e))?;
        let metric = self
            .metric
            .as_deref()
            .map(MetricId::new)
            .transpose()
            .map_err(|e| named(&e))?;
        let mut item = match metric.clone() {
            Some(metric) => Item::usage(product, metric, price),
            None => Item {
                product,
                metric: None,
                price,
                practice: None,
                rebate: None,
                changes: PriceChanges::default(),
            },
        };
        if let Some(practice) = self.practice {
            item = item.with_practice(practice);
        }
        if let Some(Amount(percent)) = self.rebate_percent {
            item = item.with_rebate(Rebate::percent(percent).map_err(|e| named(&e))?);
        }
        let aggregation = self.aggregation.unwrap_or_default();
        Ok((item, metric.map(|m| (m, aggregation))))
    }
}

impl FilePrice {
    fn model(&self) -> Result<PriceModel, PricingError> {
        let tiers = |tiers: &[FileTier]| {
            Tiers::new(
                tiers
                    .iter()
                    .map(|t| Tier {
                        up_to: t.up_to.map(|a| a.0),
                        unit_price: t.unit_price.map(|a| a.0),
                        flat_fee: t.flat_fee.map(|a| a.0),
                    })
                    .collect(),
            )
        };
        let model = match self {
            FilePrice::FlatFee { fee, quantity } => PriceModel::FlatFee {
                fee: fee.0,
                quantity: quantity.0,
            },
            FilePrice::PerUnit { unit_price } => PriceModel::PerUnit {
                unit_price: unit_price.0,
            },
            FilePrice::Graduated { tiers: t } => PriceModel::Graduated { tiers: tiers(t)? },
            FilePrice::Volume { tiers: t } => PriceModel::Volume { tiers: tiers(t)? },
            FilePrice::Package { size, price } => PriceModel::Package {
                size: size.0,
                price: price.0,
            },
            FilePrice::Commitment {
                committed,
                unit_price,
            } => PriceModel::Commitment {
                committed: committed.0,
                unit_price: unit_price.0,
            },
        };
        model.validate()?;
        Ok(model)
    }
}

impl SubscriptionFile {
    /// The billing interval.
    ///
    /// # Errors
    /// Months outside what core accepts.
    pub fn interval(&self) -> Result<BillingInterval, String> {
        BillingInterval::every_months(self.interval_months)
            .map_err(|e| format!("interval_months: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_read_the_same_fields_and_floats_are_refused() {
        let toml = r#"
            id = "s1"
            account = "acme"
            start = 2025-01-01
            [[items]]
            product = "api"
            metric = "calls"
            price = { model = "graduated", tiers = [ { up_to = 1000, unit_price = "0.01" }, { unit_price = "0.005" } ] }
        "#;
        let json = r#"{"id": "s1", "account": "acme", "start": "2025-01-01",
            "items": [{"product": "api", "metric": "calls", "price": {"model": "graduated",
            "tiers": [{"up_to": 1000, "unit_price": "0.01"}, {"unit_price": "0.005"}]}}]}"#;
        let a: SubscriptionFile = from_toml(toml).unwrap();
        let b: SubscriptionFile = from_json(json).unwrap();
        assert_eq!(a.items[0].item().unwrap(), b.items[0].item().unwrap());
        assert_eq!(a.start, NaiveDate::from_ymd_opt(2025, 1, 1).unwrap());
        assert_eq!(a.state, FileState::Active);
        let float = toml.replace("\"0.005\"", "0.005");
        assert!(
            from_toml::<SubscriptionFile>(&float)
                .unwrap_err()
                .contains("write decimals as strings")
        );
        let unknown = json.replace("\"start\"", "\"begin\"");
        assert!(
            from_json::<SubscriptionFile>(&unknown)
                .unwrap_err()
                .contains("begin")
        );
    }
}
