//! `plock demo`: a sample company with accounts in every state, an enterprise group,
//! subscriptions of every price model and three months of usage, billed month by month.

use chrono::{NaiveDate, TimeZone, Utc};
use plock_core::account::{
    AccountName, AccountState, Contact, ContactInput, ExternalId, ExternalSystem, Tag,
};
use plock_core::id::RecordId;
use plock_core::period::PeriodMode;
use plock_core::pricing::{Rebate, Tier, Tiers};
use plock_core::store::{Batch, Change};
use plock_core::usage::Aggregation;
use plock_core::{
    Account, AccountId, AccountKey, BillingInterval, BillingPractice, Currency, Item, Metric,
    MetricId, PriceModel, ProductId, RunOptions, Store, Subscription, SubscriptionId,
    SubscriptionSpec, UsageRecord,
};
use rust_decimal::Decimal;

use crate::exit::{Class, CliError, fail};

type Result<T> = std::result::Result<T, CliError>;

fn bug(e: impl std::fmt::Display) -> CliError {
    // The demo's data is fixed and valid; an error here is a bug in plock, reported as such.
    fail(
        Class::Validation,
        format!("demo data refused (a bug in plock): {e}"),
    )
}

fn d(y: i32, m: u32, day: u32) -> Result<NaiveDate> {
    NaiveDate::from_ymd_opt(y, m, day).ok_or_else(|| bug("date"))
}

fn dec(text: &str) -> Result<Decimal> {
    Decimal::from_str_exact(text).map_err(bug)
}

fn account(
    id: &str,
    name: &str,
    currency: Currency,
    email: &str,
    country: &str,
) -> Result<Account> {
    let contact = Contact::new(&ContactInput {
        email: Some(email),
        country: Some(country),
        ..ContactInput::default()
    })
    .map_err(bug)?;
    Ok(Account::new(
        AccountId::new(id).map_err(bug)?,
        AccountKey::new(id).map_err(bug)?,
        AccountName::new(name).map_err(bug)?,
        contact,
        currency,
        d(2024, 12, 1)?,
    ))
}

fn id(s: &str) -> Result<AccountId> {
    AccountId::new(s).map_err(bug)
}
fn product(s: &str) -> Result<ProductId> {
    ProductId::new(s).map_err(bug)
}
fn metric(s: &str) -> Result<MetricId> {
    MetricId::new(s).map_err(bug)
}

struct Sub<'a> {
    id: &'a str,
    account: &'a str,
    start: NaiveDate,
    months: u32,
    currency: Currency,
    practice: BillingPractice,
    items: Vec<Item>,
    minimum: Option<&'a str>,
}

fn subscription(s: Sub<'_>) -> Result<Change> {
    let mut sub = Subscription::new(
        SubscriptionSpec {
            id: SubscriptionId::new(s.id).map_err(bug)?,
            account: id(s.account)?,
            start: s.start,
            end: None,
            interval: BillingInterval::every_months(s.months).map_err(bug)?,
            mode: PeriodMode::Calendar,
            anchor: None,
            practice: s.practice,
            currency: s.currency,
            items: s.items,
            minimum_invoice_amount: s.minimum.map(dec).transpose()?,
        },
        s.currency,
    )
    .map_err(bug)?;
    sub.activate().map_err(bug)?;
    Ok(Change::PutSubscription { subscription: sub })
}

fn tiers(rows: &[(Option<&str>, Option<&str>, Option<&str>)]) -> Result<Tiers> {
    let tiers = rows
        .iter()
        .map(|(up_to, unit, flat)| {
            Ok(Tier {
                up_to: up_to.map(dec).transpose()?,
                unit_price: unit.map(dec).transpose()?,
                flat_fee: flat.map(dec).transpose()?,
            })
        })
        .collect::<Result<Vec<Tier>>>()?;
    Tiers::new(tiers).map_err(bug)
}

