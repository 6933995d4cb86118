//! The usage table of records held in memory, built in parallel: the records packed as
//! ingestion packs them (dense groups of the accounts' and metrics' ranks) by every thread
//! at once, then sorted into the table by the same parallel sort, where the builder files
//! them one at a time and places them in one serial pass.

use std::collections::HashSet;
use std::hash::Hash;

use crate::par::prelude::*;

use crate::hash::{FastState, InlineIndex};
use crate::id::AccountKey;
use crate::usage::{Packed, Resent, UsageError, UsageRecord, UsageTable, pack_record};

impl UsageTable {
    /// The table of `records`, built across the threads of the current rayon pool: the
    /// table [`UsageTable::from_records`] builds, re-sent records (same account, metric and
    /// record id) counted once the same way.
    ///
    /// # Errors
    /// [`UsageError::OutsideTable`] for the first record, in order, that the table cannot
    /// hold, as [`UsageTableBuilder::push`](crate::usage::UsageTableBuilder::push) reports it.
    pub fn par_from_records(records: &[UsageRecord]) -> Result<UsageTable, UsageError> {
        if let Some(e) = records.par_iter().find_map_first(|r| pack_record(r).err()) {
            return Err(e);
        }
        let accounts = distinct(records, UsageRecord::account);
        let metrics = distinct(records, UsageRecord::metric);
        // Dense groups are account x metrics + metric in 32 bits.
        let slots = u32::try_from(metrics.len()).unwrap_or(u32::MAX).max(1);
        let room = u64::from(u32::MAX)
            .checked_div(u64::from(slots))
            .unwrap_or(0);
        if u64::try_from(accounts.len()).unwrap_or(u64::MAX) >= room {
            return UsageTable::from_records(records);
        }
        // Accounts through an index of their inline keys (a search of strings cost more than
        // the packing); the few metrics by a search.
        let index = InlineIndex::new(accounts.iter().map(AccountKey::as_str));
        let group = |r: &UsageRecord| {
            let a = index.get_str(r.account().as_str()).unwrap_or(0);
            let m = metrics
                .binary_search(r.metric())
                .map_or(0, |m| u32::try_from(m).unwrap_or(0));
            a.saturating_mul(slots).saturating_add(m)
        };
        let mut packed_records: Vec<Packed> = records
            .par_iter()
            .filter(|r| r.record_id().is_none())
            .filter_map(|r| {
                let (mantissa, day_scale) = pack_record(r).ok()?;
                Some(Packed::new(mantissa, group(r), day_scale))
            })
            .collect();
        let mut resent = Resent::default();
        for r in records {
            if let Some(id) = r.record_id() {
                resent.keep(group(r), id.clone(), r.timestamp(), r.quantity());
            }
        }
        // Every record was packed above: none is outside the table's range.
        let _ = resent.pack_into(&mut packed_records);
        drop(index);
        Ok(UsageTable::from_dense(
            accounts,
            metrics,
            packed_records,
            slots,
        ))
    }
}

/// The distinct values of `field` over `records`, sorted, gathered by every thread.
fn distinct<T>(records: &[UsageRecord], field: impl Fn(&UsageRecord) -> &T + Sync) -> Vec<T>
where
    T: Clone + Ord + Hash + Send + Sync,
{
    // A set per part of the records, then the sets merged: a few parts a thread.
    let part = records
        .len()
        .div_ceil(crate::par::current_num_threads().saturating_mul(4))
        .max(1);
    let seen: HashSet<&T, FastState> = records
        .par_chunks(part)
        .map(|part| part.iter().map(&field).collect::<HashSet<&T, FastState>>())
        .reduce_with(|mut a, b| {
            a.extend(b);
            a
        })
        .unwrap_or_default();
    let mut values: Vec<T> = seen.into_iter().cloned().collect();
    values.par_sort_unstable();
    values
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};
    use proptest::prelude::*;
    use rust_decimal::Decimal;

    use crate::id::{AccountKey, MetricId, RecordId};
    use crate::usage::{UsageRecord, UsageTable};

    fn record() -> impl Strategy<Value = UsageRecord> {
        (
            0usize..5,
            0usize..4,
            prop_oneof![9 => 0i64..100_000_000, 1 => Just(1_000_000_000_000)],
            prop_oneof![
                18 => 0i128..10_000,
                1 => Just(i128::from(i64::MAX)),
                1 => Just(i128::from(i64::MAX) + 1)
            ],
            0u32..4,
            prop::option::of(0u8..3),
        )
            .prop_map(|(a, m, seconds, mantissa, scale, id)| {
                UsageRecord::new(
                    AccountKey::new(["acme", "globex", "1", "894", "initech"][a]).unwrap(),
                    MetricId::new(["api", "gb", "13", "seats"][m]).unwrap(),
                    DateTime::<Utc>::from_timestamp(1_735_689_600 + seconds, 0).unwrap_or_default(),
                    // A mantissa past 63 bits, at a scale that keeps the value within
                    // MAX_QUANTITY: the table, not the record, refuses it.
                    Decimal::from_i128_with_scale(
                        mantissa,
                        if mantissa > i128::from(i64::MAX) {
                            scale.max(1)
                        } else {
                            scale
                        },
                    ),
                    id.map(|i| RecordId::new(format!("r{i}")).unwrap()),
                )
                .unwrap()
            })
    }

    proptest! {
        /// The parallel build is the serial builder's table, or its error.
        #[test]
        fn the_parallel_build_is_the_builders(
            records in prop::collection::vec(record(), 0..300),
        ) {
            let serial = UsageTable::from_records(&records);
            let parallel = UsageTable::par_from_records(&records);
            match (serial, parallel) {
                (Ok(s), Ok(p)) => prop_assert_eq!(s, p),
                (Err(s), Err(p)) => prop_assert_eq!(s.to_string(), p.to_string()),
                (s, p) => prop_assert!(false, "{:?}\n{:?}", s.map(|t| t.len()), p.map(|t| t.len())),
            }
        }
    }

    #[test]
    fn many_records_build_alike() {
        let records: Vec<UsageRecord> = (0..200_000u32)
            .map(|i| {
                UsageRecord::new(
                    AccountKey::new(format!("a{}", i % 997)).unwrap(),
                    MetricId::new(format!("m{}", i % 7)).unwrap(),
                    DateTime::<Utc>::from_timestamp(1_735_689_600 + i64::from(i) * 37, 0).unwrap(),
                    Decimal::new(i64::from(i % 1000), i % 3),
                    (i % 11 == 0).then(|| RecordId::new(format!("r{}", i % 101)).unwrap()),
                )
                .unwrap()
            })
            .collect();
        assert_eq!(
            UsageTable::par_from_records(&records).unwrap(),
            UsageTable::from_records(&records).unwrap()
        );
    }
}
