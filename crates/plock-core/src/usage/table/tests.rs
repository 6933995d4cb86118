use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;

use super::key_sort::SortRoom;
use super::pack::{Packed, Resent};
use super::sort::{
    NarrowKey, place_by_group, sort_bucket, sort_groups, sort_records, sorted_columns,
};
use super::*;
use crate::id::RecordId;
use crate::period::Period;
use crate::usage::Aggregation;
use crate::usage::{UsageRecord, aggregate};
use chrono::TimeZone;
use proptest::prelude::*;

fn rec(account: &str, metric: &str, day: u32, q: Decimal, id: Option<&str>) -> UsageRecord {
    UsageRecord::new(
        AccountKey::new(account).unwrap(),
        MetricId::new(metric).unwrap(),
        Utc.with_ymd_and_hms(2025, 1, 1, 7, 0, 0).unwrap() + chrono::Days::new(day.into()),
        q,
        id.map(|s| RecordId::new(s).unwrap()),
    )
    .unwrap()
}

/// A record as numbers: (account, metric, day, mantissa, scale, record id).
type Raw = (usize, usize, u32, i64, u32, Option<u8>);

/// The records of `raw`.
fn records_of(raw: &[Raw]) -> Vec<UsageRecord> {
    raw.iter()
        .map(|(a, m, d, q, s, id)| {
            let id = id.map(|i| format!("r{i}"));
            let quantity = Decimal::new(*q, *s);
            rec(
                &format!("a{a}"),
                &format!("m{m}"),
                *d,
                quantity,
                id.as_deref(),
            )
        })
        .collect()
}

fn period(from: u64, to: u64) -> Period {
    let origin = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap();
    Period::new(
        origin + chrono::Days::new(from),
        origin + chrono::Days::new(to),
    )
    .unwrap()
}

proptest! {
    /// A bucket sorted as 64-bit keys, or as records when the keys would not hold it, is
    /// the bucket sorted as records: groups, days and mantissas over spans from one value
    /// to the whole field, so both ways are taken.
    #[test]
    fn buckets_sort_as_their_records(
        records in prop::collection::vec((any::<u32>(), any::<u32>(), any::<i64>()), 1..300),
        spans in (0u32..=32, 0u32..=32, 0u32..=64),
        least in (any::<u32>(), any::<u32>(), any::<u64>()),
    ) {
        let span = |v: u64, bits: u32, field: u32| {
            if bits >= field { v } else { v & ((1u64 << bits) - 1) }
        };
        let mut bucket: Vec<Packed> = records
            .iter()
            .map(|(g, d, m)| {
                Packed::from_parts(
                    least.0.saturating_add(span(u64::from(*g), spans.0, 32) as u32),
                    least.1.saturating_add(span(u64::from(*d), spans.1, 32) as u32),
                    least.2.saturating_add(span(*m as u64, spans.2, 64)),
                )
            })
            .collect();
        let mut expected = bucket.clone();
        expected.sort_unstable();
        let narrow = NarrowKey::of(&bucket).is_some();
        let fits = spans.0 + spans.1 + spans.2 <= 64;
        prop_assert!(narrow || !fits);
        sort_bucket(&mut bucket, &mut SortRoom::default());
        prop_assert_eq!(bucket, expected);
    }
}

#[test]
fn sorted_columns_are_the_columns_of_one_sort() {
    // Enough records to be filed into buckets; a third of them in one heavy group, a
    // bucket larger than a part, sorted in parallel; groups up to the bound given; one
    // mantissa past 32 bits makes the column wide.
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    // Keys of up to 48 bits (filed in 6 bytes), of 49 to 64 (70,000 groups, wide: 5 bits of
    // the group, 7 of the day, 41 of the mantissa) and of more (filed as records).
    for (groups, wide) in [
        (1u32, false),
        (4_000, true),
        (70_000, false),
        (70_000, true),
        (u32::MAX, true),
    ] {
        let mut records: Vec<Packed> = (0..200_000)
            .map(|_| {
                let r = next();
                let group = if r % 3 == 0 {
                    groups / 2
                } else {
                    (r >> 8) as u32 % groups
                };
                Packed::new((r >> 40) as i64 % 1_000, group, (r % 97) as u32)
            })
            .collect();
        if wide {
            records[7] = Packed::new(1 << 40, records[7].group(), 3);
        }
        let mut expected = records.clone();
        expected.sort_unstable();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let (mantissas, days, runs) = pool.install(|| sorted_columns(records, groups));
        let runs: Vec<(u32, usize)> = runs
            .into_iter()
            .flatten()
            .map(|(group, start, _)| (group, start))
            .collect();
        let expected_days: Vec<u32> = expected.iter().map(|r| r.day_scale()).collect();
        let wide_mantissas: Vec<i64> = expected.iter().map(|r| r.mantissa()).collect();
        match (&mantissas, wide) {
            (Mantissas::Wide(m), true) => assert!(*m == wide_mantissas, "{groups} groups"),
            (Mantissas::Narrow(m), false) => {
                let m: Vec<i64> = m.iter().map(|m| i64::from(*m)).collect();
                assert!(m == wide_mantissas, "{groups} groups");
            }
            _ => panic!("{groups} groups: the wrong width"),
        }
        let words: Vec<u32> = match &days {
            Days::Narrow { base, offsets } => {
                offsets.iter().map(|o| base + u32::from(*o)).collect()
            }
            Days::Wide(words) => words.clone(),
        };
        assert!(words == expected_days, "{groups} groups");
        assert_eq!(days, Days::of(expected_days.clone()), "{groups} groups");
        let mut expected_runs = Vec::new();
        let mut at = 0;
        for run in expected.chunk_by(|a, b| a.group() == b.group()) {
            expected_runs.push((run[0].group(), at));
            at += run.len();
        }
        assert_eq!(runs, expected_runs, "{groups} groups");
    }
}

