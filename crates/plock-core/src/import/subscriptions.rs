//! The subscriptions CSV: one row per item; the subscription's own fields repeat on each of
//! its rows and must agree.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use rust_decimal::Decimal;

use super::table::{ImportErrors, Row, Table};
use super::{Csv, cell_text, neutralise, parse_date};
use crate::book::AccountBook;
use crate::id::{AccountKey, MetricId, ProductId, SubscriptionId};
use crate::money::Currency;
use crate::period::{BillingInterval, PeriodMode};
use crate::pricing::{PriceModel, Rebate, Tier, Tiers};
use crate::store::{Batch, Change};
use crate::subscription::{
    BillingPractice, Item, Subscription, SubscriptionSpec, SubscriptionState,
};
use crate::usage::{Aggregation, Metric};

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

const REQUIRED: [&str; 6] = [
    "subscription_id",
    "account_key",
    "start",
    "currency",
    "product",
    "model",
];

/// The subscription-level fields of a row, compared across the rows of one subscription.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Head {
    account: AccountKey,
    /// `None` when the file leaves it empty: a stored subscription keeps its state.
    state: Option<String>,
    paused_since: Option<NaiveDate>,
    start: NaiveDate,
    end: Option<NaiveDate>,
    interval: BillingInterval,
    mode: PeriodMode,
    anchor: Option<NaiveDate>,
    practice: BillingPractice,
    currency: Currency,
    minimum: Option<Decimal>,
}

struct Parsed {
    line: u64,
    id: SubscriptionId,
    head: Head,
    item: Item,
    aggregation: Option<Aggregation>,
}

