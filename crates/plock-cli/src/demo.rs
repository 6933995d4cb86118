//! `plock demo`: a sample company with accounts in every state, an enterprise group,
//! subscriptions of every price model and three months of usage, billed month by month.

use chrono::{NaiveDate, TimeZone, Utc};
use plock_core::account::{
    AccountName, AccountState, Contact, ContactInput, ExternalId, ExternalSystem, Tag,
};
use plock_core::id::RecordId;
use plock_core::store::{Batch, Change};
use plock_core::usage::Aggregation;
use plock_core::{
    Account, AccountId, AccountKey, Currency, Metric, MetricId, RunOptions, Store, UsageRecord,
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
fn metric(s: &str) -> Result<MetricId> {
    MetricId::new(s).map_err(bug)
}

/// The sample company, as batches applied to `store`, empty.
pub fn company(store: &mut dyn Store) -> Result<()> {
    let mut changes = accounts()?;
    let subscriptions = subscriptions(&changes)?;
    changes.extend(subscriptions);
    store.apply(Batch { changes }).map_err(bug)?;
    store
        .apply(Batch::one(Change::AddUsage { records: usage()? }))
        .map_err(bug)?;
    Ok(())
}

/// How a demo account comes in.
#[derive(Clone, Copy)]
enum Joins {
    Active,
    Archived,
    /// Found in the data and waiting for approval.
    Discovered,
}

/// The demo accounts: key (also the id), name, currency, email, country, how it comes in.
#[rustfmt::skip]
const ACCOUNTS: [(&str, &str, Currency, &str, &str, Joins); 10] = [
    ("dentist-johnson", "Dentist Johnson", Currency::SEK, "johnson@dentist.example", "SE", Joins::Active),
    ("retailer-acme", "Retailer Acme", Currency::EUR, "billing@acme.example", "DE", Joins::Active),
    ("globex", "Globex Group", Currency::EUR, "ap@globex.example", "NL", Joins::Active),
    ("globex-nordics", "Globex Nordics", Currency::EUR, "ap@nordics.globex.example", "SE", Joins::Active),
    ("globex-uk", "Globex UK", Currency::EUR, "ap@uk.globex.example", "GB", Joins::Active),
    ("globex-apac", "Globex APAC", Currency::EUR, "ap@apac.globex.example", "SG", Joins::Active),
    ("globex-us", "Globex US", Currency::USD, "ap@us.globex.example", "US", Joins::Active),
    ("initech", "Initech", Currency::EUR, "finance@initech.example", "FI", Joins::Active),
    ("old-corp", "Old Corp", Currency::EUR, "x@old.example", "DK", Joins::Archived),
    ("found-in-data", "Found In Data AB", Currency::SEK, "hello@found.example", "SE", Joins::Discovered),
];

/// The accounts, their group, ids in the CRM and the ERP, and the metric catalogue.
fn accounts() -> Result<Vec<Change>> {
    let mut changes = Vec::new();
    for (key, name, currency, email, country, joins) in ACCOUNTS {
        let new = account(key, name, currency, email, country)?;
        changes.push(match joins {
            Joins::Active => Change::AddAccount { account: new },
            Joins::Archived => Change::AddAccount {
                account: new.with_state(AccountState::Archived),
            },
            Joins::Discovered => Change::AddDiscovered { account: new },
        });
    }
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

/// One subscription an account, the price models in turn, in the subscriptions CSV format
/// (docs/csv.md): one row per item.
const SUBSCRIPTIONS: &str = "\
subscription_id,account_key,start,interval_months,practice,currency,minimum_invoice_amount,product,metric,model,price,quantity,tiers,rebate_percent
sub-dentist,dentist-johnson,2025-01-01,1,in_advance,SEK,,licence,,flat_fee,3100.00,1,,10
sub-acme,retailer-acme,2025-01-10,1,in_advance,EUR,,base,,flat_fee,99.00,1,,
sub-acme,retailer-acme,2025-01-10,1,in_advance,EUR,,emails,emails,graduated,,,10000:0.010:|100000:0.008:|:0.005:,
sub-globex,globex,2025-01-01,1,in_advance,EUR,,platform,,flat_fee,2000.00,1,,
sub-globex,globex,2025-01-01,1,in_advance,EUR,,users,seats,graduated,,,1500::4300.00|:3.00:,
sub-nordics,globex-nordics,2025-01-01,1,in_advance,EUR,,emails,emails,graduated,,,10000:0.010:|100000:0.008:|:0.005:,
sub-uk,globex-uk,2025-02-15,1,in_advance,EUR,,emails,emails,commitment,0.003,100000,,
sub-apac,globex-apac,2025-01-01,3,in_advance,EUR,,platform,,flat_fee,1500.00,1,,
sub-us,globex-us,2025-01-01,1,in_advance,USD,,storage,gb_stored,per_unit,0.25,,,
sub-initech,initech,2025-01-01,1,in_arrears,EUR,500.00,users,seats,volume,,,100:5.00:|1000:4.00:|:3.00:,
sub-initech,initech,2025-01-01,1,in_arrears,EUR,500.00,mailouts,emails,package,2.50,1000,,
";

/// The subscriptions, read as an import of [`SUBSCRIPTIONS`] over the accounts and metrics of
/// `changes`.
fn subscriptions(changes: &[Change]) -> Result<Vec<Change>> {
    let mut book = plock_core::AccountBook::new();
    let mut metrics = Vec::new();
    for (index, change) in changes.iter().enumerate() {
        plock_core::store::apply_to_book(&mut book, index, change).map_err(bug)?;
        if let Change::PutMetric { metric } = change {
            metrics.push(metric.clone());
        }
    }
    let batch = plock_core::import::plan_subscription_import(
        SUBSCRIPTIONS.as_bytes(),
        &book,
        &[],
        &metrics,
    )
    .map_err(bug)?;
    Ok(batch.changes)
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
            }))
            .map_err(bug)?;
        runs.push(result);
    }
    Ok(Demo { text: out, runs })
}