#[test]
fn a_record_is_sixteen_bytes() {
    assert_eq!(std::mem::size_of::<Packed>(), 16);
}

#[test]
fn mantissas_are_four_bytes_while_they_fit_in_32_bits() {
    let narrow = [
        rec("a", "m", 0, Decimal::from(u32::MAX), None),
        rec("a", "m", 1, Decimal::ONE, None),
    ];
    let table = UsageTable::from_records(&narrow).unwrap();
    assert!(matches!(table.mantissas, Mantissas::Narrow(_)));
    // The second record widens the column: the first keeps its value.
    let wide = [
        narrow[0].clone(),
        rec("b", "m", 0, Decimal::from(u64::from(u32::MAX) + 1), None),
    ];
    let table = UsageTable::from_records(&wide).unwrap();
    assert_eq!(
        table.mantissas,
        Mantissas::Wide(vec![i64::from(u32::MAX), 1 << 32])
    );
    let p = period(0, 2);
    let a = AccountKey::new("a").unwrap();
    let m = MetricId::new("m").unwrap();
    assert_eq!(
        table.aggregate(&a, &m, Aggregation::Sum, &p),
        Some(Decimal::from(u32::MAX))
    );
}

#[test]
fn days_are_two_bytes_while_they_span_less_than_2_to_the_16() {
    let (a, m) = (AccountKey::new("a").unwrap(), MetricId::new("m").unwrap());
    // 2,047 days and scales 0 and 28 apart: 2,047 x 32 + 28 = 65,532.
    let small = Decimal::new(5, 28);
    let near = [
        rec("a", "m", 3, Decimal::ONE, None),
        rec("a", "m", 2_050, small, None),
    ];
    let table = UsageTable::from_records(&near).unwrap();
    let Days::Narrow { offsets, .. } = &table.days else {
        panic!("{:?}", table.days)
    };
    assert_eq!(offsets, &[0, 65_532]);
    // 2,048 days apart: 65,536.
    let far = [near[0].clone(), rec("a", "m", 2_051, small, None)];
    let table_far = UsageTable::from_records(&far).unwrap();
    assert!(matches!(table_far.days, Days::Wide(_)));
    for (table, last) in [(&table, 2_050), (&table_far, 2_051)] {
        let sum = table.aggregate(&a, &m, Aggregation::Sum, &period(0, last + 1));
        assert_eq!(sum, Some(Decimal::ONE + small));
        let none = table.aggregate(&a, &m, Aggregation::Count, &period(4, last));
        assert_eq!(none, Some(Decimal::ZERO));
        let last_day = table.aggregate(&a, &m, Aggregation::Max, &period(last, last + 1));
        assert_eq!(last_day, Some(small));
        let first_day = table.aggregate(&a, &m, Aggregation::Max, &period(3, 4));
        assert_eq!(first_day, Some(Decimal::ONE));
    }
}

#[test]
fn out_of_range_quantities_and_dates_are_named() {
    let mut b = UsageTableBuilder::new();
    let key = AccountKey::new("acme").unwrap();
    let metric = MetricId::new("gb").unwrap();
    let at = Utc.with_ymd_and_hms(2025, 1, 1, 0, 0, 0).unwrap();
    let err = b
        .push(&key, &metric, at, Decimal::MAX, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("quantity") && err.contains("79228162514264337593543950335"));
    let far = DateTime::<Utc>::MAX_UTC;
    let err = b.push(&key, &metric, far, Decimal::ONE, None).unwrap_err();
    assert!(err.to_string().contains("timestamp"), "{err}");
}

