//! Stored subscriptions decoded for reading: a row's columns written out as the stored
//! subscription's JSON, the `items` column spliced in as stored (once checked to be one
//! JSON value), then read by the deserialiser that validates a stored subscription.
//!
//! Going through text rather than a `serde_json::Value` tree skips building and freeing a
//! tree of every item, price and tier; a run at M reads 109,926 subscriptions, and many rows
//! are decoded on the threads of the pool, in order.

use std::fmt::Display;
use std::ops::Range;

use plock_core::Subscription;
use plock_core::store::StoreError;
use plock_core::subscription::ModelFirst;
use rayon::prelude::*;

use rusqlite::Connection;

use crate::codec::{Context, SUBSCRIPTION_FIELDS, SUBSCRIPTION_SELECT, backend, decimal};

/// Rows decoded on one thread at a time, at least: fewer are not worth a thread.
const ROWS_A_TASK: usize = 256;

/// A row's stored subscription as JSON text, not decoded yet.
pub(crate) struct Encoded {
    id: String,
    text: Vec<u8>,
    /// Where the items column is in `text`.
    items: Range<usize>,
}

/// A row selected by [`SUBSCRIPTION_SELECT`] as the
/// stored subscription's JSON.
///
/// # Errors
/// [`StoreError::Backend`] for a failed read or a minimum amount that is not a decimal.
pub(crate) fn encoded(row: &rusqlite::Row<'_>) -> Result<Encoded, StoreError> {
    let get = |i: usize| {
        row.get_ref(i)
            .context("reading subscriptions")?
            .as_str_or_null()
            .context("reading subscriptions")
    };
    let id = get(0)?.unwrap_or_default().to_owned();
    let mut text = Vec::with_capacity(1024);
    text.push(b'{');
    for (i, field) in SUBSCRIPTION_FIELDS.iter().enumerate() {
        let Some(field) = field else { continue };
        let value = get(i)?;
        // A running subscription has no `since`; every other field is `null`.
        if value.is_some() || *field != "since" {
            member(&mut text, field, &value)?;
        }
    }
    let interval: u32 = row.get(7).context("reading subscriptions")?;
    member(&mut text, "interval", &interval)?;
    let minimum = get(11)?
        .map(|m| decimal("minimum invoice amount", m))
        .transpose()?;
    member(&mut text, "minimum_invoice_amount", &minimum)?;
    text.extend_from_slice(b"\"billed_through\":{");
    let mut first = true;
    for (i, name) in [(13, "in_advance"), (14, "in_arrears")] {
        if let Some(day) = get(i)? {
            if !std::mem::take(&mut first) {
                text.push(b',');
            }
            json(&mut text, name)?;
            text.push(b':');
            json(&mut text, day)?;
        }
    }
    text.extend_from_slice(b"},\"items\":");
    let start = text.len();
    text.extend_from_slice(get(12)?.unwrap_or_default().as_bytes());
    let items = start..text.len();
    text.push(b'}');
    Ok(Encoded { id, text, items })
}

/// The rows of `subscriptions` matching `filter` (its parameters `params`; `w.` names the
/// watermark columns), encoded.
///
/// # Errors
/// [`StoreError::Backend`] as [`encoded`] says.
pub(crate) fn encoded_where(
    conn: &Connection,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
) -> Result<Vec<Encoded>, StoreError> {
    let mut all = Vec::new();
    encoded_in_batches(conn, filter, params, usize::MAX, |batch| {
        all = batch;
        true
    })?;
    Ok(all)
}

/// The rows of `subscriptions` matching `filter`, encoded, handed to `batch` as they are
/// read, `rows_a_batch` at a time (the last batch may be shorter, and is handed even when
/// empty), until `batch` returns `false`.
///
/// # Errors
/// [`StoreError::Backend`] as [`encoded`] says.
pub(crate) fn encoded_in_batches(
    conn: &Connection,
    filter: &str,
    params: &[&dyn rusqlite::ToSql],
    rows_a_batch: usize,
    mut batch: impl FnMut(Vec<Encoded>) -> bool,
) -> Result<(), StoreError> {
    let sql = format!(
        "SELECT {SUBSCRIPTION_SELECT} FROM subscriptions {} WHERE {filter}",
        crate::subscription_watermarks::JOIN
    );
    let mut stmt = conn.prepare_cached(&sql).context("reading subscriptions")?;
    let mut rows = stmt.query(params).context("reading subscriptions")?;
    let mut encoded = Vec::new();
    while let Some(row) = rows.next().context("reading subscriptions")? {
        encoded.push(crate::subscription_rows::encoded(row)?);
        if encoded.len() >= rows_a_batch && !batch(std::mem::take(&mut encoded)) {
            return Ok(());
        }
    }
    batch(encoded);
    Ok(())
}

