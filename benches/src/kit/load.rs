//! The kit's company files but the usage read into plock's types through plock-core's public
//! API, as a user's program would: accounts and groups into an [`AccountBook`], items and tier
//! sets into [`Subscription`]s, metrics into the catalogue.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use anyhow::{Context, Result, anyhow, bail};
use chrono::{Datelike, NaiveDate};
use plock_core::account::{AccountName, Contact};
use plock_core::period::PeriodMode;
use plock_core::pricing::{Tier, Tiers};
use plock_core::usage::Aggregation;
use plock_core::{
    Account, AccountBook, AccountId, AccountKey, BillingInterval, BillingPractice, Currency, Item,
    Metric, MetricId, PriceModel, ProductId, Subscription, SubscriptionId, SubscriptionSpec,
};
use rust_decimal::Decimal;

use super::rows::{Row, for_each_row};
use super::{Company, KitAccount, RUN_DATE};

/// Reads every file of the kit's data folder `dir` but the usage.
///
/// # Errors
/// A missing or malformed file, or data plock refuses (each error names the file and line).
pub fn load_rest(dir: &Path) -> Result<Company> {
    let metrics = load_metrics(&dir.join("metrics.csv"))?;
    let (mut book, mut accounts) = load_accounts(&dir.join("accounts.csv"))?;
    link_groups(&dir.join("groups.csv"), &mut book, &mut accounts)?;
    let tiers = load_tiers(&dir.join("tiers.csv"))?;
    let items = load_items(&dir.join("subscription_items.csv"), &tiers)?;
    let subscriptions = load_subscriptions(&dir.join("subscriptions.csv"), items, &mut accounts)?;
    Ok(Company {
        book,
        subscriptions,
        metrics,
        accounts,
    })
}

fn load_metrics(path: &Path) -> Result<Vec<Metric>> {
    let mut metrics = Vec::new();
    for_each_row(path, &["metric_id", "code", "aggregation"], |row| {
        let aggregation = match row.text("aggregation")? {
            "SUM" => Aggregation::Sum,
            other => bail!("aggregation {other:?} (the kit's metrics are all SUM)"),
        };
        metrics.push(Metric {
            id: MetricId::new(row.text("metric_id")?)?,
            aggregation,
        });
        Ok(())
    })?;
    Ok(metrics)
}

/// The billing period's interval: MONTHLY, QUARTERLY or ANNUAL.
fn interval(period: &str) -> Result<BillingInterval> {
    match period {
        "MONTHLY" => Ok(BillingInterval::MONTHLY),
        "QUARTERLY" => Ok(BillingInterval::QUARTERLY),
        "ANNUAL" => Ok(BillingInterval::ANNUALLY),
        other => bail!("billing period {other:?}"),
    }
}

fn practice(practice: &str) -> Result<BillingPractice> {
    match practice {
        "ARREARS" => Ok(BillingPractice::InArrears),
        "ADVANCE" => Ok(BillingPractice::InAdvance),
        other => bail!("billing practice {other:?}"),
    }
}

fn load_accounts(path: &Path) -> Result<(AccountBook, HashMap<u64, KitAccount>)> {
    let columns = [
        "account_id",
        "billing_period",
        "billing_practice",
        "currency",
    ];
    let mut book = AccountBook::new();
    let mut accounts = HashMap::new();
    for_each_row(path, &columns, |row| {
        let id: u64 = row.parse("account_id")?;
        let text = id.to_string();
        let currency: Currency = row.parse("currency")?;
        let kit = KitAccount {
            interval: interval(row.text("billing_period")?)?,
            practice: practice(row.text("billing_practice")?)?,
            currency,
            master: None,
            window: None,
        };
        book.add(Account::new(
            AccountId::new(&text)?,
            AccountKey::new(&text)?,
            AccountName::new(&format!("Account {text}"))?,
            Contact::default(),
            currency,
            RUN_DATE,
        ))?;
        if accounts.insert(id, kit).is_some() {
            bail!("account {id} is listed twice");
        }
        Ok(())
    })?;
    Ok((book, accounts))
}

/// Links every child to its master, then turns group billing on for every master.
fn link_groups(
    path: &Path,
    book: &mut AccountBook,
    accounts: &mut HashMap<u64, KitAccount>,
) -> Result<()> {
    let mut masters = Vec::new();
    for_each_row(path, &["child_account_id", "master_account_id"], |row| {
        let child: u64 = row.parse("child_account_id")?;
        let master: u64 = row.parse("master_account_id")?;
        book.link(
            &AccountId::new(child.to_string())?,
            &AccountId::new(master.to_string())?,
        )?;
        accounts
            .get_mut(&child)
            .ok_or_else(|| anyhow!("unknown child account {child}"))?
            .master = Some(master);
        masters.push(master);
        Ok(())
    })?;
    masters.sort_unstable();
    masters.dedup();
    for master in masters {
        book.set_group_billing(&AccountId::new(master.to_string())?, true)?;
    }
    Ok(())
}

