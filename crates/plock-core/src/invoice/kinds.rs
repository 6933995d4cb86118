//! Other invoice kinds (docs/domain.md, section 9): one-off charges, credits, compensation
//! for a change inside an invoiced period, and the deferred-revenue accrual schedule.
//!
//! Each line is computed exactly and rounded once, as in the billing run; every invoice built
//! here goes through [`Invoice::new`], so its total is the sum of its lines.

use std::collections::BTreeMap;

use chrono::{Months, NaiveDate};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::account::Account;
use crate::id::{AccountId, ProductId, SubscriptionId};
use crate::invoice::{Dispatch, Invoice, InvoiceError, InvoiceKind, InvoiceLine, LineKind};
use crate::money::{Money, MoneyError};
use crate::period::{Period, PeriodError};

/// Why an invoice of another kind was refused. Line indexes are 0-based in fields and
/// 1-based in messages, as a person counts the lines of a printed invoice.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KindError {
    /// The credit would take a line of the invoice below zero.
    #[error(
        "invoice {invoice}, line {}: crediting {requested} exceeds the {remaining} not yet credited",
        line.saturating_add(1)
    )]
    CreditExceeds {
        /// The invoice credited.
        invoice: u64,
        /// The line (0-based).
        line: usize,
        /// The amount asked for.
        requested: Money,
        /// What is left to credit on the line.
        remaining: Money,
    },
    /// Nothing is left to credit.
    #[error("invoice {invoice} is fully credited already")]
    NothingToCredit {
        /// The invoice.
        invoice: u64,
    },
    /// A line index outside the invoice.
    #[error("invoice {invoice} has no line {}", line.saturating_add(1))]
    NoSuchLine {
        /// The invoice.
        invoice: u64,
        /// The index asked for.
        line: usize,
    },
    /// An amount or quantity that must be positive was not.
    #[error("{what} must be above zero, got {value}")]
    NotPositive {
        /// What.
        what: &'static str,
        /// The value.
        value: Decimal,
    },
    /// The change date must fall inside the line's period.
    #[error("change date {date} is outside the invoiced period {period}")]
    OutsidePeriod {
        /// The date.
        date: NaiveDate,
        /// The period.
        period: Period,
    },
    /// A credit of another invoice was given as an earlier credit.
    #[error("invoice {credit} does not credit invoice {invoice}")]
    NotACreditOf {
        /// The invoice being credited.
        invoice: u64,
        /// The unrelated invoice.
        credit: u64,
    },
    /// Arithmetic overflow or a currency mismatch.
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// The invoice could not be built.
    #[error(transparent)]
    Invoice(#[from] InvoiceError),
    /// A period could not be formed.
    #[error(transparent)]
    Period(#[from] PeriodError),
}

/// One line of a one-off charge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OneOffLine {
    /// What is charged.
    pub product: ProductId,
    /// How many.
    pub quantity: Decimal,
    /// Price per unit.
    pub unit_price: Decimal,
}

/// An ad-hoc invoice for `account`, dated `on`.
///
/// # Errors
/// No lines, a quantity or price not above zero, overflow.
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::account::{Account, AccountName, Contact};
/// use plock_core::id::{AccountId, AccountKey, ProductId};
/// use plock_core::invoice::{InvoiceKind, KindError, OneOffLine, one_off};
/// use plock_core::money::Currency;
/// use rust_decimal::dec;
///
/// let on = NaiveDate::from_ymd_opt(2025, 5, 2).ok_or("no such date")?;
/// let account = Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::SEK, on);
/// let setup = OneOffLine { product: ProductId::new("setup")?, quantity: dec!(1), unit_price: dec!(4900.00) };
/// let invoice = one_off(31, &account, on, &[setup.clone()])?;
/// assert_eq!((invoice.kind(), invoice.currency()), (InvoiceKind::OneOff, Currency::SEK));
/// assert_eq!(invoice.period().start(), on);
/// // A charge of nothing is refused.
/// let free = OneOffLine { unit_price: dec!(0), ..setup };
/// assert!(matches!(one_off(32, &account, on, &[free]), Err(KindError::NotPositive { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn one_off(
    number: u64,
    account: &Account,
    on: NaiveDate,
    lines: &[OneOffLine],
) -> Result<Invoice, KindError> {
    let day = Period::new(on, on.succ_opt().unwrap_or(NaiveDate::MAX))?;
    let currency = account.currency();
    let mut out = Vec::with_capacity(lines.len());
    for l in lines {
        for (what, value) in [("quantity", l.quantity), ("unit price", l.unit_price)] {
            if value <= Decimal::ZERO {
                return Err(KindError::NotPositive { what, value });
            }
        }
        let exact = Money::new(l.unit_price, currency).checked_mul(l.quantity)?;
        out.push(InvoiceLine {
            product: l.product.clone(),
            metric: None,
            source_account: account.id().clone(),
            subscription: None,
            period: day,
            quantity: l.quantity,
            unit_price: Some(l.unit_price),
            rebate_percent: None,
            amount: exact.rounded(),
            kind: LineKind::OneOff,
        });
    }
    let debtors = account.external_ids().erp();
    Ok(Invoice::new(
        number,
        account.id().clone(),
        currency,
        out,
        debtors,
        Dispatch::Ready,
    )?
    .with_kind(InvoiceKind::OneOff)
    .with_issued(on))
}

