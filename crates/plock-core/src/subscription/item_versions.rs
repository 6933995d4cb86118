//! An item's prices over time: the price agreed for a day, and a span cut where the price
//! changes ([`PriceChange`](crate::subscription::PriceChange)).

use chrono::NaiveDate;

use crate::period::Period;
use crate::subscription::item::Item;
use crate::subscription::price_change::Version;

impl Item {
    /// The new price of change `index`: what the next change replaced, or the item's price
    /// for the last one.
    fn price_after(&self, index: usize) -> Version<'_> {
        match self.changes.get(index.saturating_add(1)) {
            Some(next) => Version {
                price: &next.before,
                rebate: next.rebate_before,
            },
            None => Version {
                price: &self.price,
                rebate: self.rebate,
            },
        }
    }

    /// The item's price on `day`, counting only its first `count` changes.
    pub fn version_on(&self, count: usize, day: NaiveDate) -> Version<'_> {
        let counted = self.changes.get(..count).unwrap_or(&self.changes);
        match counted.iter().rposition(|c| c.from <= day) {
            Some(index) => self.price_after(index),
            None => match self.changes.first() {
                Some(first) => Version {
                    price: &first.before,
                    rebate: first.rebate_before,
                },
                None => Version {
                    price: &self.price,
                    rebate: self.rebate,
                },
            },
        }
    }

    /// `span` cut where the price changes, counting the first `count` changes: each piece
    /// with the one price it has throughout.
    pub fn pieces(&self, count: usize, span: Period) -> Vec<(Period, Version<'_>)> {
        let counted = self.changes.get(..count).unwrap_or(&self.changes);
        let mut cuts: Vec<NaiveDate> = counted
            .iter()
            .map(|c| c.from)
            .filter(|d| *d > span.start() && *d < span.end())
            .collect();
        cuts.sort_unstable();
        cuts.dedup();
        cuts.push(span.end());
        let mut pieces: Vec<(Period, Version<'_>)> = Vec::with_capacity(cuts.len());
        let mut start = span.start();
        for cut in cuts {
            let version = self.version_on(count, start);
            match pieces.last_mut() {
                // A change overridden by a later one leaves no cut.
                Some((last, price)) if *price == version => {
                    if let Ok(longer) = Period::new(last.start(), cut) {
                        *last = longer;
                    }
                }
                _ => {
                    if let Ok(piece) = Period::new(start, cut) {
                        pieces.push((piece, version));
                    }
                }
            }
            start = cut;
        }
        pieces
    }
}