fn load_tiers(path: &Path) -> Result<HashMap<u64, Tiers>> {
    let columns = [
        "tier_set_id",
        "tier_index",
        "up_to",
        "unit_price",
        "flat_amount",
    ];
    let mut sets: BTreeMap<(u64, u64), Tier> = BTreeMap::new();
    for_each_row(path, &columns, |row| {
        let tier = Tier {
            up_to: row.decimal("up_to")?,
            unit_price: row.decimal("unit_price")?,
            flat_fee: row.decimal("flat_amount")?,
        };
        sets.insert((row.parse("tier_set_id")?, row.parse("tier_index")?), tier);
        Ok(())
    })?;
    let mut by_set: BTreeMap<u64, Vec<Tier>> = BTreeMap::new();
    for ((set, _), tier) in sets {
        by_set.entry(set).or_default().push(tier);
    }
    by_set
        .into_iter()
        .map(|(set, tiers)| {
            let tiers = Tiers::new(tiers).with_context(|| format!("tier set {set}"))?;
            Ok((set, tiers))
        })
        .collect()
}

/// Every item in the file's order, and the items' places in order of subscription (then of
/// the file), each with its subscription's id.
///
/// One vector, ordered once by its places, rather than a growing vector per subscription:
/// each subscription's items are then copied out at their count, and the growing vectors'
/// freed room (a third of the items' bytes at M) is not left between the subscriptions for
/// the rest of the program.
struct Items {
    /// In chunks of [`ITEM_CHUNK`], none grown and copied.
    items: Vec<Vec<Item>>,
    order: Vec<(u64, usize)>,
}

/// Items a chunk of [`Items`] holds (about 2 MB).
const ITEM_CHUNK: usize = 1 << 14;

impl Items {
    /// The items of subscription `id`.
    fn of(&self, id: u64) -> Vec<Item> {
        let from = self.order.partition_point(|(s, _)| *s < id);
        let to = self.order.partition_point(|(s, _)| *s <= id);
        let places = self.order.get(from..to).unwrap_or_default();
        let mut items = Vec::with_capacity(places.len());
        items.extend(places.iter().filter_map(|(_, at)| self.item(*at).cloned()));
        items
    }

    /// The item at place `at`.
    fn item(&self, at: usize) -> Option<&Item> {
        self.items.get(at / ITEM_CHUNK)?.get(at % ITEM_CHUNK)
    }

    /// Adds `item`; its place.
    fn push(&mut self, item: Item) -> usize {
        let at = self.order.len();
        match self.items.last_mut() {
            Some(chunk) if chunk.len() < ITEM_CHUNK => chunk.push(item),
            _ => {
                let mut chunk = Vec::with_capacity(ITEM_CHUNK);
                chunk.push(item);
                self.items.push(chunk);
            }
        }
        at
    }
}

fn load_items(path: &Path, tiers: &HashMap<u64, Tiers>) -> Result<Items> {
    let columns = [
        "item_id",
        "subscription_id",
        "kind",
        "metric_id",
        "unit_price",
        "fixed_amount",
        "tier_set_id",
    ];
    let mut items = Items {
        items: Vec::new(),
        order: Vec::new(),
    };
    for_each_row(path, &columns, |row| {
        let subscription = row.parse("subscription_id")?;
        let at = items.push(item(row, tiers)?);
        items.order.push((subscription, at));
        Ok(())
    })?;
    // The place keeps the file's order within a subscription.
    items.order.sort_unstable();
    Ok(items)
}

/// One item: FIXED is a flat fee of quantity 1; PER_UNIT, GRADUATED and VOLUME price a metric.
fn item(row: &Row<'_>, tiers: &HashMap<u64, Tiers>) -> Result<Item> {
    let product = ProductId::new(row.text("item_id")?)?;
    let required = |column| {
        row.decimal(column)?
            .ok_or_else(|| anyhow!("{column} is empty"))
    };
    let tier_set = || -> Result<Tiers> {
        let set: u64 = row.parse("tier_set_id")?;
        tiers
            .get(&set)
            .cloned()
            .ok_or_else(|| anyhow!("unknown tier set {set}"))
    };
    let price = match row.text("kind")? {
        "FIXED" => {
            return Ok(Item::flat_fee(
                product,
                required("fixed_amount")?,
                Decimal::ONE,
            ));
        }
        "PER_UNIT" => PriceModel::PerUnit {
            unit_price: required("unit_price")?,
        },
        "GRADUATED" => PriceModel::Graduated { tiers: tier_set()? },
        "VOLUME" => PriceModel::Volume { tiers: tier_set()? },
        other => bail!("item kind {other:?}"),
    };
    Ok(Item::usage(
        product,
        MetricId::new(row.text("metric_id")?)?,
        price,
    ))
}

