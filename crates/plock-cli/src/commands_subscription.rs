//! The subscription commands: a one-item `subscription add`, a subscription of any items from
//! a file, an item added to a stored subscription (a flat fee changed in `item_change`), a
//! Draft activated, list and show, and the state changes.

use std::path::Path;

use plock_core::period::PeriodMode;
use plock_core::pricing::Rebate;
use plock_core::store::{Batch, Change, SubscriptionQuery};
use plock_core::subscription::SubscriptionState;
use plock_core::usage::Aggregation;
use plock_core::{
    BillingInterval, BillingPractice, Item, Metric, MetricId, PriceModel, ProductId, Subscription,
    SubscriptionId, SubscriptionSpec,
};
use rust_decimal::Decimal;

use crate::app::{Opened, find_account, invalid};
use crate::cli::{SubscriptionCommand, SubscriptionFields};
use crate::cli_ops::{CreateArgs, ItemCommand, ItemFields, SubscriptionFormat};
use crate::exit::{Class, CliError, fail};
use crate::files::{name, read};
use crate::help::{help, nested};
use crate::out::{done_json, json, json_or_text};
use crate::render;
use crate::store_errors::store_error;
use crate::values::{all_pages, decimal, find_subscription as find, refuse_taken};
use plock_core::import::subscription_file::{
    FileItem, FileState, SubscriptionFile, from_json, from_toml,
};

type Result<T> = std::result::Result<T, CliError>;

/// `plock subscription ...`.
pub fn subscription(s: Opened, cmd: SubscriptionCommand, as_json: bool) -> Result<String> {
    match cmd {
        SubscriptionCommand::Add(f) => add(s, &f, as_json),
        SubscriptionCommand::List { account } => {
            let account = account.map(|a| find_account(&*s.store, &a)).transpose()?;
            let all = all_pages(|after| {
                let account = account.as_ref().map(|a| a.id().clone());
                s.store.list_subscriptions(&SubscriptionQuery {
                    account,
                    after,
                    limit: 0,
                })
            })?;
            json_or_text(as_json, &all, |all| render::subscriptions(all))
        }
        SubscriptionCommand::Show { subscription } => {
            let sub = find(&s, &subscription)?;
            if as_json {
                json(&sub)
            } else {
                Ok(format!(
                    "{}\n{}",
                    render::subscriptions(std::slice::from_ref(&sub)),
                    json(&sub.items())?
                ))
            }
        }
        SubscriptionCommand::Pause { subscription, date } => {
            transition(s, &subscription, "paused", as_json, |sub| sub.pause(date))
        }
        SubscriptionCommand::Resume { subscription, date } => {
            transition(s, &subscription, "resumed", as_json, |sub| sub.resume(date))
        }
        SubscriptionCommand::End { subscription, date } => {
            transition(s, &subscription, "ended", as_json, |sub| sub.end(date))
        }
        SubscriptionCommand::Create(args) => create(s, &args, as_json),
        SubscriptionCommand::Item(ItemCommand::Add(fields)) => add_item(s, &fields, as_json),
        SubscriptionCommand::Item(ItemCommand::Change(change)) => {
            crate::item_change::change_item(s, &change, as_json)
        }
        SubscriptionCommand::Activate { subscription } => activate(s, &subscription, as_json),
        SubscriptionCommand::Help { topic } => help(&nested("subscription", topic)),
    }
}