/// What to credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "credit")]
pub enum CreditRequest {
    /// Everything not credited yet.
    Full,
    /// Part of one line.
    Line {
        /// The line (0-based).
        line: usize,
        /// How much, positive.
        amount: Decimal,
    },
}

type LineKey<'a> = (
    &'a ProductId,
    &'a AccountId,
    &'a Option<SubscriptionId>,
    Period,
);

fn key(l: &InvoiceLine) -> LineKey<'_> {
    (&l.product, &l.source_account, &l.subscription, l.period)
}

/// What is left to credit on each line of `original`, given the credits already issued.
///
/// # Errors
/// An earlier credit that does not credit `original`; overflow.
pub fn remaining_to_credit(
    original: &Invoice,
    earlier: &[Invoice],
) -> Result<Vec<Money>, KindError> {
    let mut credited: BTreeMap<LineKey<'_>, Money> = BTreeMap::new();
    for credit in earlier {
        if credit.kind()
            != (InvoiceKind::Credit {
                of: original.number(),
            })
        {
            return Err(KindError::NotACreditOf {
                invoice: original.number(),
                credit: credit.number(),
            });
        }
        for l in credit.lines() {
            let entry = credited
                .entry(key(l))
                .or_insert(Money::zero(original.currency()));
            // Credit lines are negative: subtracting adds what was credited.
            *entry = entry.checked_sub(l.amount)?;
        }
    }
    original
        .lines()
        .iter()
        .map(|l| {
            let done = credited
                .get(&key(l))
                .copied()
                .unwrap_or(Money::zero(original.currency()));
            Ok(l.amount
                .checked_sub(done)?
                .max(Money::zero(original.currency()))?)
        })
        .collect()
}

/// A credit invoice reversing all or part of `original`, never more than was invoiced: what
/// `earlier` credits already issued against it took is taken into account.
///
/// # Errors
/// [`KindError::CreditExceeds`], [`KindError::NothingToCredit`], [`KindError::NoSuchLine`].
///
/// # Examples
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::account::{Account, AccountName, Contact};
/// use plock_core::id::{AccountId, AccountKey, ProductId};
/// use plock_core::invoice::{CreditRequest, KindError, OneOffLine, credit, one_off};
/// use plock_core::money::{Currency, Money};
/// use rust_decimal::dec;
///
/// let on = NaiveDate::from_ymd_opt(2025, 3, 14).ok_or("no such date")?;
/// let account = Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, on);
/// let original = one_off(17, &account, on, &[OneOffLine { product: ProductId::new("training")?, quantity: dec!(1), unit_price: dec!(450.00) }])?;
///
/// // 150.00 back on the first line, then the rest: never more than was invoiced.
/// let first = credit(18, &original, &[], &CreditRequest::Line { line: 0, amount: dec!(150.00) })?;
/// let rest = credit(19, &original, &[first.clone()], &CreditRequest::Full)?;
/// assert_eq!(rest.total(), Money::new(dec!(-300.00), Currency::EUR));
/// let nothing_left = credit(20, &original, &[first, rest], &CreditRequest::Full);
/// assert!(matches!(nothing_left, Err(KindError::NothingToCredit { .. })));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn credit(
    number: u64,
    original: &Invoice,
    earlier: &[Invoice],
    request: &CreditRequest,
) -> Result<Invoice, KindError> {
    let remaining = remaining_to_credit(original, earlier)?;
    let currency = original.currency();
    let mut lines = Vec::new();
    let mut push = |index: usize, amount: Money| -> Result<(), KindError> {
        let Some(l) = original.lines().get(index) else {
            return Err(KindError::NoSuchLine {
                invoice: original.number(),
                line: index,
            });
        };
        lines.push(InvoiceLine {
            amount: Money::zero(currency).checked_sub(amount)?,
            kind: LineKind::Credit,
            unit_price: None,
            rebate_percent: None,
            ..l.clone()
        });
        Ok(())
    };
    match request {
        CreditRequest::Full => {
            for (index, left) in remaining.iter().enumerate() {
                if !left.is_zero() {
                    push(index, *left)?;
                }
            }
        }
        CreditRequest::Line { line, amount } => {
            let left = *remaining.get(*line).ok_or(KindError::NoSuchLine {
                invoice: original.number(),
                line: *line,
            })?;
            if *amount <= Decimal::ZERO {
                return Err(KindError::NotPositive {
                    what: "credit amount",
                    value: *amount,
                });
            }
            let requested = Money::new(currency.round(*amount), currency);
            // Below half a minor unit the credit rounds to nothing: no zero credit invoice.
            if requested.is_zero() {
                return Err(KindError::NotPositive {
                    what: "credit amount in minor units",
                    value: *amount,
                });
            }
            if requested.amount() > left.amount() {
                return Err(KindError::CreditExceeds {
                    invoice: original.number(),
                    line: *line,
                    requested,
                    remaining: left,
                });
            }
            push(*line, requested)?;
        }
    }
    if lines.is_empty() {
        return Err(KindError::NothingToCredit {
            invoice: original.number(),
        });
    }
    let invoice = Invoice::new(
        number,
        original.owner().clone(),
        currency,
        lines,
        original.debtor_ids().clone(),
        Dispatch::Ready,
    )?;
    Ok(invoice.with_kind(InvoiceKind::Credit {
        of: original.number(),
    }))
}