/// The sample company, as batches applied to `store`, empty.
pub fn company(store: &mut dyn Store) -> Result<()> {
    let mut changes = accounts()?;
    changes.extend(subscriptions()?);
    store.apply(Batch { changes }).map_err(bug)?;
    store
        .apply(Batch::one(Change::AddUsage { records: usage()? }))
        .map_err(bug)?;
    Ok(())
}

/// The accounts, their group, ids in the CRM and the ERP, and the metric catalogue.
fn accounts() -> Result<Vec<Change>> {
    let mut changes = vec![
        Change::AddAccount {
            account: account(
                "dentist-johnson",
                "Dentist Johnson",
                Currency::SEK,
                "johnson@dentist.example",
                "SE",
            )?,
        },
        Change::AddAccount {
            account: account(
                "retailer-acme",
                "Retailer Acme",
                Currency::EUR,
                "billing@acme.example",
                "DE",
            )?,
        },
        Change::AddAccount {
            account: account(
                "globex",
                "Globex Group",
                Currency::EUR,
                "ap@globex.example",
                "NL",
            )?,
        },
        Change::AddAccount {
            account: account(
                "globex-nordics",
                "Globex Nordics",
                Currency::EUR,
                "ap@nordics.globex.example",
                "SE",
            )?,
        },
        Change::AddAccount {
            account: account(
                "globex-uk",
                "Globex UK",
                Currency::EUR,
                "ap@uk.globex.example",
                "GB",
            )?,
        },
        Change::AddAccount {
            account: account(
                "globex-apac",
                "Globex APAC",
                Currency::EUR,
                "ap@apac.globex.example",
                "SG",
            )?,
        },
        Change::AddAccount {
            account: account(
                "globex-us",
                "Globex US",
                Currency::USD,
                "ap@us.globex.example",
                "US",
            )?,
        },
        Change::AddAccount {
            account: account(
                "initech",
                "Initech",
                Currency::EUR,
                "finance@initech.example",
                "FI",
            )?,
        },
        Change::AddAccount {
            account: account("old-corp", "Old Corp", Currency::EUR, "x@old.example", "DK")?
                .with_state(AccountState::Archived),
        },
        Change::AddDiscovered {
            account: account(
                "found-in-data",
                "Found In Data AB",
                Currency::SEK,
                "hello@found.example",
                "SE",
            )?,
        },
    ];
    for child in ["globex-nordics", "globex-uk", "globex-apac", "globex-us"] {
        changes.push(Change::Link {
            child: id(child)?,
            master: id("globex")?,
        });
    }
    changes.push(Change::SetGroupBilling {
        master: id("globex")?,
        on: true,
    });
    for (account, tag) in [
        ("dentist-johnson", "dental"),
        ("dentist-johnson", "smb"),
        ("retailer-acme", "retail"),
        ("globex", "enterprise"),
    ] {
        changes.push(Change::Tag {
            id: id(account)?,
            tag: Tag::new(tag).map_err(bug)?,
        });
    }
    for (account, erp) in [
        ("dentist-johnson", "1001"),
        ("globex", "1002"),
        ("retailer-acme", "1003"),
    ] {
        changes.push(Change::SetExternalId {
            id: id(account)?,
            system: ExternalSystem::Fortnox,
            external_id: ExternalId::new(erp).map_err(bug)?,
        });
    }
    changes.push(Change::SetExternalId {
        id: id("globex")?,
        system: ExternalSystem::HubSpot,
        external_id: ExternalId::new("hs-778").map_err(bug)?,
    });
    for (m, aggregation) in [
        ("emails", Aggregation::Sum),
        ("seats", Aggregation::Max),
        ("gb_stored", Aggregation::Average),
    ] {
        changes.push(Change::PutMetric {
            metric: Metric {
                id: metric(m)?,
                aggregation,
            },
        });
    }
    Ok(changes)
}

