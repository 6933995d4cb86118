//! Tier tables read once per distinct text on each thread.
//!
//! A company's prices share a few tier tables (the kit's M: 94 distinct tables in 547,023
//! items), each written out in full in every graduated or volume price. Reading a table means
//! parsing each bound and price as a decimal and allocating the list; the text of a table
//! already read gives the same [`Tiers`], so the table is looked up by its text and shared
//! (a [`Tiers`] is one reference-counted list), and a run holds one copy of each.

use std::cell::RefCell;
use std::collections::HashMap;

use serde::de::Error;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::pricing::Tiers;

/// Distinct tier texts kept on one thread, at most; past it the tables are forgotten and
/// read again, so that no input grows the memory held between reads without bound.
const MOST_TABLES: usize = 4096;

thread_local! {
    static READ: RefCell<HashMap<Box<str>, Tiers>> = RefCell::new(HashMap::new());
}

/// A tier table read from its JSON text, shared with the table of the same text read before.
pub(super) struct SharedTiers(pub(super) Tiers);

impl<'de> Deserialize<'de> for SharedTiers {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<SharedTiers, D::Error> {
        // Borrowed from the document: a reader that cannot lend its text refuses, and the
        // caller reads the document the ordinary way.
        let text = <&RawValue>::deserialize(deserializer)?.get();
        tiers_of(text).map(SharedTiers).map_err(D::Error::custom)
    }
}

/// The tiers `text` holds, read once per thread while the table is kept.
fn tiers_of(text: &str) -> Result<Tiers, serde_json::Error> {
    let kept = READ
        .try_with(|read| read.try_borrow().ok()?.get(text).cloned())
        .ok()
        .flatten();
    if let Some(tiers) = kept {
        return Ok(tiers);
    }
    let tiers: Tiers = serde_json::from_str(text)?;
    // Keeping is only a saving: a thread ending, or a table being read inside another
    // reading on this thread, skips it.
    let _ = READ.try_with(|read| {
        if let Ok(mut read) = read.try_borrow_mut() {
            if read.len() >= MOST_TABLES {
                read.clear();
            }
            read.insert(text.into(), tiers.clone());
        }
    });
    Ok(tiers)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_read_twice_is_one_list_equal_to_the_ordinary_reading() {
        let text = r#"[{"up_to":"1000","unit_price":"0.01"},{"unit_price":"0.005"}]"#;
        let SharedTiers(first) = serde_json::from_str(text).unwrap();
        let SharedTiers(second) = serde_json::from_str(text).unwrap();
        assert_eq!(first, serde_json::from_str::<Tiers>(text).unwrap());
        assert!(std::ptr::eq(first.tiers(), second.tiers()));
    }

    #[test]
    fn a_refused_table_is_refused_every_time() {
        let text = r#"[{"up_to":"1000","unit_price":"0.01"}]"#;
        assert!(serde_json::from_str::<SharedTiers>(text).is_err());
        assert!(serde_json::from_str::<SharedTiers>(text).is_err());
    }
}