fn practice(text: &str) -> Result<BillingPractice, String> {
    match text.to_ascii_lowercase().replace(' ', "_").as_str() {
        "in_advance" | "advance" => Ok(BillingPractice::InAdvance),
        "in_arrears" | "arrears" => Ok(BillingPractice::InArrears),
        _ => Err("must be in_advance or in_arrears".into()),
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

fn format_tiers(tiers: &Tiers) -> String {
    let show = |d: Option<Decimal>| d.map_or(String::new(), |d| d.to_string());
    tiers
        .tiers()
        .iter()
        .map(|t| {
            format!(
                "{}:{}:{}",
                show(t.up_to),
                show(t.unit_price),
                show(t.flat_fee)
            )
        })
        .collect::<Vec<_>>()
        .join("|")
}

fn parse_row(t: &Table, row: &Row, errors: &mut ImportErrors) -> Option<Parsed> {
    let before = errors.total();
    let line = row.line;
    let text = |c: &str| cell_text(t, row, c);
    let mut field =
        |column: &str, value: Option<String>, parse: &dyn Fn(&str) -> Result<(), String>| {
            if let Some(v) = &value
                && let Err(reason) = parse(v)
            {
                errors.push(line, column, v, reason);
            }
        };
    let id_text = text("subscription_id").unwrap_or_default();
    field("subscription_id", Some(id_text.clone()), &|v| {
        SubscriptionId::new(v)
            .map(drop)
            .map_err(|e| e.reason.to_owned())
    });
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
        field(
            date,
            text(date).or_else(|| required.then(String::new)),
            &|v| parse_date(v).map(drop),
        );
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
    if errors.total() != before {
        return None;
    }
    // Every cell parsed above; below, the conversions cannot fail.
    let date = |c: &str| text(c).and_then(|v| parse_date(&v).ok());
    let num = |c: &str| text(c).and_then(|v| t.decimal(&v).ok());
    let head = Head {
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
            .map_or(Some(BillingPractice::InAdvance), |p| practice(&p).ok())?,
        currency: text("currency")?.parse().ok()?,
        minimum: num("minimum_invoice_amount"),
    };
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
            let Some(list) = text("tiers").and_then(|v| tiers(t, &v).ok()) else {
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
    let item = Item {
        product,
        metric,
        price: model,
        practice: text("item_practice").and_then(|p| practice(&p).ok()),
        rebate: num("rebate_percent").and_then(|r| Rebate::percent(r).ok()),
    };
    Some(Parsed {
        line,
        id: SubscriptionId::new(id_text).ok()?,
        head,
        item,
        aggregation: text("aggregation").and_then(|a| aggregation(&a).ok()),
    })
}

/// The row's state, paused-since and end dates, with what the file leaves empty taken from
/// the stored subscription: a re-import changes a state or an end only when the file gives
/// it, so an Ended subscription stays ended.
fn resolved_head(head: &Head, stored: Option<&Subscription>) -> Head {
    let mut head = head.clone();
    let Some(stored) = stored else {
        return head;
    };
    if head.end.is_none() {
        head.end = stored.schedule().end();
    }
    if head.state.is_none() {
        let state = match stored.state() {
            SubscriptionState::Draft => "draft",
            SubscriptionState::Active => "active",
            SubscriptionState::Paused { since } => {
                head.paused_since = head.paused_since.or(Some(since));
                "paused"
            }
            SubscriptionState::Ended => "ended",
        };
        head.state = Some(state.to_owned());
    }
    head
}

fn build(
    id: &SubscriptionId,
    head: &Head,
    items: Vec<Item>,
    account: &crate::account::Account,
) -> Result<Subscription, String> {
    let state = head.state.as_deref().unwrap_or("active");
    let account_currency = account.currency();
    let spec = SubscriptionSpec {
        id: id.clone(),
        account: account.id().clone(),
        start: head.start,
        end: None,
        interval: head.interval,
        mode: head.mode,
        anchor: head.anchor,
        practice: head.practice,
        currency: head.currency,
        items,
        minimum_invoice_amount: head.minimum,
    };
    let mut sub = Subscription::new(
        SubscriptionSpec {
            end: head.end.filter(|_| state != "ended"),
            ..spec
        },
        account_currency,
    )
    .map_err(|e| e.to_string())?;
    let result = match state {
        "draft" => Ok(()),
        "active" => sub.activate(),
        "paused" => match head.paused_since {
            Some(since) => sub.activate().and_then(|()| sub.pause(since)),
            None => return Err("a paused subscription needs paused_since".into()),
        },
        _ => match head.end {
            Some(end) => sub.activate().and_then(|()| sub.end(end)),
            None => return Err("an ended subscription needs an end date".into()),
        },
    };
    result.map_err(|e| e.to_string())?;
    Ok(sub)
}

/// Validates a subscriptions CSV against the accounts, subscriptions and metric catalogue
/// already stored, and plans the batch: new metrics, new or changed subscriptions. Identical
/// subscriptions change nothing, so importing twice is harmless.
///
/// ```
/// use chrono::NaiveDate;
/// use plock_core::{Account, AccountBook, AccountId, AccountKey, Currency};
/// use plock_core::account::{AccountName, Contact};
/// use plock_core::import::plan_subscription_import;
/// use plock_core::store::Change;
///
/// let mut book = AccountBook::new();
/// let day = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("no such date")?;
/// book.add(Account::new(AccountId::new("globex")?, AccountKey::new("globex")?, AccountName::new("Globex")?, Contact::default(), Currency::EUR, day))?;
/// // One row per item; the subscription's own columns repeat.
/// let csv = "subscription_id,account_key,start,currency,product,metric,aggregation,model,price,quantity\n\
///            sub-globex,globex,2025-01-01,EUR,platform,,,flat_fee,2000.00,1\n\
///            sub-globex,globex,2025-01-01,EUR,emails,emails,sum,per_unit,0.004,\n";
/// let plan = plan_subscription_import(csv.as_bytes(), &book, &[], &[])?;
/// let puts: Vec<&str> = plan.changes.iter().map(|c| match c {
///     Change::PutMetric { .. } => "metric",
///     Change::PutSubscription { .. } => "subscription",
///     _ => "other",
/// }).collect();
/// // The new metric joins the catalogue, then the subscription with its two items.
/// assert_eq!(puts, ["metric", "subscription"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// Every problem of the file at once.
pub fn plan_subscription_import(
    bytes: &[u8],
    book: &AccountBook,
    existing: &[Subscription],
    metrics: &[Metric],
) -> Result<Batch, ImportErrors> {
    let table = Table::parse(bytes, &SUBSCRIPTION_COLUMNS, &REQUIRED)?;
    let mut errors = table.problems.clone();
    let rows: Vec<Parsed> = table
        .rows
        .iter()
        .filter_map(|r| parse_row(&table, r, &mut errors))
        .collect();

    let mut catalogue: BTreeMap<MetricId, Aggregation> = metrics
        .iter()
        .map(|m| (m.id.clone(), m.aggregation))
        .collect();
    let mut new_metrics = Vec::new();
    let mut grouped: BTreeMap<&SubscriptionId, (u64, &Head, Vec<Item>)> = BTreeMap::new();
    // Each subscription's products and the line that gave each: a product twice in one
    // subscription (two identical rows, say) would be charged twice.
    let mut products: BTreeMap<(&SubscriptionId, &ProductId), u64> = BTreeMap::new();
    for row in &rows {
        if let Some(metric) = &row.item.metric {
            match (catalogue.get(metric), row.aggregation) {
                (Some(known), Some(given)) if *known != given => {
                    errors.push(
                        row.line,
                        "aggregation",
                        &format!("{given:?}").to_lowercase(),
                        format!("metric {metric} already aggregates by {known:?}"),
                    );
                }
                (None, given) => {
                    let aggregation = given.unwrap_or_default();
                    catalogue.insert(metric.clone(), aggregation);
                    new_metrics.push(Metric {
                        id: metric.clone(),
                        aggregation,
                    });
                }
                _ => {}
            }
        }
        let entry = grouped
            .entry(&row.id)
            .or_insert((row.line, &row.head, Vec::new()));
        if entry.1 != &row.head {
            errors.push(
                row.line,
                "subscription_id",
                row.id.as_str(),
                format!(
                    "subscription fields differ from its first row, line {}",
                    entry.0
                ),
            );
        }
        if let Some(first) = products.insert((&row.id, &row.item.product), row.line) {
            errors.push(
                row.line,
                "product",
                row.item.product.as_str(),
                format!(
                    "subscription {} already has this product on line {first}; a duplicate \
                     row would charge it twice",
                    row.id
                ),
            );
        }
        entry.2.push(row.item.clone());
    }
    let existing: BTreeMap<&SubscriptionId, &Subscription> =
        existing.iter().map(|s| (s.id(), s)).collect();
    let mut changes: Vec<Change> = new_metrics
        .into_iter()
        .map(|metric| Change::PutMetric { metric })
        .collect();
    for (id, (line, head, items)) in grouped {
        let Some(account) = book.by_key(&head.account) else {
            errors.push(
                line,
                "account_key",
                head.account.as_str(),
                "no account has this key; import the accounts first",
            );
            continue;
        };
        let head = resolved_head(head, existing.get(id).copied());
        match build(id, &head, items, account) {
            Ok(sub) => {
                if existing.get(id).is_none_or(|old| **old != sub) {
                    changes.push(Change::PutSubscription { subscription: sub });
                }
            }
            Err(reason) => errors.push(line, "subscription_id", id.as_str(), reason),
        }
    }
    errors.into_result(Batch { changes })
}

/// Writes subscriptions as the subscriptions CSV, one row per item, in id order.
pub fn export_subscriptions(
    book: &AccountBook,
    subscriptions: &[Subscription],
    metrics: &[Metric],
) -> String {
    let mut csv = Csv::new(&SUBSCRIPTION_COLUMNS);
    let catalogue: BTreeMap<&MetricId, Aggregation> =
        metrics.iter().map(|m| (&m.id, m.aggregation)).collect();
    let mut sorted: Vec<&Subscription> = subscriptions.iter().collect();
    sorted.sort_by(|a, b| a.id().cmp(b.id()));
    let show = |d: Option<Decimal>| d.map_or(String::new(), |d| d.to_string());
    for s in sorted {
        let sched = s.schedule();
        let (state, since) = match s.state() {
            SubscriptionState::Draft => ("draft", None),
            SubscriptionState::Active => ("active", None),
            SubscriptionState::Paused { since } => ("paused", Some(since)),
            SubscriptionState::Ended => ("ended", None),
        };
        let key = book
            .get(s.account())
            .map_or_else(|| s.account().to_string(), |a| a.key().to_string());
        for item in s.items() {
            let (model, price, quantity, tiers) = match &item.price {
                PriceModel::FlatFee { fee, quantity } => {
                    ("flat_fee", Some(*fee), Some(*quantity), String::new())
                }
                PriceModel::PerUnit { unit_price } => {
                    ("per_unit", Some(*unit_price), None, String::new())
                }
                PriceModel::Graduated { tiers } => ("graduated", None, None, format_tiers(tiers)),
                PriceModel::Volume { tiers } => ("volume", None, None, format_tiers(tiers)),
                PriceModel::Package { size, price } => {
                    ("package", Some(*price), Some(*size), String::new())
                }
                PriceModel::Commitment {
                    committed,
                    unit_price,
                } => (
                    "commitment",
                    Some(*unit_price),
                    Some(*committed),
                    String::new(),
                ),
            };
            let aggregation = item
                .metric
                .as_ref()
                .and_then(|m| catalogue.get(m))
                .map_or(String::new(), |a| format!("{a:?}").to_lowercase());
            let cells = [
                s.id().to_string(),
                key.clone(),
                state.to_owned(),
                since.map_or(String::new(), |d| d.to_string()),
                sched.start().to_string(),
                sched.end().map_or(String::new(), |d| d.to_string()),
                sched.interval().months().to_string(),
                format!("{:?}", sched.mode()).to_lowercase(),
                sched.anchor().map_or(String::new(), |d| d.to_string()),
                practice_name(s.practice()).to_owned(),
                s.currency().to_string(),
                show(s.minimum_invoice_amount()),
                item.product.to_string(),
                item.metric
                    .as_ref()
                    .map_or(String::new(), ToString::to_string),
                aggregation,
                model.to_owned(),
                show(price),
                show(quantity),
                tiers,
                item.practice.map_or("", practice_name).to_owned(),
                show(item.rebate.map(Rebate::value)),
            ];
            csv.row(cells.iter().map(|c| neutralise(c)));
        }
    }
    csv.finish()
}

fn practice_name(p: BillingPractice) -> &'static str {
    match p {
        BillingPractice::InAdvance => "in_advance",
        BillingPractice::InArrears => "in_arrears",
    }
}