/// One subscription an account, the price models in turn.
fn subscriptions() -> Result<Vec<Change>> {
    let jan = d(2025, 1, 1)?;
    let advance = BillingPractice::InAdvance;
    let graduated = PriceModel::Graduated {
        tiers: tiers(&[
            (Some("10000"), Some("0.010"), None),
            (Some("100000"), Some("0.008"), None),
            (None, Some("0.005"), None),
        ])?,
    };
    let subs = [
        Sub {
            id: "sub-dentist",
            account: "dentist-johnson",
            start: jan,
            months: 1,
            currency: Currency::SEK,
            practice: advance,
            items: vec![
                Item::flat_fee(product("licence")?, dec("3100.00")?, Decimal::ONE)
                    .with_rebate(Rebate::percent(dec("10")?).map_err(bug)?),
            ],
            minimum: None,
        },
        Sub {
            id: "sub-acme",
            account: "retailer-acme",
            start: d(2025, 1, 10)?,
            months: 1,
            currency: Currency::EUR,
            practice: advance,
            items: vec![
                Item::flat_fee(product("base")?, dec("99.00")?, Decimal::ONE),
                Item::usage(product("emails")?, metric("emails")?, graduated.clone()),
            ],
            minimum: None,
        },
        Sub {
            id: "sub-globex",
            account: "globex",
            start: jan,
            months: 1,
            currency: Currency::EUR,
            practice: advance,
            items: vec![
                Item::flat_fee(product("platform")?, dec("2000.00")?, Decimal::ONE),
                Item::usage(
                    product("users")?,
                    metric("seats")?,
                    PriceModel::Graduated {
                        tiers: tiers(&[
                            (Some("1500"), None, Some("4300.00")),
                            (None, Some("3.00"), None),
                        ])?,
                    },
                ),
            ],
            minimum: None,
        },
        Sub {
            id: "sub-nordics",
            account: "globex-nordics",
            start: jan,
            months: 1,
            currency: Currency::EUR,
            practice: advance,
            items: vec![Item::usage(
                product("emails")?,
                metric("emails")?,
                graduated,
            )],
            minimum: None,
        },
        Sub {
            id: "sub-uk",
            account: "globex-uk",
            start: d(2025, 2, 15)?,
            months: 1,
            currency: Currency::EUR,
            practice: advance,
            items: vec![Item::usage(
                product("emails")?,
                metric("emails")?,
                PriceModel::Commitment {
                    committed: dec("100000")?,
                    unit_price: dec("0.003")?,
                },
            )],
            minimum: None,
        },
        Sub {
            id: "sub-apac",
            account: "globex-apac",
            start: jan,
            months: 3,
            currency: Currency::EUR,
            practice: advance,
            items: vec![Item::flat_fee(
                product("platform")?,
                dec("1500.00")?,
                Decimal::ONE,
            )],
            minimum: None,
        },
        Sub {
            id: "sub-us",
            account: "globex-us",
            start: jan,
            months: 1,
            currency: Currency::USD,
            practice: advance,
            items: vec![Item::usage(
                product("storage")?,
                metric("gb_stored")?,
                PriceModel::PerUnit {
                    unit_price: dec("0.25")?,
                },
            )],
            minimum: None,
        },
        Sub {
            id: "sub-initech",
            account: "initech",
            start: jan,
            months: 1,
            currency: Currency::EUR,
            practice: BillingPractice::InArrears,
            items: vec![
                Item::usage(
                    product("users")?,
                    metric("seats")?,
                    PriceModel::Volume {
                        tiers: tiers(&[
                            (Some("100"), Some("5.00"), None),
                            (Some("1000"), Some("4.00"), None),
                            (None, Some("3.00"), None),
                        ])?,
                    },
                ),
                Item::usage(
                    product("mailouts")?,
                    metric("emails")?,
                    PriceModel::Package {
                        size: dec("1000")?,
                        price: dec("2.50")?,
                    },
                ),
            ],
            minimum: Some("500.00"),
        },
    ];
    subs.into_iter().map(subscription).collect()
}