/// Compensation for a change inside an already invoiced period: from `change` to the end of
/// line `line`'s period, the old amount is credited and `new_amount` (the line's new amount for
/// its whole period) charged, both by days.
///
/// # Errors
/// An unknown line, a change date outside the period, overflow.
pub fn compensation(
    number: u64,
    original: &Invoice,
    line: usize,
    change: NaiveDate,
    new_amount: Decimal,
) -> Result<Invoice, KindError> {
    let l = original.lines().get(line).ok_or(KindError::NoSuchLine {
        invoice: original.number(),
        line,
    })?;
    if !l.period.contains(change) || change == l.period.start() {
        return Err(KindError::OutsidePeriod {
            date: change,
            period: l.period,
        });
    }
    let rest = Period::new(change, l.period.end())?;
    let share = |amount: Decimal| -> Result<Money, KindError> {
        let exact = Money::new(amount, original.currency())
            .checked_mul(Decimal::from(rest.days()))?
            .amount()
            .checked_div(Decimal::from(l.period.days()))
            .ok_or(MoneyError::Overflow {
                operation: "division",
                left: amount,
                right: Decimal::from(l.period.days()),
            })?;
        Ok(Money::new(
            original.currency().round(exact),
            original.currency(),
        ))
    };
    let old = share(l.amount.amount())?;
    let new = share(new_amount)?;
    let base = InvoiceLine {
        period: rest,
        kind: LineKind::Compensation,
        unit_price: None,
        rebate_percent: None,
        ..l.clone()
    };
    let lines = vec![
        InvoiceLine {
            amount: Money::zero(original.currency()).checked_sub(old)?,
            ..base.clone()
        },
        InvoiceLine {
            amount: new,
            ..base
        },
    ];
    let invoice = Invoice::new(
        number,
        original.owner().clone(),
        original.currency(),
        lines,
        original.debtor_ids().clone(),
        Dispatch::Ready,
    )?;
    Ok(invoice.with_kind(InvoiceKind::Compensation {
        of: original.number(),
    }))
}

/// One month of a deferred-revenue schedule.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Accrual {
    /// The month (or the part of one at the ends).
    pub period: Period,
    /// Revenue recognised in it.
    pub amount: Money,
}

/// Spreads `amount`, billed in advance for `period`, evenly over its months: each month gets
/// the amount divided by the number of months, rounded to minor units; the last month takes
/// the rounding difference, so the schedule sums to `amount` exactly. Months step from the
/// period's start (a period from the 15th accrues 15th to 15th).
///
/// # Errors
/// Overflow; a period too long to step through.
pub fn accrual_schedule(amount: Money, period: Period) -> Result<Vec<Accrual>, KindError> {
    let mut starts = vec![period.start()];
    let mut k: u32 = 1;
    while let Some(next) = period.start().checked_add_months(Months::new(k)) {
        if next >= period.end() {
            break;
        }
        starts.push(next);
        k = k.checked_add(1).ok_or(MoneyError::Overflow {
            operation: "months",
            left: Decimal::from(k),
            right: Decimal::ONE,
        })?;
    }
    let months = Decimal::from(starts.len());
    let currency = amount.currency();
    let each = Money::new(
        currency.round(
            amount
                .amount()
                .checked_div(months)
                .ok_or(MoneyError::Overflow {
                    operation: "division",
                    left: amount.amount(),
                    right: months,
                })?,
        ),
        currency,
    );
    let mut schedule = Vec::with_capacity(starts.len());
    let mut given = Money::zero(currency);
    for (i, start) in starts.iter().enumerate() {
        let end = starts
            .get(i.saturating_add(1))
            .copied()
            .unwrap_or(period.end());
        let last = i.saturating_add(1) == starts.len();
        let share = if last {
            amount.checked_sub(given)?
        } else {
            each
        };
        given = given.checked_add(share)?;
        schedule.push(Accrual {
            period: Period::new(*start, end)?,
            amount: share,
        });
    }
    Ok(schedule)
}
