//! What the kit keeps of a run's invoices: one small row per invoice and per line, taken as
//! the run hands its invoices on, so that the run never holds them all.

use std::num::NonZeroU32;

use anyhow::{Context, Result, anyhow};
use plock_core::invoice::InvoiceLine;
use plock_core::{AccountId, Invoice};
use rayon::prelude::*;
use rust_decimal::Decimal;

/// An invoice as the kit's invoices.csv has it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KitInvoice {
    /// The owner's numeric id.
    pub owner: u32,
    /// How many lines.
    pub lines: u32,
    /// The total in cents.
    pub total_cents: i64,
}

/// An invoice line as the kit's invoice_lines.csv has it, but for its owner, which is its
/// invoice's (32 bytes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KitLine {
    /// The account the charge comes from.
    pub source: u32,
    /// The item (plock's product).
    pub item: u32,
    /// The metric, for a usage line (the kit's ids start at 1).
    pub metric: Option<NonZeroU32>,
    /// The quantity's scale: the quantity is `quantity_units / 10^quantity_scale`.
    pub quantity_scale: u32,
    /// The quantity's digits, for a usage line.
    pub quantity_units: i64,
    /// The amount in cents.
    pub amount_cents: i64,
}

impl KitLine {
    /// The quantity, for a usage line.
    pub fn quantity(&self) -> Decimal {
        Decimal::new(self.quantity_units, self.quantity_scale)
    }
}

/// How many invoices' rows are made together: a piece's line rows (about 6 an invoice at M,
/// 32 bytes each) are one vector.
pub const PIECE: usize = 256;

/// The kit's rows of every invoice taken so far, in number order.
#[derive(Debug, Default)]
pub struct KitResults {
    /// One row per invoice.
    pub invoices: Vec<KitInvoice>,
    /// One row per line, invoice after invoice, a vector per piece of 256 invoices:
    /// each made at its size, none grown and copied.
    pub lines: Vec<Vec<KitLine>>,
    /// How many entries of billed usage the run gave.
    pub billed_usage: usize,
}

impl KitResults {
    /// Takes `invoices` in: their rows are made across the pool's threads, a piece of
    /// invoices at a time, each piece's lines into a vector of its own made at its size, and
    /// the invoices are freed there too. Nothing is done serially but appending the pieces:
    /// sizing one vector for the whole part first (and zeroing it) was a serial pass over
    /// every invoice and line row while the run's threads waited.
    ///
    /// # Errors
    /// An id that is not a number, or an amount past an i64 of cents.
    pub fn take(&mut self, invoices: Vec<Invoice>) -> Result<()> {
        let pieces: Vec<Result<(Vec<KitInvoice>, Vec<KitLine>)>> = invoices
            .into_par_iter()
            .chunks(PIECE)
            .map(|piece| {
                let total = piece.iter().map(|i| i.lines().len()).sum();
                let mut lines = Vec::with_capacity(total);
                let rows = piece
                    .into_iter()
                    .map(|invoice| rows(&invoice, &mut lines))
                    .collect::<Result<Vec<KitInvoice>>>()?;
                Ok((rows, lines))
            })
            .collect();
        self.invoices
            .reserve(pieces.iter().flatten().map(|(rows, _)| rows.len()).sum());
        for piece in pieces {
            let (rows, lines) = piece?;
            self.invoices.extend(rows);
            self.lines.push(lines);
        }
        Ok(())
    }

    /// The rows of every invoice of `invoices`, in their order.
    ///
    /// # Errors
    /// As [`KitResults::take`].
    pub fn of(invoices: Vec<Invoice>) -> Result<Self> {
        let mut results = KitResults::default();
        results.take(invoices)?;
        Ok(results)
    }

    /// Every line row, in order, with its invoice's owner.
    pub fn each_line(&self) -> impl Iterator<Item = (u32, &KitLine)> {
        let owners = self
            .invoices
            .iter()
            .flat_map(|i| std::iter::repeat_n(i.owner, i.lines as usize));
        owners.zip(self.lines.iter().flatten())
    }

    /// How many line rows.
    pub fn line_count(&self) -> usize {
        self.lines.iter().map(Vec::len).sum()
    }
}

/// The kit's row of one invoice, its lines' rows pushed on `lines`.
fn rows(invoice: &Invoice, lines: &mut Vec<KitLine>) -> Result<KitInvoice> {
    let owner = (invoice.owner(), number(invoice.owner().as_str())?);
    for l in invoice.lines() {
        lines.push(line(l, owner).with_context(|| format!("invoice {}", invoice.number()))?);
    }
    Ok(KitInvoice {
        owner: owner.1,
        lines: u32::try_from(invoice.lines().len())?,
        total_cents: cents(invoice.total().amount())?,
    })
}

/// The kit's row of `line` on the invoice of `owner` (its id and number): most lines are the
/// owner's own charges, whose source is then the owner's number, not read again.
fn line(line: &InvoiceLine, (owner, owner_number): (&AccountId, u32)) -> Result<KitLine> {
    let metric = match &line.metric {
        Some(m) => {
            Some(NonZeroU32::new(number(m.as_str())?).ok_or_else(|| anyhow!("metric id 0"))?)
        }
        None => None,
    };
    let quantity = line.quantity;
    Ok(KitLine {
        source: if line.source_account == *owner {
            owner_number
        } else {
            number(line.source_account.as_str())?
        },
        item: number(line.product.as_str())?,
        metric,
        quantity_scale: quantity.scale(),
        quantity_units: i64::try_from(quantity.mantissa())
            .map_err(|_| anyhow!("quantity {quantity} is too large"))?,
        amount_cents: cents(line.amount.amount())?,
    })
}