proptest! {
    /// The in-place sort of the builder's columns gives the order of `sort_records` (any
    /// mantissa, any number of groups, some of them empty) and the groups' bounds.
    #[test]
    fn columns_sort_as_packed_records(
        raw in prop::collection::vec((0u32..12, any::<u32>(), prop_oneof![any::<i64>(), -3i64..3]), 0..300),
        day_range in prop_oneof![Just(2u32), Just(u32::MAX)],
    ) {
        let mut packed: Vec<Packed> = raw
            .iter()
            .map(|(g, d, m)| Packed::new(*m, *g, d % day_range))
            .collect();
        let mut mantissas: Vec<i64> = packed.iter().map(|r| r.mantissa()).collect();
        let mut days: Vec<u32> = packed.iter().map(|r| r.day_scale()).collect();
        let mut groups: Vec<u32> = packed.iter().map(|r| r.group()).collect();
        let bounds = place_by_group(&mut mantissas, &mut days, &mut groups, 12);
        sort_groups(&mut mantissas, &mut days, &bounds);
        sort_records(&mut packed);
        prop_assert_eq!(&mantissas, &packed.iter().map(|r| r.mantissa()).collect::<Vec<_>>());
        prop_assert_eq!(&days, &packed.iter().map(|r| r.day_scale()).collect::<Vec<_>>());
        prop_assert_eq!(&groups, &packed.iter().map(|r| r.group()).collect::<Vec<_>>());
        prop_assert_eq!(bounds.len(), 13);
        for (g, w) in bounds.windows(2).enumerate() {
            let expected = packed.iter().filter(|r| r.group() as usize == g).count();
            prop_assert_eq!(w[1] - w[0], expected);
            prop_assert!(groups[w[0]..w[1]].iter().all(|x| *x as usize == g));
        }
    }

    /// The builder's table, whatever the order of the records, is the one the packed path
    /// (`from_dense`: a sort of 16-byte records) makes of them.
    #[test]
    fn the_builder_makes_the_packed_paths_table(
        raw in prop::collection::vec(
            (0usize..5, 0usize..3, 0u32..70, prop_oneof![Just(0i64), 0i64..10_000_000, Just(i64::MAX)], 0u32..4, prop::option::of(0u8..8)),
            0..150,
        ),
        rotate in 0usize..150,
        reverse in any::<bool>(),
    ) {
        let records = records_of(&raw);
        let table = UsageTable::from_records(&records).unwrap();
        let mut shuffled = records.clone();
        let turn = rotate.min(shuffled.len());
        shuffled.rotate_left(turn);
        if reverse {
            shuffled.reverse();
        }
        prop_assert_eq!(&UsageTable::from_records(&shuffled).unwrap(), &table);

        // The packed path: groups numbered account x 3 + metric over sorted names (the
        // builder's table names only the metrics it saw).
        let accounts: Vec<AccountKey> = (0..5).map(|a| AccountKey::new(format!("a{a}")).unwrap()).collect();
        let seen: std::collections::BTreeSet<usize> = raw.iter().map(|r| r.1).collect();
        let metrics: Vec<MetricId> = seen.iter().map(|m| MetricId::new(format!("m{m}")).unwrap()).collect();
        let mut packed = Vec::new();
        let mut resent = Resent::default();
        for ((a, m, ..), r) in raw.iter().zip(&records) {
            let m = seen.iter().position(|x| x == m).unwrap();
            let group = u32::try_from(a * 3 + m).unwrap();
            let quantity = if r.quantity().is_zero() { r.quantity().abs() } else { r.quantity() };
            match r.record_id() {
                Some(id) => resent.keep(group, id.clone(), r.timestamp(), quantity),
                None => {
                    let (mantissa, day_scale) = pack(quantity, r.timestamp().date_naive()).unwrap();
                    packed.push(Packed::new(mantissa, group, day_scale));
                }
            }
        }
        prop_assert!(resent.pack_into(&mut packed).is_empty());
        prop_assert_eq!(UsageTable::from_dense(accounts, metrics, packed, 3), table);
    }

    #[test]
    fn the_table_aggregates_as_the_reference(
        raw in prop::collection::vec(
            // Days 2,000 or more apart in some tables: their day column is whole words.
            (0usize..3, 0usize..2, prop_oneof![8 => 0u32..70, 1 => 2040u32..2060], prop_oneof![4 => Just(0i64), 4 => 0i64..10_000_000, 1 => Just(i64::from(u32::MAX)), 1 => Just(i64::from(u32::MAX) + 1), 1 => (1i64 << 40)..(1i64 << 41)], 0u32..4, prop::option::of(0u8..8)),
            0..120,
        ),
        from in prop_oneof![0u64..40, 2030u64..2060],
        len in prop_oneof![1u64..40, 1u64..2100],
    ) {
        let records = records_of(&raw);
        let table = UsageTable::from_records(&records).unwrap();
        let p = period(from, from + len);
        for a in 0..3 {
            for m in 0..2 {
                let key = AccountKey::new(format!("a{a}")).unwrap();
                let metric = MetricId::new(format!("m{m}")).unwrap();
                let mine: Vec<&UsageRecord> = records.iter().filter(|r| r.account() == &key && r.metric() == &metric).collect();
                for aggregation in Aggregation::ALL {
                    let expected = aggregate(mine.iter().copied(), &metric, aggregation, &p).ok();
                    let got = table.aggregate(&key, &metric, aggregation, &p);
                    prop_assert_eq!(got.map(|d| d.to_string()), expected.map(|d| d.to_string()), "{:?}", aggregation);
                }
            }
        }
    }
}
