//! Stored subscriptions decoded: the `subscription` column's JSON with what the subscription
//! is billed through taken from its two columns, read by the deserialiser that validates a
//! stored subscription, many rows on the threads of the pool.
//!
//! The JSON's top-level members are kept as their text (`RawValue`), the stored
//! `billed_through` member replaced by the columns', and the text read once into the
//! subscription: no `serde_json::Value` tree of every item, price and tier is built and
//! freed. A billing run at M reads 109,926 subscriptions.

use std::fmt::{self, Display};

use plock_core::Subscription;
use plock_core::store::StoreError;
use rayon::prelude::*;
use serde::Deserializer;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::codec::{Context, backend};

/// Rows decoded on one thread at a time, at least: fewer are not worth a thread.
const ROWS_A_TASK: usize = 256;

/// Every subscription of `rows` (selected by
/// [`SUBSCRIPTION_SELECT`](crate::codec::SUBSCRIPTION_SELECT)), in their order, decoded on
/// the pool's threads.
///
/// # Errors
/// [`StoreError::Backend`] for the first row that cannot be read or is refused.
pub(crate) fn decode_all(rows: &[postgres::Row]) -> Result<Vec<Subscription>, StoreError> {
    let columns = rows
        .iter()
        .map(|row| {
            Ok((
                row.try_get::<_, &str>(0)?,
                row.try_get::<_, &str>(1)?,
                row.try_get::<_, Option<&str>>(2)?,
                row.try_get::<_, Option<&str>>(3)?,
            ))
        })
        .collect::<Result<Vec<_>, postgres::Error>>()
        .context("reading a subscription")?;
    let decoded: Vec<Result<Subscription, StoreError>> = columns
        .into_par_iter()
        .with_min_len(ROWS_A_TASK)
        .map(|(id, json, in_advance, in_arrears)| decode(id, json, [in_advance, in_arrears]))
        .collect();
    decoded.into_iter().collect()
}

/// The subscription `id` whose stored JSON is `json`, billed through `[in advance, in
/// arrears]`.
///
/// # Errors
/// [`StoreError::Backend`] naming the subscription, for JSON that is not an object, a
/// subscription the deserialiser refuses, or one whose id is not its row's.
pub(crate) fn decode(
    id: &str,
    json: &str,
    billed_through: [Option<&str>; 2],
) -> Result<Subscription, StoreError> {
    let invalid = |e: &dyn Display| backend(format!("stored subscription {id} is invalid: {e}"));
    let mut de = serde_json::Deserializer::from_str(json);
    let members = de.deserialize_map(Members).map_err(|e| invalid(&e))?;
    de.end().map_err(|e| invalid(&e))?;
    let mut text = String::with_capacity(json.len().saturating_add(64));
    text.push('{');
    for (name, value) in members.iter().filter(|(n, _)| n != "billed_through") {
        push_json(&mut text, name).map_err(|e| invalid(&e))?;
        text.push(':');
        text.push_str(value.get());
        text.push(',');
    }
    text.push_str("\"billed_through\":{");
    let mut first = true;
    for (name, day) in ["in_advance", "in_arrears"].into_iter().zip(billed_through) {
        if let Some(day) = day {
            if !std::mem::take(&mut first) {
                text.push(',');
            }
            push_json(&mut text, name).map_err(|e| invalid(&e))?;
            text.push(':');
            push_json(&mut text, day).map_err(|e| invalid(&e))?;
        }
    }
    text.push_str("}}");
    let subscription: Subscription = serde_json::from_str(&text).map_err(|e| invalid(&e))?;
    if subscription.id().as_str() != id {
        return Err(invalid(&"its id column disagrees with the subscription"));
    }
    Ok(subscription)
}

/// Appends `value` as a JSON string.
fn push_json(text: &mut String, value: &str) -> Result<(), serde_json::Error> {
    text.push_str(&serde_json::to_string(value)?);
    Ok(())
}

/// A JSON object's members in order, each value as its text; a member named twice is kept
/// twice, for the subscription's deserialiser to refuse.
struct Members;

impl<'de> Visitor<'de> for Members {
    type Value = Vec<(String, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut members = Vec::with_capacity(16);
        while let Some(member) = map.next_entry::<String, &'de RawValue>()? {
            members.push(member);
        }
        Ok(members)
    }
}

#[cfg(test)]
mod tests {
    use super::decode;

    const STORED: &str = r#"{"id":"s1","account":"a1","start":"2024-01-01","end":null,
        "interval":1,"mode":"calendar","anchor":null,"practice":"in_arrears","currency":"USD",
        "items":[{"product":"p1","price":{"model":"flat_fee","fee":"10.00","quantity":"1"}}],
        "minimum_invoice_amount":null,"state":"active",
        "billed_through":{"in_arrears":"2025-03-01"}}"#;

    #[test]
    fn what_it_is_billed_through_is_the_columns() {
        let subscription = decode("s1", STORED, [None, Some("2025-04-01")]).unwrap();
        let through = subscription.billed_through();
        assert_eq!(through.in_advance, None);
        assert_eq!(
            through.in_arrears,
            chrono::NaiveDate::from_ymd_opt(2025, 4, 1)
        );
        let none = decode("s1", STORED, [None, None]).unwrap();
        assert_eq!(none.billed_through().in_arrears, None);
    }

    #[test]
    fn a_stored_subscription_is_still_validated() {
        let refused =
            |json: &str, id: &str| decode(id, json, [None, None]).unwrap_err().to_string();
        assert!(refused(STORED, "s2").contains("its id column disagrees"));
        assert!(refused("[1]", "s1").contains("stored subscription s1 is invalid"));
        assert!(refused("{\"id\":\"s1\"} x", "s1").contains("is invalid"));
        let twice = STORED.replacen("\"interval\":1,", "\"interval\":1,\"interval\":2,", 1);
        assert!(refused(&twice, "s1").contains("duplicate field"));
        let items = STORED.replacen("\"items\":[", "\"items\":[[", 1);
        assert!(refused(&items, "s1").contains("is invalid"));
    }
}