/// One of the kit's numeric ids: its digits read one by one (`str::parse` checks more, and
/// took a tenth of the kit's share of the run).
fn number(id: &str) -> Result<u32> {
    let digits = id.as_bytes();
    if digits.is_empty() || digits.len() > 9 {
        return id
            .parse()
            .with_context(|| format!("id {id:?} is not a kit id"));
    }
    digits
        .iter()
        .try_fold(0u32, |n, b| match b.wrapping_sub(b'0') {
            // At most 9 digits: below u32::MAX.
            d @ 0..=9 => Ok(n * 10 + u32::from(d)),
            _ => Err(anyhow!("id {id:?} is not a kit id")),
        })
}

/// `amount` (rounded to cents already) as whole cents: its digits scaled up when it has at
/// most two decimals, as every amount of a run in the kit's currency has (`rescale` took a
/// tenth of the kit's share of the run); rescaled otherwise.
fn cents(amount: Decimal) -> Result<i64> {
    let too_large = || anyhow!("amount {amount} is too large");
    let up = match amount.scale() {
        0 => Some(100),
        1 => Some(10),
        2 => Some(1),
        _ => None,
    };
    if let Some(up) = up {
        let mantissa = i64::try_from(amount.mantissa()).map_err(|_| too_large())?;
        return mantissa.checked_mul(up).ok_or_else(too_large);
    }
    let mut rescaled = amount;
    rescaled.rescale(2);
    i64::try_from(rescaled.mantissa()).map_err(|_| too_large())
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::{KitInvoice, cents, number, rows};
    use chrono::NaiveDate;
    use plock_core::invoice::{Dispatch, InvoiceLine, LineKind};
    use plock_core::period::Period;
    use plock_core::{AccountId, Currency, Invoice, MetricId, Money, ProductId};
    use std::collections::BTreeMap;
    use std::num::NonZeroU32;

    /// A line of `source`'s item `item`, for usage of metric 3.
    fn usage_line(source: &str, item: &str, cents: i64) -> InvoiceLine {
        let day = |d| NaiveDate::from_ymd_opt(2025, 3, d).unwrap();
        InvoiceLine {
            product: ProductId::new(item).unwrap(),
            metric: Some(MetricId::new("3").unwrap()),
            source_account: AccountId::new(source).unwrap(),
            subscription: None,
            period: Period::new(day(1), day(31)).unwrap(),
            quantity: Decimal::new(25, 1),
            unit_price: None,
            rebate_percent: None,
            amount: Money::new(Decimal::new(cents, 2), Currency::USD),
            kind: LineKind::InArrears,
        }
    }

    #[test]
    fn a_line_from_another_account_names_that_account() {
        let lines = vec![
            usage_line("12", "501", 1_000),
            usage_line("345", "502", 250),
            usage_line("12", "503", 5),
        ];
        let owner = AccountId::new("12").unwrap();
        let invoice = Invoice::new(
            1,
            owner,
            Currency::USD,
            lines,
            BTreeMap::new(),
            Dispatch::Ready,
        )
        .unwrap();
        let mut line_rows = Vec::new();
        let row = rows(&invoice, &mut line_rows).unwrap();
        assert_eq!(
            row,
            KitInvoice {
                owner: 12,
                lines: 3,
                total_cents: 1_255
            }
        );
        let sources: Vec<(u32, u32)> = line_rows.iter().map(|l| (l.source, l.item)).collect();
        assert_eq!(sources, [(12, 501), (345, 502), (12, 503)]);
        assert!(line_rows.iter().all(|l| l.metric == NonZeroU32::new(3)));
        assert!(
            line_rows
                .iter()
                .all(|l| l.quantity() == Decimal::new(25, 1))
        );
    }

    #[test]
    fn cents_are_the_rescaled_digits() {
        for (mantissa, scale) in [
            (0i64, 0u32),
            (7, 0),
            (-7, 1),
            (12_345, 2),
            (-12_345, 2),
            (1_000, 3),
            (-5, 4),
            (i64::MAX / 1000, 0),
        ] {
            let amount = Decimal::new(mantissa, scale);
            let mut rescaled = amount;
            rescaled.rescale(2);
            let expected = i64::try_from(rescaled.mantissa()).ok();
            assert_eq!(cents(amount).ok(), expected, "{amount}");
        }
        assert!(cents(Decimal::new(i64::MAX, 0)).is_err());
    }

    #[test]
    fn ids_are_their_numbers() {
        for n in [
            0u32,
            1,
            9,
            10,
            42,
            1_000,
            65_535,
            1_234_567,
            99_999_999,
            123_456_789,
        ] {
            assert_eq!(number(&n.to_string()).ok(), Some(n), "{n}");
        }
        assert_eq!(number("007").ok(), Some(7));
        for id in [
            "",
            "a",
            "12a4",
            "1/",
            "9:",
            " 1",
            "-1",
            "12345678x",
            "4294967296",
        ] {
            assert!(number(id).is_err(), "{id:?}");
        }
        // Every byte of an id is checked, at every place.
        for place in 0..8 {
            for b in (0u8..=255).filter(|b| !b.is_ascii_digit()) {
                let mut id = *b"12345678";
                id[place] = b;
                let text = String::from_utf8_lossy(&id).into_owned();
                assert!(number(&text).is_err(), "{text:?}");
            }
        }
    }
}