/// `plock subscription add`: one item, a fee or a price per unit of a metric (added to the
/// catalogue, summed, when new).
fn add(mut s: Opened, f: &SubscriptionFields, as_json: bool) -> Result<String> {
    let account = find_account(&*s.store, &f.account)?;
    let product = ProductId::new(&f.product).map_err(invalid)?;
    let mut changes = Vec::new();
    let item = match (&f.fee, &f.unit_price, &f.metric) {
        (Some(fee), None, None) => Item::flat_fee(product, decimal(fee, "--fee")?, Decimal::ONE),
        (None, Some(price), Some(metric)) => {
            let metric = MetricId::new(metric).map_err(invalid)?;
            changes.extend(new_metrics(&s, &[(metric.clone(), Aggregation::Sum)])?);
            Item::usage(
                product,
                metric,
                PriceModel::PerUnit {
                    unit_price: decimal(price, "--unit-price")?,
                },
            )
        }
        _ => {
            return Err(fail(
                Class::Usage,
                "give either --fee, or --unit-price with --metric",
            ));
        }
    };
    let spec = SubscriptionSpec {
        id: SubscriptionId::new(&f.id).map_err(invalid)?,
        account: account.id().clone(),
        start: f.start,
        end: None,
        interval: BillingInterval::every_months(f.months).map_err(invalid)?,
        mode: PeriodMode::Calendar,
        anchor: None,
        practice: BillingPractice::InAdvance,
        currency: account.currency(),
        items: vec![item],
        minimum_invoice_amount: None,
    };
    let mut sub = Subscription::new(spec, account.currency()).map_err(invalid)?;
    sub.activate().map_err(invalid)?;
    refuse_taken(&s, &sub)?;
    let line = if as_json {
        done_json("added", "subscription", &sub)?
    } else {
        format!(
            "added subscription {} for account {}",
            sub.id(),
            account.id()
        )
    };
    changes.push(Change::PutSubscription { subscription: sub });
    s.commit(Batch { changes })?;
    Ok(line)
}

fn transition(
    mut s: Opened,
    text: &str,
    verb: &str,
    as_json: bool,
    step: impl FnOnce(
        &mut Subscription,
    ) -> std::result::Result<(), plock_core::subscription::SubscriptionError>,
) -> Result<String> {
    let mut sub = find(&s, text)?;
    step(&mut sub).map_err(invalid)?;
    let line = if as_json {
        done_json(verb, "subscription", &sub)?
    } else {
        format!("{verb} subscription {} ({})", sub.id(), sub.state())
    };
    s.commit(Batch::one(Change::PutSubscription { subscription: sub }))?;
    Ok(line)
}

fn format_of(args: &CreateArgs) -> Result<SubscriptionFormat> {
    if let Some(format) = args.format {
        return Ok(format);
    }
    match args.file.extension().and_then(|e| e.to_str()) {
        Some("toml") => Ok(SubscriptionFormat::Toml),
        Some("json") => Ok(SubscriptionFormat::Json),
        Some("csv") => Ok(SubscriptionFormat::Csv),
        _ => Err(fail(
            Class::Usage,
            format!(
                "cannot tell the format of {}; give --format toml, json or csv",
                name(&args.file)
            ),
        )),
    }
}

/// Metrics the items count that the catalogue lacks, to add with the subscription.
fn new_metrics(s: &Opened, counted: &[(MetricId, Aggregation)]) -> Result<Vec<Change>> {
    let known = s.store.metrics().map_err(store_error)?;
    Ok(counted
        .iter()
        .filter(|(id, _)| !known.iter().any(|m| m.id == *id))
        .map(|(id, aggregation)| Change::PutMetric {
            metric: Metric {
                id: id.clone(),
                aggregation: *aggregation,
            },
        })
        .collect())
}