/// Three months of usage, the same every run.
fn usage() -> Result<Vec<UsageRecord>> {
    let mut records = Vec::new();
    let per_day: [(&str, &str, u32); 8] = [
        ("retailer-acme", "emails", 1_000),
        ("globex-nordics", "emails", 4_000),
        ("globex-uk", "emails", 3_500),
        ("initech", "emails", 2_200),
        ("globex", "seats", 1_400),
        ("initech", "seats", 140),
        ("globex-us", "gb_stored", 800),
        ("found-in-data", "emails", 50),
    ];
    for day in 0..90u64 {
        let at = Utc
            .with_ymd_and_hms(2025, 1, 1, 9, 0, 0)
            .single()
            .ok_or_else(|| bug("timestamp"))?
            + chrono::Days::new(day);
        let weekend = matches!(day % 7, 3 | 4); // 2025-01-04 was a Saturday
        for (key, m, base) in per_day {
            // Seats grow through the quarter; everything else wobbles by the weekday. Nordics'
            // mailings fade from March (churn risk), the UK sends on weekdays only, and US
            // storage jumps on March 30 (a spike).
            let mut quantity = u64::from(base)
                + if m == "seats" {
                    day * 3
                } else {
                    (day % 7) * 50
                };
            if key == "globex-nordics" && day > 62 {
                quantity = quantity.saturating_sub((day - 62) * 120);
            }
            if key == "globex-uk" && weekend {
                continue;
            }
            if key == "globex-us" && day == 88 {
                quantity *= 6;
            }
            let record_id = RecordId::new(format!("{key}-{m}-{day}")).map_err(bug)?;
            records.push(
                UsageRecord::new(
                    AccountKey::new(key).map_err(bug)?,
                    metric(m)?,
                    at,
                    Decimal::from(quantity),
                    Some(record_id),
                )
                .map_err(bug)?,
            );
        }
    }
    Ok(records)
}

/// What a person sees of the demo company's three runs, and the runs.
pub struct Demo {
    /// The story and every invoice, as text.
    pub text: String,
    /// The three billing runs.
    pub runs: Vec<plock_core::BillingRun>,
}

/// Builds the company, bills it on the first of February, March and April 2025 (archiving a
/// customer on the way), all in `store` (empty), and returns what a person sees.
pub fn run(store: &mut dyn Store) -> Result<Demo> {
    company(store)?;
    let mut out = String::from(
        "plock demo: an email-marketing SaaS with a dentist, a retailer, an enterprise group of five,\n\
         a customer billed in arrears, an archived and a pending account. Billed month by month.\n",
    );
    let mut runs = Vec::new();
    for (n, run_date) in [d(2025, 2, 1)?, d(2025, 3, 1)?, d(2025, 4, 1)?]
        .into_iter()
        .enumerate()
    {
        if n == 2 {
            store
                .apply(Batch::one(Change::Archive {
                    id: id("retailer-acme")?,
                }))
                .map_err(bug)?;
            out.push_str(
                "\nRetailer Acme is archived before the April run: it is never billed again.\n",
            );
        }
        let company = store.company().map_err(bug)?;
        let options = RunOptions {
            run_date,
            first_invoice_number: store.next_invoice_number().map_err(bug)?,
            dispatch_erp: Some(ExternalSystem::Fortnox),
        };
        let usage = company.usage_table().map_err(bug)?;
        let result = plock_core::run(&company.data(&usage), &options).map_err(bug)?;
        out.push('\n');
        out.push_str(&crate::render::run(&result, false));
        store
            .apply(Batch::one(Change::RecordRun {
                invoices: result.invoices.clone(),
                billed: result.billed.clone(),
                billed_usage: result.billed_usage.clone(),
            }))
            .map_err(bug)?;
        runs.push(result);
    }
    Ok(Demo { text: out, runs })
}
