//! The subscriptions CSV: one row per item; the subscription's own fields repeat on each of
//! its rows and must agree.

use std::collections::BTreeMap;

use rust_decimal::Decimal;

pub use super::subscription_rows::SUBSCRIPTION_COLUMNS;
use super::subscription_rows::{Head, Parsed};
use super::table::ImportErrors;
use super::{Csv, neutralise};
use crate::book::AccountBook;
use crate::id::{MetricId, SubscriptionId};
use crate::pricing::{PriceModel, Rebate, Tiers};
use crate::store::Change;
use crate::subscription::{
    BillingPractice, Item, Subscription, SubscriptionSpec, SubscriptionState,
};
use crate::usage::{Aggregation, Metric};

pub(super) const REQUIRED: [&str; 6] = [
    "subscription_id",
    "account_key",
    "start",
    "currency",
    "product",
    "model",
];

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

/// A subscriptions file's rows gathered by subscription as they are read, and the metrics
/// they add to the catalogue.
pub(super) struct Gathered {
    /// The catalogue: the stored metrics and those the rows add.
    catalogue: BTreeMap<MetricId, Aggregation>,
    /// The metrics the rows name that the catalogue lacked, in file order.
    new_metrics: Vec<Metric>,
    /// Each subscription's first line, its terms and its items with their lines.
    subscriptions: BTreeMap<SubscriptionId, Subscribed>,
}

/// A subscription's rows: its first line, its terms and its items, each with its line.
struct Subscribed {
    line: u64,
    head: Head,
    items: Vec<(u64, Item)>,
}

impl Gathered {
    /// Nothing gathered yet, over the stored `metrics`.
    pub(super) fn new(metrics: &[Metric]) -> Gathered {
        Gathered {
            catalogue: metrics
                .iter()
                .map(|m| (m.id.clone(), m.aggregation))
                .collect(),
            new_metrics: Vec::new(),
            subscriptions: BTreeMap::new(),
        }
    }

    /// Adds a row: a metric the catalogue lacks joins it; a row that gives a known metric
    /// another aggregation, whose terms differ from its subscription's first row, or that
    /// repeats a product of its subscription is an error.
    pub(super) fn add(&mut self, row: Parsed, errors: &mut ImportErrors) {
        self.metric_of(&row, errors);
        let entry = self
            .subscriptions
            .entry(row.id.clone())
            .or_insert_with(|| Subscribed {
                line: row.line,
                head: row.head.clone(),
                items: Vec::new(),
            });
        if entry.head != row.head {
            errors.push(
                row.line,
                "subscription_id",
                row.id.as_str(),
                format!(
                    "subscription fields differ from its first row, line {}",
                    entry.line
                ),
            );
        }
        // A product twice in one subscription (two identical rows, say) would be charged
        // twice.
        let product = &row.item.product;
        if let Some((first, _)) = entry.items.iter().find(|(_, i)| &i.product == product) {
            errors.push(
                row.line,
                "product",
                product.as_str(),
                format!(
                    "subscription {} already has this product on line {first}; a duplicate \
                     row would charge it twice",
                    row.id
                ),
            );
        }
        entry.items.push((row.line, row.item));
    }

    /// Adds the row's metric to the catalogue if it lacks it.
    fn metric_of(&mut self, row: &Parsed, errors: &mut ImportErrors) {
        let Some(metric) = &row.item.metric else {
            return;
        };
        match (self.catalogue.get(metric), row.aggregation) {
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
                self.catalogue.insert(metric.clone(), aggregation);
                self.new_metrics.push(Metric {
                    id: metric.clone(),
                    aggregation,
                });
            }
            _ => {}
        }
    }

    /// The changes: new metrics, then new or changed subscriptions (each against its
    /// account in `book` and the stored one in `existing`); problems go to `errors`.
    pub(super) fn plan(
        self,
        book: &AccountBook,
        existing: &[Subscription],
        errors: &mut ImportErrors,
    ) -> Vec<Change> {
        let existing: BTreeMap<&SubscriptionId, &Subscription> =
            existing.iter().map(|s| (s.id(), s)).collect();
        let mut changes: Vec<Change> = self
            .new_metrics
            .into_iter()
            .map(|metric| Change::PutMetric { metric })
            .collect();
        for (id, subscribed) in self.subscriptions {
            let Subscribed { line, head, items } = subscribed;
            let Some(account) = book.by_key(&head.account) else {
                errors.push(
                    line,
                    "account_key",
                    head.account.as_str(),
                    "no account has this key; import the accounts first",
                );
                continue;
            };
            let stored = existing.get(&id).copied();
            let head = resolved_head(&head, stored);
            let items = items.into_iter().map(|(_, item)| item).collect();
            let built = build(&id, &head, items, account).and_then(|mut sub| {
                // A changed fee applies from the first day not billed yet; earlier prices
                // stay.
                if let Some(stored) = stored {
                    sub.keep_price_history(stored).map_err(|e| e.to_string())?;
                }
                Ok(sub)
            });
            match built {
                Ok(sub) => {
                    if stored.is_none_or(|old| *old != sub) {
                        changes.push(Change::PutSubscription { subscription: sub });
                    }
                }
                Err(reason) => errors.push(line, "subscription_id", id.as_str(), reason),
            }
        }
        changes
    }
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

fn practice_name(p: BillingPractice) -> &'static str {
    match p {
        BillingPractice::InAdvance => "in_advance",
        BillingPractice::InArrears => "in_arrears",
    }
}