/// The changes that store a subscription file's subscription: new metrics, then it.
fn from_file(s: &Opened, file: &SubscriptionFile) -> Result<(Subscription, Vec<Change>)> {
    let account = find_account(&*s.store, &file.account)?;
    if let Some(currency) = &file.currency
        && currency.parse::<plock_core::Currency>().map_err(invalid)? != account.currency()
    {
        return Err(invalid(format!(
            "currency {currency:?}: account {} bills in {}",
            account.id(),
            account.currency()
        )));
    }
    let mut items = Vec::with_capacity(file.items.len());
    let mut counted = Vec::new();
    for item in &file.items {
        let (item, metric) = item.item().map_err(invalid)?;
        items.push(item);
        counted.extend(metric);
    }
    let spec = SubscriptionSpec {
        id: SubscriptionId::new(&file.id).map_err(invalid)?,
        account: account.id().clone(),
        start: file.start,
        end: file.end,
        interval: file.interval().map_err(invalid)?,
        mode: file.mode,
        anchor: file.anchor,
        practice: file.practice,
        currency: account.currency(),
        items,
        minimum_invoice_amount: file.minimum_invoice_amount.map(|a| a.0),
    };
    let mut sub = Subscription::new(spec, account.currency()).map_err(invalid)?;
    if file.state == FileState::Active {
        sub.activate().map_err(invalid)?;
    }
    let mut changes = new_metrics(s, &counted)?;
    changes.push(Change::PutSubscription {
        subscription: sub.clone(),
    });
    Ok((sub, changes))
}

/// The changes of a subscriptions CSV that must hold exactly one subscription.
fn from_csv(s: &Opened, bytes: &[u8], path: &Path) -> Result<(Subscription, Vec<Change>)> {
    let company = s.store.company().map_err(store_error)?;
    let batch = plock_core::import::plan_subscription_import(
        bytes,
        &company.accounts,
        &company.subscriptions,
        &company.metrics,
    )
    .map_err(|e| invalid(format!("{}: {e}", name(path))))?;
    let subs: Vec<&Subscription> = batch
        .changes
        .iter()
        .filter_map(|c| match c {
            Change::PutSubscription { subscription } => Some(subscription),
            _ => None,
        })
        .collect();
    match subs.as_slice() {
        [one] => Ok(((*one).clone(), batch.changes.clone())),
        [] => Err(fail(
            Class::Conflict,
            format!(
                "{}: the subscription exists as the file states it; nothing to create",
                name(path)
            ),
        )),
        _ => Err(invalid(format!(
            "{}: holds {} subscriptions; `plock import subscriptions` takes several",
            name(path),
            subs.len()
        ))),
    }
}

/// `plock subscription create FILE [--format ...] [--dry-run]`.
fn create(mut s: Opened, args: &CreateArgs, as_json: bool) -> Result<String> {
    let format = format_of(args)?;
    let bytes = read(&args.file)?;
    let text = || {
        String::from_utf8(bytes.clone())
            .map_err(|_| invalid(format!("{}: not UTF-8 text", name(&args.file))))
    };
    let (sub, changes) = match format {
        SubscriptionFormat::Csv => from_csv(&s, &bytes, &args.file)?,
        SubscriptionFormat::Toml | SubscriptionFormat::Json => {
            let parsed = if format == SubscriptionFormat::Toml {
                from_toml(&text()?)
            } else {
                from_json(&text()?)
            };
            let file = parsed.map_err(|e| invalid(format!("{}: {e}", name(&args.file))))?;
            from_file(&s, &file)?
        }
    };
    refuse_taken(&s, &sub)?;
    let metrics = changes.len().saturating_sub(1);
    let batch = Batch { changes };
    let action = if args.dry_run {
        s.check_described(&batch, &|_, c| crate::app::subject(c))?;
        "checked"
    } else {
        s.commit(batch)?;
        "created"
    };
    if as_json {
        return done_json(action, "subscription", &sub);
    }
    let what = format!(
        "subscription {} for account {}: {} item(s), {}{}",
        sub.id(),
        sub.account(),
        sub.items().len(),
        sub.state(),
        if metrics > 0 {
            format!("; {metrics} new metric(s)")
        } else {
            String::new()
        }
    );
    Ok(if args.dry_run {
        format!("would create {what}; nothing written (dry run)")
    } else {
        format!("created {what}")
    })
}

