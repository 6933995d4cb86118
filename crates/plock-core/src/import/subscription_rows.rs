//! The rows of a subscriptions CSV: each cell checked on its own, then a row read into the
//! subscription's terms (its head) and one item.

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::parse_date;
use super::table::{ImportErrors, Row, Table};
use crate::id::{AccountKey, MetricId, ProductId, SubscriptionId};
use crate::money::Currency;
use crate::period::{BillingInterval, PeriodMode};
use crate::pricing::{PriceModel, Rebate, Tier, Tiers};
use crate::subscription::{BillingPractice, Item, PriceChanges};
use crate::usage::Aggregation;

/// The columns of the subscriptions CSV, in export order.
pub const SUBSCRIPTION_COLUMNS: [&str; 21] = [
    "subscription_id",
    "account_key",
    "state",
    "paused_since",
    "start",
    "end",
    "interval_months",
    "mode",
    "anchor",
    "practice",
    "currency",
    "minimum_invoice_amount",
    "product",
    "metric",
    "aggregation",
    "model",
    "price",
    "quantity",
    "tiers",
    "item_practice",
    "rebate_percent",
];

/// The subscription-level fields of a row, compared across the rows of one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Head {
    pub(super) account: AccountKey,
    /// `None` when the file leaves it empty: a stored subscription keeps its state.
    pub(super) state: Option<String>,
    pub(super) paused_since: Option<NaiveDate>,
    pub(super) start: NaiveDate,
    pub(super) end: Option<NaiveDate>,
    pub(super) interval: BillingInterval,
    pub(super) mode: PeriodMode,
    pub(super) anchor: Option<NaiveDate>,
    pub(super) practice: BillingPractice,
    pub(super) currency: Currency,
    pub(super) minimum: Option<Decimal>,
}

pub(super) struct Parsed {
    pub(super) line: u64,
    pub(super) id: SubscriptionId,
    pub(super) head: Head,
    pub(super) item: Item,
    pub(super) aggregation: Option<Aggregation>,
}

fn practice(text: &str) -> Result<BillingPractice, String> {
    // Case and a space for `_` do not matter: compared byte by byte, no lowered copy made.
    let is = |name: &str| {
        text.len() == name.len()
            && text
                .bytes()
                .zip(name.bytes())
                .all(|(a, b)| a.to_ascii_lowercase() == b || (a == b' ' && b == b'_'))
    };
    if is("in_advance") || is("advance") {
        Ok(BillingPractice::InAdvance)
    } else if is("in_arrears") || is("arrears") {
        Ok(BillingPractice::InArrears)
    } else {
        Err("must be in_advance or in_arrears".into())
    }
}

fn aggregation(text: &str) -> Result<Aggregation, String> {
    match text.to_ascii_lowercase().as_str() {
        "sum" => Ok(Aggregation::Sum),
        "max" => Ok(Aggregation::Max),
        "min" => Ok(Aggregation::Min),
        "average" | "avg" => Ok(Aggregation::Average),
        "count" => Ok(Aggregation::Count),
        _ => Err("must be sum, max, min, average or count".into()),
    }
}

/// `up_to:unit_price:flat_fee|...`, an empty `up_to` for the unbounded last tier.
fn tiers(t: &Table, text: &str) -> Result<Tiers, String> {
    let mut list = Vec::new();
    for part in text.split('|') {
        let fields: Vec<&str> = part.split(':').map(str::trim).collect();
        let [up_to, unit, flat] = fields.as_slice() else {
            return Err(format!("tier {part:?} must be up_to:unit_price:flat_fee"));
        };
        let num = |s: &str| {
            if s.is_empty() {
                Ok(None)
            } else {
                t.decimal(s).map(Some)
            }
        };
        list.push(Tier {
            up_to: num(up_to)?,
            unit_price: num(unit)?,
            flat_fee: num(flat)?,
        });
    }
    Tiers::new(list).map_err(|e| e.to_string())
}

/// Where each column of [`SUBSCRIPTION_COLUMNS`] is in a table's rows, found once a table.
pub(super) struct Places([Option<usize>; SUBSCRIPTION_COLUMNS.len()]);

impl Places {
    /// The places of `t`'s columns.
    pub(super) fn of(t: &Table) -> Places {
        Places(SUBSCRIPTION_COLUMNS.map(|c| t.place(c)))
    }
}

/// A row's cells, each as [`super::cell_text`] gives it but borrowed from the row.
struct Cells<'r>([Option<&'r str>; SUBSCRIPTION_COLUMNS.len()]);

