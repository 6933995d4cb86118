//! One record packed in integers: its sort key, its day word, and the quantity it holds.

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::id::RecordId;
use crate::period::Period;
use crate::usage::{UsageError, UsageRecord};

/// Days are stored as an offset from 1970-01-01 plus this bias, in 24 bits: about 22,900
/// years either side.
pub(super) const DAY_BIAS: i64 = 1 << 23;
pub(super) const SCALE_BITS: u32 = 5;
/// Days since 0001-01-01 of 1970-01-01.
pub(super) const UNIX_DAY_FROM_CE: i64 = 719_163;

/// One record, packed for building and sorting, 16 bytes: its sort key itself, `(group <<
/// 96) | (day and scale << 64) | mantissa with its sign bit flipped`, so records sort as
/// plain integers (in one compare, without computing a key) by group, day, scale, mantissa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub(crate) struct Packed(u128);

/// Flipping the sign bit orders any `i64` as its unsigned bits (mantissas are never
/// negative in a table, but the order stays right for any).
pub(super) const SIGN: u64 = 1 << 63;

impl Packed {
    /// A record of `group` with `mantissa` and `day_scale` (`(biased day << 5) | scale`).
    pub(crate) fn new(mantissa: i64, group: u32, day_scale: u32) -> Packed {
        Packed(
            (u128::from(group) << 96)
                | (u128::from(day_scale) << 64)
                | u128::from(mantissa.cast_unsigned() ^ SIGN),
        )
    }

    pub(crate) fn group(self) -> u32 {
        (self.0 >> 96) as u32
    }

    pub(crate) fn day_scale(self) -> u32 {
        (self.0 >> 64) as u32
    }

    pub(crate) fn mantissa(self) -> i64 {
        ((self.0 as u64) ^ SIGN).cast_signed()
    }

    /// The mantissa's bits as they sort (its sign bit flipped).
    pub(super) fn sortable(self) -> u64 {
        self.0 as u64
    }

    /// The record of a group, a day and scale word and a mantissa's sortable bits.
    pub(super) fn from_parts(group: u32, day_scale: u32, sortable: u64) -> Packed {
        Packed((u128::from(group) << 96) | (u128::from(day_scale) << 64) | u128::from(sortable))
    }

    /// The same record in group `group`.
    pub(crate) fn with_group(self, group: u32) -> Packed {
        Packed((self.0 & !(u128::from(u32::MAX) << 96)) | (u128::from(group) << 96))
    }
}

/// A quantity and a date as the table holds them: (mantissa, day and scale); or the field,
/// `quantity` or `timestamp`, that is outside the table's range.
pub(crate) fn pack(quantity: Decimal, date: NaiveDate) -> Result<(i64, u32), &'static str> {
    let mantissa = i64::try_from(quantity.mantissa()).map_err(|_| "quantity")?;
    let day = day_word(date).ok_or("timestamp")?;
    Ok((mantissa, day | quantity.scale()))
}

/// Re-sent records: of each (group, record id), the greatest (timestamp, quantity, scale), so
/// the one kept never depends on input order.
///
/// Records are gathered as they come and sorted once when packed: O(n log n) whatever the
/// ids (record ids come straight from files, and ids made to collide in a fixed-key hash
/// would make every insertion walk a long probe sequence), without an ordered map's node per
/// record and its comparisons on every insertion.
#[derive(Debug, Default)]
pub(crate) struct Resent(Vec<(u32, RecordId, DateTime<Utc>, Decimal)>);

impl Resent {
    /// Offers one record.
    pub(crate) fn keep(
        &mut self,
        group: u32,
        id: RecordId,
        timestamp: DateTime<Utc>,
        quantity: Decimal,
    ) {
        self.0.push((group, id, timestamp, quantity));
    }

    /// Each (group, record id) once, with its greatest (timestamp, quantity, scale), in
    /// (group, record id) order.
    fn kept(self) -> impl Iterator<Item = (u32, DateTime<Utc>, Decimal)> {
        let mut all = self.0;
        all.sort_unstable_by(|a, b| {
            (a.0, &a.1)
                .cmp(&(b.0, &b.1))
                // The greatest first within a key.
                .then_with(|| (b.2, b.3, b.3.scale()).cmp(&(a.2, a.3, a.3.scale())))
        });
        let mut last: Option<(u32, RecordId)> = None;
        all.into_iter()
            .filter_map(move |(group, id, timestamp, quantity)| {
                if last.as_ref().is_some_and(|(g, i)| *g == group && *i == id) {
                    return None;
                }
                last = Some((group, id));
                Some((group, timestamp, quantity))
            })
    }

    /// Packs the kept records into `records`; returns those outside the table's range.
    pub(crate) fn pack_into(self, records: &mut Vec<Packed>) -> Vec<(DateTime<Utc>, Decimal)> {
        self.pack_each(|r| records.push(r))
    }

    /// Gives each kept record, packed, to `keep`; returns those outside the table's range.
    pub(super) fn pack_each(self, mut keep: impl FnMut(Packed)) -> Vec<(DateTime<Utc>, Decimal)> {
        let mut outside = Vec::new();
        for (group, timestamp, quantity) in self.kept() {
            match pack(quantity, timestamp.date_naive()) {
                Ok((mantissa, day_scale)) => keep(Packed::new(mantissa, group, day_scale)),
                Err(_) => outside.push((timestamp, quantity)),
            }
        }
        outside
    }
}

/// The packed day of a date, or `None` outside the table's range.
pub(crate) fn day_word(date: NaiveDate) -> Option<u32> {
    unix_day_word(i64::from(date.num_days_from_ce()).checked_sub(UNIX_DAY_FROM_CE)?)
}

/// The packed day of the day `days` after 1970-01-01, or `None` outside the table's range.
pub(crate) fn unix_day_word(days: i64) -> Option<u32> {
    let biased = days.checked_add(DAY_BIAS)?;
    let biased = u32::try_from(biased).ok().filter(|d| *d < (1 << 24))?;
    biased.checked_shl(SCALE_BITS)
}

/// The scale held in the low bits of a packed day word.
pub(super) fn scale_of(day_scale: u32) -> u32 {
    day_scale & ((1 << SCALE_BITS) - 1)
}

/// A record's quantity, from its mantissa and packed day word.
pub(crate) fn quantity(mantissa: i64, day_scale: u32) -> Decimal {
    Decimal::new(mantissa, scale_of(day_scale))
}

pub(super) fn period_contains_word(period: &Period, day_scale: u32) -> bool {
    i64::from(day_scale >> SCALE_BITS)
        .checked_sub(DAY_BIAS)
        .and_then(|d| d.checked_add(UNIX_DAY_FROM_CE))
        .and_then(|d| i32::try_from(d).ok())
        .and_then(NaiveDate::from_num_days_from_ce_opt)
        .is_some_and(|d| period.contains(d))
}

/// `value / 10^scale` as a `Decimal`, or `None` past its 96 bits.
pub(super) fn decimal(value: i128, scale: u32) -> Option<Decimal> {
    Decimal::try_from_i128_with_scale(value, scale).ok()
}

/// A record's mantissa and packed day and scale, as the table holds them, or why the table
/// cannot hold it.
pub(crate) fn pack_record(r: &UsageRecord) -> Result<(i64, u32), UsageError> {
    pack(r.quantity(), r.timestamp().date_naive()).map_err(|field| UsageError::OutsideTable {
        account: r.account().clone(),
        metric: r.metric().clone(),
        field,
        value: match field {
            "quantity" => r.quantity().to_string(),
            _ => r.timestamp().to_rfc3339(),
        },
    })
}