/// The subscription again, from `spec`, in the state `sub` is in and billed as far.
fn rebuilt(sub: &Subscription, spec: SubscriptionSpec) -> Result<Subscription> {
    let mut next = Subscription::new(spec, sub.currency()).map_err(invalid)?;
    match sub.state() {
        SubscriptionState::Draft => {}
        SubscriptionState::Active => next.activate().map_err(invalid)?,
        SubscriptionState::Paused { since } => next
            .activate()
            .and_then(|()| next.pause(since))
            .map_err(invalid)?,
        SubscriptionState::Ended => {
            return Err(fail(
                Class::Validation,
                format!("subscription {} has ended; it takes no new item", sub.id()),
            ));
        }
    }
    next.record_billed(sub.billed_through());
    Ok(next)
}

/// The item of a file of one item, and the metric it counts if new.
fn item_from_file(s: &Opened, path: &Path) -> Result<(Item, Vec<Change>)> {
    let bytes = read(path)?;
    let text =
        String::from_utf8(bytes).map_err(|_| invalid(format!("{}: not UTF-8 text", name(path))))?;
    let json = path.extension().is_some_and(|e| e == "json");
    let parsed: std::result::Result<FileItem, String> = if json {
        from_json(&text)
    } else {
        from_toml(&text)
    };
    let file = parsed.map_err(|e| invalid(format!("{}: {e}", name(path))))?;
    let (item, metric) = file.item().map_err(invalid)?;
    let metrics: Vec<(MetricId, Aggregation)> = metric.into_iter().collect();
    Ok((item, new_metrics(s, &metrics)?))
}

/// The item the flags state, and the metric it counts if new.
fn item_from_flags(s: &Opened, f: &ItemFields) -> Result<(Item, Vec<Change>)> {
    let product = ProductId::new(f.product.as_deref().unwrap_or_default()).map_err(invalid)?;
    let mut changes = Vec::new();
    let mut item = match (&f.fee, &f.unit_price, &f.metric) {
        (Some(fee), None, None) => Item::flat_fee(
            product,
            decimal(fee, "fee")?,
            decimal(&f.quantity, "quantity")?,
        ),
        (None, Some(price), Some(metric)) => {
            let metric = MetricId::new(metric).map_err(invalid)?;
            changes.extend(new_metrics(s, &[(metric.clone(), Aggregation::Sum)])?);
            Item::usage(
                product,
                metric,
                PriceModel::PerUnit {
                    unit_price: decimal(price, "unit price")?,
                },
            )
        }
        _ => {
            return Err(fail(
                Class::Usage,
                "give either --fee, or --unit-price with --metric",
            ));
        }
    };
    if let Some(rebate) = &f.rebate {
        item = item.with_rebate(Rebate::percent(decimal(rebate, "rebate")?).map_err(invalid)?);
    }
    Ok((item, changes))
}

/// `plock subscription item add SUB (--product P (--fee F | --unit-price X --metric M) |
/// --file ITEM)`.
fn add_item(mut s: Opened, f: &ItemFields, as_json: bool) -> Result<String> {
    let sub = find(&s, &f.subscription)?;
    let (item, mut changes) = match &f.file {
        Some(path) => item_from_file(&s, path)?,
        None => item_from_flags(&s, f)?,
    };
    let product = item.product.clone();
    let mut spec = sub.spec().clone();
    spec.items.push(item);
    let next = rebuilt(&sub, spec)?;
    let line = if as_json {
        done_json("added item to", "subscription", &next)?
    } else {
        format!(
            "added item {product} to subscription {} ({} items)",
            next.id(),
            next.items().len()
        )
    };
    changes.push(Change::PutSubscription { subscription: next });
    s.commit(Batch { changes })?;
    Ok(line)
}

/// `plock subscription activate SUB`.
fn activate(mut s: Opened, text: &str, as_json: bool) -> Result<String> {
    let mut sub = find(&s, text)?;
    sub.activate().map_err(invalid)?;
    let line = if as_json {
        done_json("activated", "subscription", &sub)?
    } else {
        format!("activated subscription {} ({})", sub.id(), sub.state())
    };
    s.commit(Batch::one(Change::PutSubscription { subscription: sub }))?;
    Ok(line)
}