/// The subscriptions in id order, activated, on their account's billing period and practice;
/// each account's window (the period that ends on the run date) is taken from its first one
/// in the file.
fn load_subscriptions(
    path: &Path,
    items: Items,
    accounts: &mut HashMap<u64, KitAccount>,
) -> Result<Vec<Subscription>> {
    let columns = [
        "subscription_id",
        "account_id",
        "plan_code",
        "kind",
        "start_ms",
        "end_ms",
    ];
    let mut subscriptions = Vec::new();
    for_each_row(path, &columns, |row| {
        let id: u64 = row.parse("subscription_id")?;
        let account_id: u64 = row.parse("account_id")?;
        let account = accounts
            .get_mut(&account_id)
            .ok_or_else(|| anyhow!("unknown account {account_id}"))?;
        let start = row
            .date_of_ms("start_ms")?
            .ok_or_else(|| anyhow!("start_ms is empty"))?;
        let spec = SubscriptionSpec {
            id: SubscriptionId::new(id.to_string())?,
            account: AccountId::new(account_id.to_string())?,
            start,
            end: row.date_of_ms("end_ms")?,
            interval: account.interval,
            mode: PeriodMode::Calendar,
            anchor: anchor(account.interval, start)?,
            practice: account.practice,
            currency: account.currency,
            items: items.of(id),
            minimum_invoice_amount: None,
        };
        let mut subscription = Subscription::new(spec, account.currency)?;
        subscription.activate()?;
        if account.window.is_none() {
            let last_day = RUN_DATE.pred_opt().ok_or_else(|| anyhow!("run date"))?;
            account.window = subscription
                .schedule()
                .period_containing(last_day)
                .map(|p| p.covered);
        }
        subscriptions.push(subscription);
        Ok(())
    })?;
    // Held in id order, as plock's stores hand subscriptions to a run: the run accepts any
    // order, but checks this one in a pass where it would otherwise sort every run, and
    // walks the subscriptions in the memory order they are held in.
    subscriptions.sort_by(|a, b| a.id().cmp(b.id()));
    Ok(subscriptions)
}

/// Annual periods start on 1 April: the first 1 April after the start is the renewal anchor.
/// Other intervals follow the calendar.
fn anchor(interval: BillingInterval, start: NaiveDate) -> Result<Option<NaiveDate>> {
    if interval != BillingInterval::ANNUALLY {
        return Ok(None);
    }
    let april = |year| NaiveDate::from_ymd_opt(year, 4, 1).ok_or_else(|| anyhow!("year {year}"));
    let this_year = april(start.year())?;
    if this_year > start {
        Ok(Some(this_year))
    } else {
        Ok(Some(april(start.year().saturating_add(1))?))
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;
    use plock_core::BillingInterval;

    use plock_core::{Item, ProductId};
    use rust_decimal::Decimal;

    use super::{Items, anchor};

    #[test]
    fn a_subscriptions_items_come_in_the_files_order_at_their_count() {
        let fee = |p: &str| Item::flat_fee(ProductId::new(p).unwrap(), Decimal::ONE, Decimal::ONE);
        let mut items = Items {
            items: Vec::new(),
            order: Vec::new(),
        };
        for (subscription, product) in [(2, "b"), (1, "a"), (2, "c"), (3, "d"), (2, "a")] {
            let at = items.push(fee(product));
            items.order.push((subscription, at));
        }
        items.order.sort_unstable();
        let of_two = items.of(2);
        let products: Vec<&str> = of_two.iter().map(|i| i.product.as_str()).collect();
        assert_eq!(products, ["b", "c", "a"]);
        assert_eq!(of_two.capacity(), 3);
        assert!(items.of(4).is_empty());
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn annual_periods_renew_on_the_first_april_after_the_start() {
        let annual = |start| anchor(BillingInterval::ANNUALLY, start).unwrap();
        assert_eq!(annual(date(2024, 1, 1)), Some(date(2024, 4, 1)));
        assert_eq!(annual(date(2024, 4, 1)), Some(date(2025, 4, 1)));
        assert_eq!(annual(date(2024, 12, 31)), Some(date(2025, 4, 1)));
        assert_eq!(
            anchor(BillingInterval::QUARTERLY, date(2024, 1, 1)).unwrap(),
            None
        );
    }
}