impl<'r> Cells<'r> {
    fn of(t: &Table, places: &Places, row: &'r Row) -> Cells<'r> {
        Cells(
            places
                .0
                .map(|place| t.cell_at(row, place).and_then(super::clean_str)),
        )
    }

    /// The cell of `column`, one of [`SUBSCRIPTION_COLUMNS`].
    fn get(&self, column: &str) -> Option<&'r str> {
        let index = SUBSCRIPTION_COLUMNS.iter().position(|c| *c == column)?;
        *self.0.get(index)?
    }
}

/// Rows read at a time by one thread of [`parse_rows`].
const ROWS_A_TASK: usize = 256;

/// [`parse_row`] of every row of `t`, across the threads of the current pool, in the rows'
/// order: each row's result and problems, which the caller adds in that order, so the
/// problems listed are those a single thread would list. The tasks' lists are handed on as
/// they are, not copied into one that grows as it is filled.
pub(super) fn parse_rows(t: &Table) -> impl Iterator<Item = (Option<Parsed>, ImportErrors)> {
    use crate::par::prelude::*;
    let places = Places::of(t);
    t.rows
        .par_chunks(ROWS_A_TASK)
        .map(|rows| {
            rows.iter()
                .map(|row| {
                    let mut problems = ImportErrors::default();
                    let parsed = parse_row(t, &places, row, &mut problems);
                    (parsed, problems)
                })
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>()
        .into_iter()
        .flatten()
}

pub(super) fn parse_row(
    t: &Table,
    places: &Places,
    row: &Row,
    errors: &mut ImportErrors,
) -> Option<Parsed> {
    let cells = Cells::of(t, places, row);
    let before = errors.total();
    check_cells(t, &cells, row.line, errors);
    if errors.total() != before {
        return None;
    }
    // Every cell is checked; below, the conversions cannot fail.
    Some(Parsed {
        line: row.line,
        id: SubscriptionId::new(cells.get("subscription_id")?).ok()?,
        head: head_of(t, &cells)?,
        item: item_of(t, &cells, row.line, errors)?,
        aggregation: cells.get("aggregation").and_then(|a| aggregation(a).ok()),
    })
}

/// Checks every cell of a row on its own, each refusal an error at its column.
fn check_cells(t: &Table, cells: &Cells<'_>, line: u64, errors: &mut ImportErrors) {
    let text = |c: &str| cells.get(c);
    let mut field =
        |column: &str, value: Option<&str>, parse: &dyn Fn(&str) -> Result<(), String>| {
            if let Some(v) = value
                && let Err(reason) = parse(v)
            {
                errors.push(line, column, v, reason);
            }
        };
    field(
        "subscription_id",
        Some(text("subscription_id").unwrap_or_default()),
        &|v| {
            SubscriptionId::new(v)
                .map(drop)
                .map_err(|e| e.reason.to_owned())
        },
    );
    field(
        "account_key",
        Some(text("account_key").unwrap_or_default()),
        &|v| {
            AccountKey::new(v)
                .map(drop)
                .map_err(|e| e.reason.to_owned())
        },
    );
    for date in ["start", "end", "anchor", "paused_since"] {
        let required = date == "start";
        field(date, text(date).or_else(|| required.then_some("")), &|v| {
            parse_date(v).map(drop)
        });
    }
    field("interval_months", text("interval_months"), &|v| {
        v.parse::<u32>()
            .map_err(|_| "not a whole number".to_owned())
            .and_then(|n| {
                BillingInterval::every_months(n)
                    .map(drop)
                    .map_err(|e| e.to_string())
            })
    });
    field(
        "mode",
        text("mode"),
        &|v| match v.to_ascii_lowercase().as_str() {
            "calendar" | "continuous" => Ok(()),
            _ => Err("must be calendar or continuous".into()),
        },
    );
    field("practice", text("practice"), &|v| practice(v).map(drop));
    field("item_practice", text("item_practice"), &|v| {
        practice(v).map(drop)
    });
    field(
        "currency",
        Some(text("currency").unwrap_or_default()),
        &|v| v.parse::<Currency>().map(drop).map_err(|e| e.to_string()),
    );
    field(
        "state",
        text("state"),
        &|v| match v.to_ascii_lowercase().as_str() {
            "draft" | "active" | "paused" | "ended" => Ok(()),
            _ => Err("must be draft, active, paused or ended".into()),
        },
    );
    for number in [
        "minimum_invoice_amount",
        "price",
        "quantity",
        "rebate_percent",
    ] {
        field(number, text(number), &|v| t.decimal(v).map(drop));
    }
    field("product", Some(text("product").unwrap_or_default()), &|v| {
        ProductId::new(v).map(drop).map_err(|e| e.reason.to_owned())
    });
    field("metric", text("metric"), &|v| {
        MetricId::new(v).map(drop).map_err(|e| e.reason.to_owned())
    });
    field("aggregation", text("aggregation"), &|v| {
        aggregation(v).map(drop)
    });
    field("tiers", text("tiers"), &|v| tiers(t, v).map(drop));
    field("rebate_percent", text("rebate_percent"), &|v| {
        t.decimal(v)
            .and_then(|d| Rebate::percent(d).map(drop).map_err(|e| e.to_string()))
    });
}

/// The subscription's terms of a checked row.
fn head_of(t: &Table, cells: &Cells<'_>) -> Option<Head> {
    let text = |c: &str| cells.get(c);
    let date = |c: &str| text(c).and_then(|v| parse_date(v).ok());
    let num = |c: &str| text(c).and_then(|v| t.decimal(v).ok());
    Some(Head {
        account: AccountKey::new(text("account_key")?).ok()?,
        state: text("state").map(|s| s.to_ascii_lowercase()),
        paused_since: date("paused_since"),
        start: date("start")?,
        end: date("end"),
        interval: text("interval_months").map_or(Some(BillingInterval::MONTHLY), |v| {
            v.parse::<u32>()
                .ok()
                .and_then(|n| BillingInterval::every_months(n).ok())
        })?,
        mode: if text("mode").is_some_and(|m| m.eq_ignore_ascii_case("continuous")) {
            PeriodMode::Continuous
        } else {
            PeriodMode::Calendar
        },
        anchor: date("anchor"),
        practice: text("practice")
            .map_or(Some(BillingPractice::InAdvance), |p| practice(p).ok())?,
        currency: text("currency")?.parse().ok()?,
        minimum: num("minimum_invoice_amount"),
    })
}

/// The item of a checked row: its product, metric and price model.
fn item_of(t: &Table, cells: &Cells<'_>, line: u64, errors: &mut ImportErrors) -> Option<Item> {
    let text = |c: &str| cells.get(c);
    let num = |c: &str| text(c).and_then(|v| t.decimal(v).ok());
    let product = ProductId::new(text("product")?).ok()?;
    let metric = text("metric").and_then(|m| MetricId::new(m).ok());
    let price = num("price");
    let quantity = num("quantity");
    let model_text = text("model").unwrap_or_default().to_ascii_lowercase();
    let need = |what: &str, v: Option<Decimal>, errors: &mut ImportErrors| {
        if v.is_none() {
            errors.push(line, what, "", format!("model {model_text} needs a {what}"));
        }
        v
    };
    let model = match model_text.as_str() {
        "flat_fee" => PriceModel::FlatFee {
            fee: need("price", price, errors)?,
            quantity: quantity.unwrap_or(Decimal::ONE),
        },
        "per_unit" => PriceModel::PerUnit {
            unit_price: need("price", price, errors)?,
        },
        "graduated" | "volume" => {
            let Some(list) = text("tiers").and_then(|v| tiers(t, v).ok()) else {
                errors.push(line, "tiers", "", format!("model {model_text} needs tiers"));
                return None;
            };
            if model_text == "graduated" {
                PriceModel::Graduated { tiers: list }
            } else {
                PriceModel::Volume { tiers: list }
            }
        }
        "package" => PriceModel::Package {
            size: need("quantity", quantity, errors)?,
            price: need("price", price, errors)?,
        },
        "commitment" => PriceModel::Commitment {
            committed: need("quantity", quantity, errors)?,
            unit_price: need("price", price, errors)?,
        },
        _ => {
            errors.push(
                line,
                "model",
                &model_text,
                "must be flat_fee, per_unit, graduated, volume, package or commitment",
            );
            return None;
        }
    };
    if let Err(e) = model.validate() {
        errors.push(line, "model", &model_text, e.to_string());
        return None;
    }
    Some(Item {
        product,
        metric,
        price: model,
        practice: text("item_practice").and_then(|p| practice(p).ok()),
        rebate: num("rebate_percent").and_then(|r| Rebate::percent(r).ok()),
        changes: PriceChanges::default(),
    })
}