/// The subscription `encoded` holds, validated.
///
/// # Errors
/// [`StoreError::Backend`] naming the subscription, for items that are not one JSON value
/// or a subscription the deserialiser refuses.
pub(crate) fn decode(encoded: Encoded) -> Result<Subscription, StoreError> {
    let Encoded { id, text, items } = encoded;
    let invalid = |e: &dyn Display| backend(format!("stored subscription {id} is invalid: {e}"));
    // One whole JSON value, so that the items cannot reach past their own member.
    let items = text.get(items).unwrap_or_default();
    if !one_list(items) {
        serde_json::from_slice::<serde::de::IgnoredAny>(items).map_err(|e| invalid(&e))?;
    }
    // Read fast when every price names its model first, as plock writes them; anything else
    // is read again by the ordinary reader, whose rules and messages are the store's.
    match serde_json::from_slice::<ModelFirst>(&text) {
        Ok(ModelFirst(subscription)) => Ok(subscription),
        Err(_) => serde_json::from_slice(&text).map_err(|e| invalid(&e)),
    }
}

/// Whether `json` is a JSON list or object whose brackets, outside strings, first close at
/// its last byte (blanks around it ignored): then a parser reading it as valid JSON ends
/// there too, and it cannot close the subscription's object early. Scanning the brackets
/// costs a fraction of parsing the items twice; anything else is checked by parsing it.
fn one_list(json: &[u8]) -> bool {
    let json = json.trim_ascii();
    if !matches!(json.first(), Some(b'[' | b'{')) {
        return false;
    }
    let mut depth = 0usize;
    let mut at = 0usize;
    while let Some(&byte) = json.get(at) {
        match byte {
            b'"' => match string_end(json, at.saturating_add(1)) {
                Some(end) => at = end,
                None => return false,
            },
            b'[' | b'{' => depth = depth.saturating_add(1),
            b']' | b'}' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return at.saturating_add(1) == json.len();
                }
            }
            _ => {}
        }
        at = at.saturating_add(1);
    }
    false
}

/// The place of the quote closing the string whose text starts at `from`, if any: an
/// escape (a backslash) takes the byte after it with it.
fn string_end(json: &[u8], mut from: usize) -> Option<usize> {
    loop {
        let rest = json.get(from..)?;
        let found = from.saturating_add(memchr::memchr2(b'"', b'\\', rest)?);
        if json.get(found) == Some(&b'"') {
            return Some(found);
        }
        from = found.saturating_add(2);
    }
}

/// Every subscription of `rows`, in their order, decoded on the pool's threads.
///
/// # Errors
/// The error of the first row refused, as [`decode`] says.
pub(crate) fn decode_all(rows: Vec<Encoded>) -> Result<Vec<Subscription>, StoreError> {
    let decoded: Vec<Result<Subscription, StoreError>> = rows
        .into_par_iter()
        .with_min_len(ROWS_A_TASK)
        .map(decode)
        .collect();
    decoded.into_iter().collect()
}

/// Appends `"name":value,`.
fn member(text: &mut Vec<u8>, name: &str, value: &impl serde::Serialize) -> Result<(), StoreError> {
    json(text, name)?;
    text.push(b':');
    json(text, value)?;
    text.push(b',');
    Ok(())
}

fn json(text: &mut Vec<u8>, value: &(impl serde::Serialize + ?Sized)) -> Result<(), StoreError> {
    serde_json::to_writer(text, value).context("encoding a subscription")
}

#[cfg(test)]
mod tests {
    use super::{Encoded, decode, one_list};

    /// A stored subscription's text whose one price is `price`, as [`decode`] takes it.
    fn encoded(price: &str) -> Encoded {
        let head = r#"{"id":"s","account":"a","start":"2025-01-01","interval":1,"mode":"calendar","practice":"in_advance","currency":"EUR","state":"active","minimum_invoice_amount":null,"billed_through":{},"items":"#;
        let items = format!(r#"[{{"product":"p","metric":"m","price":{price}}}]"#);
        let text = format!("{head}{items}}}").into_bytes();
        Encoded {
            id: "s".into(),
            items: head.len()..head.len() + items.len(),
            text,
        }
    }

    #[test]
    fn a_price_naming_its_model_later_still_reads() {
        let first = decode(encoded(r#"{"model":"per_unit","unit_price":"0.5"}"#)).unwrap();
        let later = decode(encoded(r#"{"unit_price":"0.5","model":"per_unit"}"#)).unwrap();
        assert_eq!(later, first);
        let refused = decode(encoded(r#"{"unit_price":"0.5"}"#)).unwrap_err();
        assert!(
            refused
                .to_string()
                .contains("stored subscription s is invalid")
                && refused.to_string().contains("model"),
            "{refused}"
        );
    }

    #[test]
    fn items_that_could_close_the_subscription_early_are_not_one_list() {
        for one in [
            &br#"[{"product":"a","price":{"model":"flat_fee","fee":"1"}}]"#[..],
            br#" [ "]", "\"]" ] "#,
            br#"{"a":[1,{"b":"}"}]}"#,
            b"[]",
        ] {
            assert!(one_list(one), "{}", String::from_utf8_lossy(one));
        }
        for other in [
            &br#"[1],"state":"draft""#[..],
            br#"[1]}{"#,
            br#"[""],1]"#,
            br#""items""#,
            b"[[1]",
            b"",
            b"1",
        ] {
            assert!(!one_list(other), "{}", String::from_utf8_lossy(other));
        }
    }
}
