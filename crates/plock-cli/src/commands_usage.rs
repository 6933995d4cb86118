//! The metric catalogue and the usage records: list, set an aggregation, export.

use chrono::{NaiveDate, SecondsFormat};
use plock_core::period::Period;
use plock_core::store::{AccountQuery, Batch, Change};
use plock_core::usage::Aggregation;
use plock_core::{AccountKey, Metric, MetricId, UsageRecord};

use crate::app::{Opened, find_account, invalid};
use crate::cli_ops::{AggregationArg, UsageFilter};
use crate::exit::{CliError, fail};
use crate::out::{done_json, json};
use crate::render;
use crate::store_errors::store_error;

type Result<T> = std::result::Result<T, CliError>;

fn aggregation(arg: AggregationArg) -> Aggregation {
    match arg {
        AggregationArg::Sum => Aggregation::Sum,
        AggregationArg::Max => Aggregation::Max,
        AggregationArg::Min => Aggregation::Min,
        AggregationArg::Average => Aggregation::Average,
        AggregationArg::Count => Aggregation::Count,
    }
}

fn aggregation_name(a: Aggregation) -> String {
    serde_json::to_value(a)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default()
}

/// `plock metric list`.
pub fn list_metrics(s: &Opened, as_json: bool) -> Result<String> {
    let metrics = s.store.metrics().map_err(store_error)?;
    if as_json {
        return json(&metrics);
    }
    let mut t = render::table(&["metric", "aggregation"]);
    for m in &metrics {
        t.add_row(vec![m.id.to_string(), aggregation_name(m.aggregation)]);
    }
    Ok(render::trimmed(&t))
}

/// `plock metric set METRIC --aggregation A`.
pub fn set_metric(mut s: Opened, text: &str, arg: AggregationArg, as_json: bool) -> Result<String> {
    let metric = Metric {
        id: MetricId::new(text).map_err(invalid)?,
        aggregation: aggregation(arg),
    };
    let known = s
        .store
        .metrics()
        .map_err(store_error)?
        .into_iter()
        .find(|m| m.id == metric.id);
    let verb = match &known {
        None => "added",
        Some(m) if *m == metric => "kept",
        Some(_) => "set",
    };
    if verb != "kept" {
        s.commit(Batch::one(Change::PutMetric {
            metric: metric.clone(),
        }))?;
    }
    if as_json {
        return done_json(verb, "metric", &metric);
    }
    Ok(format!(
        "{verb} metric {}: aggregation {}",
        metric.id,
        aggregation_name(metric.aggregation)
    ))
}

/// Accounts whose usage one store query reads: a page of records to write.
const ACCOUNTS_PER_PAGE: usize = 500;

/// What a usage filter selects: the accounts in key order, the period and the metric.
struct Selection {
    keys: Vec<AccountKey>,
    period: Period,
    metric: Option<MetricId>,
}

impl Selection {
    fn of(s: &Opened, filter: &UsageFilter) -> Result<Selection> {
        let mut keys = match &filter.account {
            Some(text) => vec![find_account(&*s.store, text)?.key().clone()],
            None => all_keys(s)?,
        };
        // The store sorts records by account first: pages of accounts in key order give the
        // records in the order of one query for them all.
        keys.sort();
        let from = filter.from.unwrap_or(NaiveDate::MIN);
        let to = filter.to.unwrap_or(NaiveDate::MAX);
        let period = Period::new(from, to).map_err(|_| {
            invalid(format!(
                "--from {from} is not before --to {to}: no day between them"
            ))
        })?;
        let metric = filter
            .metric
            .as_deref()
            .map(MetricId::new)
            .transpose()
            .map_err(invalid)?;
        Ok(Selection {
            keys,
            period,
            metric,
        })
    }

    /// The selected records of `keys`, sorted.
    fn records(&self, s: &Opened, keys: &[AccountKey]) -> Result<Vec<UsageRecord>> {
        let mut records = s.store.usage(keys, &self.period).map_err(store_error)?;
        if let Some(metric) = &self.metric {
            records.retain(|r| r.metric() == metric);
        }
        Ok(records)
    }

    /// The selected records a page of accounts at a time, `None` after the last.
    fn pages<'a>(&'a self, s: &'a Opened) -> impl FnMut() -> Result<Option<Vec<UsageRecord>>> {
        let mut chunks = self.keys.chunks(ACCOUNTS_PER_PAGE);
        move || chunks.next().map(|keys| self.records(s, keys)).transpose()
    }
}

/// Every account's key, page by page (the accounts themselves are not kept).
fn all_keys(s: &Opened) -> Result<Vec<AccountKey>> {
    let mut keys = Vec::new();
    crate::values::each_page(
        |after| {
            s.store.list_accounts(&AccountQuery {
                after,
                ..AccountQuery::default()
            })
        },
        |accounts| keys.extend(accounts.iter().map(|a| a.key().clone())),
    )?;
    Ok(keys)
}

/// The records `filter` selects, sorted, read through the store's usage query.
fn records(s: &Opened, filter: &UsageFilter) -> Result<Vec<UsageRecord>> {
    let selection = Selection::of(s, filter)?;
    let mut all = Vec::new();
    let mut pages = selection.pages(s);
    while let Some(page) = pages()? {
        all.extend(page);
    }
    Ok(all)
}

fn timestamp(r: &UsageRecord) -> String {
    r.timestamp().to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

/// `plock usage list [--account A] [--metric M] [--from D] [--to D]`.
pub fn list(s: &Opened, filter: &UsageFilter, as_json: bool) -> Result<String> {
    if as_json {
        // Written a page of accounts at a time, never gathered whole.
        let selection = Selection::of(s, filter)?;
        crate::stream::array_to_stdout(selection.pages(s))?;
        return Ok(String::new());
    }
    let all = records(s, filter)?;
    let mut t = render::table(&["account", "metric", "timestamp", "quantity", "record id"]);
    for r in &all {
        t.add_row(vec![
            r.account().to_string(),
            r.metric().to_string(),
            timestamp(r),
            r.quantity().to_string(),
            r.record_id().map_or(String::new(), ToString::to_string),
        ]);
    }
    render::right(&mut t, &[3]);
    Ok(format!("{}\n{} record(s)", render::trimmed(&t), all.len()))
}

/// A cell a spreadsheet would run as a formula, written as text (import removes the `'`).
fn cell(text: String) -> String {
    if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text
    }
}

/// `plock usage export [filter] [--out FILE]`: the import format, `account_key,metric,
/// timestamp,quantity,record_id`.
pub fn export(
    s: &Opened,
    filter: &UsageFilter,
    out: Option<&std::path::Path>,
    as_json: bool,
) -> Result<String> {
    let all = records(s, filter)?;
    let mut w = csv::WriterBuilder::new().from_writer(Vec::new());
    w.write_record([
        "account_key",
        "metric",
        "timestamp",
        "quantity",
        "record_id",
    ])
    .map_err(invalid)?;
    for r in &all {
        w.write_record([
            cell(r.account().to_string()),
            cell(r.metric().to_string()),
            timestamp(r),
            r.quantity().to_string(),
            cell(r.record_id().map_or(String::new(), ToString::to_string)),
        ])
        .map_err(invalid)?;
    }
    let bytes = w.into_inner().map_err(invalid)?;
    let text = String::from_utf8(bytes).map_err(|e| fail(crate::exit::Class::Io, e))?;
    crate::files::write_out(out, text, as_json, |path| {
        (
            format!("wrote {} usage record(s) to {}", all.len(), path.display()),
            serde_json::json!({ "usage_records": all.len() }),
        )
    })
}
