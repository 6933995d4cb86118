//! One function per subcommand: parse text into core values, call core, render.

use std::io::Write;

use clap::CommandFactory;
use plock_core::{
    Account, AccountId, AccountKey, AccountName, AccountQuery, AccountState, Batch,
    BillingInterval, BillingPractice, Change, Contact, ContactInput, Currency, InvoiceQuery, Item,
    Metric, MetricId, PeriodMode, PriceModel, ProductId, RunOptions, Store, Subscription,
    SubscriptionId, SubscriptionQuery, SubscriptionSpec, Tag, TagFilter,
};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::app::{Session, data_path, find_account, init, invalid, store_error, today};
use crate::cli::{
    AccountCommand, Cli, Command, ExportFormat, InvoiceCommand, StateArg, SubscriptionCommand,
};
use crate::exit::{Class, CliError, fail};
use crate::render;

type Result<T> = std::result::Result<T, CliError>;

fn json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string_pretty(value).map_err(|e| fail(Class::Io, e))
}

/// Every item of a paged store query, page after page.
fn all_pages<T, C>(
    mut fetch: impl FnMut(
        Option<C>,
    ) -> std::result::Result<plock_core::Page<T, C>, plock_core::StoreError>,
) -> Result<Vec<T>> {
    let mut all = Vec::new();
    let mut after = None;
    loop {
        let page = fetch(after.take()).map_err(store_error)?;
        all.extend(page.items);
        match page.next {
            Some(next) => after = Some(next),
            None => return Ok(all),
        }
    }
}

fn tags(texts: &[String]) -> Result<Vec<Tag>> {
    texts.iter().map(|t| Tag::new(t).map_err(invalid)).collect()
}

/// Runs a parsed command; returns what to print.
pub fn run(cli: Cli) -> Result<String> {
    let path = data_path(cli.data);
    let as_json = cli.json;
    match cli.command {
        Command::Init => {
            init(path.clone())?;
            Ok(format!("created {}", path.display()))
        }
        Command::Demo { save } => {
            let (store, text) = crate::demo::run()?;
            if save {
                let mut file =
                    plock_store_memory::DataFile::open(&path, plock_store_memory::LockWait::NoWait)
                        .map_err(crate::app::file_error)?;
                if file.exists() {
                    return Err(fail(
                        Class::Conflict,
                        format!(
                            "data file {} already exists; demo --save never overwrites",
                            path.display()
                        ),
                    ));
                }
                store.save(&mut file).map_err(crate::app::file_error)?;
                return Ok(format!(
                    "{text}\nsaved the demo company to {}",
                    path.display()
                ));
            }
            Ok(text)
        }
        Command::Account(cmd) => account(Session::open(path)?, cmd, as_json),
        Command::Subscription(cmd) => subscription(Session::open(path)?, cmd, as_json),
        Command::Bill { date, preview } => bill(Session::open(path)?, date, preview, as_json),
        Command::Invoice(cmd) => invoice(Session::open(path)?, cmd, as_json),
        Command::Import { kind, file } => {
            crate::commands_io::import(Session::open(path)?, kind, &file)
        }
        Command::Export { kind, out } => {
            crate::commands_io::export(&Session::open(path)?, kind, out.as_deref())
        }
        Command::Discover { file, yes, source } => {
            let source = source
                .parse::<plock_core::ExternalSystem>()
                .map_err(invalid)?;
            crate::commands_io::discover(Session::open(path)?, &file, &source, yes, as_json)
        }
        Command::Adoption {
            date,
            product,
            upsell_ready,
        } => {
            let s = Session::open(path)?;
            let company = s.store.company().map_err(store_error)?;
            let scores = plock_core::company_adoption(&company, date.unwrap_or_else(today))
                .map_err(invalid)?;
            let scores: Vec<_> = scores
                .into_iter()
                .filter(|sc| product.as_ref().is_none_or(|p| sc.product().as_str() == p))
                .filter(|sc| !upsell_ready || sc.upsell_ready())
                .collect();
            let ranking = plock_core::AdoptionRanking::rank(scores);
            if as_json {
                json(&ranking)
            } else {
                Ok(render::adoption(&ranking, upsell_ready))
            }
        }
        Command::Signals { date } => {
            let s = Session::open(path)?;
            let company = s.store.company().map_err(store_error)?;
            let signals = plock_core::company_signals(&company, date.unwrap_or_else(today))
                .map_err(invalid)?;
            if as_json {
                json(&signals)
            } else {
                Ok(render::signals(&signals))
            }
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "plock", &mut out);
            String::from_utf8(out).map_err(|e| fail(Class::Io, e))
        }
    }
}

fn account(mut s: Session, cmd: AccountCommand, as_json: bool) -> Result<String> {
    let done = |verb: &str, a: &Account| format!("{verb} account {} ({})", a.id(), a.name());
    match cmd {
        AccountCommand::Add(f) => {
            let contact = Contact::new(&ContactInput {
                email: f.email.as_deref(),
                country: f.country.as_deref(),
                ..ContactInput::default()
            })
            .map_err(invalid)?;
            let key = AccountKey::new(&f.key).map_err(invalid)?;
            let account = Account::new(
                AccountId::new(&f.key).map_err(invalid)?,
                key,
                AccountName::new(&f.name).map_err(invalid)?,
                contact,
                f.currency.parse::<Currency>().map_err(invalid)?,
                f.created.unwrap_or_else(today),
            );
            let line = done("added", &account);
            s.commit(Batch::one(Change::AddAccount { account }))?;
            Ok(line)
        }
        AccountCommand::List(filter) => {
            let tag_filter = if !filter.tags.is_empty() {
                Some(TagFilter::All(tags(&filter.tags)?))
            } else if !filter.any_tags.is_empty() {
                Some(TagFilter::Any(tags(&filter.any_tags)?))
            } else if !filter.no_tags.is_empty() {
                Some(TagFilter::None(tags(&filter.no_tags)?))
            } else {
                None
            };
            let state = filter.state.map(|s| match s {
                StateArg::Pending => AccountState::Pending,
                StateArg::Active => AccountState::Active,
                StateArg::Archived => AccountState::Archived,
            });
            let all = all_pages(|after| {
                s.store.list_accounts(&AccountQuery {
                    state,
                    tags: tag_filter.clone(),
                    after,
                    limit: 0,
                })
            })?;
            if as_json {
                json(&all)
            } else {
                Ok(render::accounts(&all))
            }
        }
        AccountCommand::Show { account } => {
            let a = find_account(&s.store, &account)?;
            let children = s.store.children(a.id()).map_err(store_error)?;
            if as_json {
                json(&a)
            } else {
                Ok(render::account(&a, &children))
            }
        }
        AccountCommand::Edit(e) => {
            let a = find_account(&s.store, &e.account)?;
            let contact = if e.email.is_some() || e.country.is_some() {
                let c = a.contact();
                let email = e.email.as_deref().or(c.email().map(|m| m.as_str()));
                let country = e.country.as_deref().or(c.country().map(|x| x.as_str()));
                let lines: Vec<&str> = c.address_lines().iter().map(String::as_str).collect();
                Some(
                    Contact::new(&ContactInput {
                        email,
                        phone: c.phone(),
                        address_lines: lines,
                        country,
                        organisation_number: c.organisation_number(),
                    })
                    .map_err(invalid)?,
                )
            } else {
                None
            };
            let change = Change::EditAccount {
                id: a.id().clone(),
                name: e
                    .name
                    .as_deref()
                    .map(AccountName::new)
                    .transpose()
                    .map_err(invalid)?,
                contact,
                currency: e
                    .currency
                    .as_deref()
                    .map(str::parse::<Currency>)
                    .transpose()
                    .map_err(invalid)?,
            };
            s.commit(Batch::one(change))?;
            let edited = find_account(&s.store, a.id().as_str())?;
            Ok(done("edited", &edited))
        }
        AccountCommand::Approve { account } => {
            state_change(s, &account, "approved", |id| Change::Approve { id })
        }
        AccountCommand::Dismiss { account } => {
            state_change(s, &account, "dismissed", |id| Change::Dismiss { id })
        }
        AccountCommand::Archive { account } => {
            state_change(s, &account, "archived", |id| Change::Archive { id })
        }
        AccountCommand::Restore { account } => {
            state_change(s, &account, "restored", |id| Change::Restore { id })
        }
        AccountCommand::Tag {
            account,
            tags: texts,
        } => retag(s, &account, &texts, "tagged", |id, tag| Change::Tag {
            id,
            tag,
        }),
        AccountCommand::Untag {
            account,
            tags: texts,
        } => retag(s, &account, &texts, "untagged", |id, tag| Change::Untag {
            id,
            tag,
        }),
        AccountCommand::Link { child, master } => {
            let c = find_account(&s.store, &child)?;
            let m = find_account(&s.store, &master)?;
            s.commit(Batch::one(Change::Link {
                child: c.id().clone(),
                master: m.id().clone(),
            }))?;
            Ok(format!("linked {} to master {}", c.id(), m.id()))
        }
        AccountCommand::Unlink { child } => {
            state_change(s, &child, "unlinked", |child| Change::Unlink { child })
        }
    }
}

fn retag(
    mut s: Session,
    text: &str,
    texts: &[String],
    verb: &str,
    change: fn(AccountId, Tag) -> Change,
) -> Result<String> {
    let a = find_account(&s.store, text)?;
    let changes = tags(texts)?
        .into_iter()
        .map(|tag| change(a.id().clone(), tag))
        .collect();
    s.commit(Batch { changes })?;
    Ok(format!("{verb} account {} ({})", a.id(), a.name()))
}

fn state_change(
    mut s: Session,
    text: &str,
    verb: &str,
    change: impl FnOnce(AccountId) -> Change,
) -> Result<String> {
    let a = find_account(&s.store, text)?;
    s.commit(Batch::one(change(a.id().clone())))?;
    Ok(format!("{verb} account {} ({})", a.id(), a.name()))
}

fn find_subscription(s: &Session, text: &str) -> Result<Subscription> {
    let id = SubscriptionId::new(text).map_err(invalid)?;
    s.store
        .subscription(&id)
        .map_err(store_error)?
        .ok_or_else(|| fail(Class::NotFound, format!("no subscription with id {text:?}")))
}

fn subscription(mut s: Session, cmd: SubscriptionCommand, as_json: bool) -> Result<String> {
    match cmd {
        SubscriptionCommand::Add(f) => {
            let account = find_account(&s.store, &f.account)?;
            let product = ProductId::new(&f.product).map_err(invalid)?;
            let amount = |text: &str| {
                Decimal::from_str_exact(text.trim())
                    .map_err(|_| invalid(format!("not a decimal number: {text:?}")))
            };
            let mut changes = Vec::new();
            let item = match (&f.fee, &f.unit_price, &f.metric) {
                (Some(fee), None, None) => Item::flat_fee(product, amount(fee)?, Decimal::ONE),
                (None, Some(price), Some(metric)) => {
                    let metric = MetricId::new(metric).map_err(invalid)?;
                    if !s
                        .store
                        .metrics()
                        .map_err(store_error)?
                        .iter()
                        .any(|m| m.id == metric)
                    {
                        changes.push(Change::PutMetric {
                            metric: Metric {
                                id: metric.clone(),
                                aggregation: plock_core::Aggregation::Sum,
                            },
                        });
                    }
                    Item::usage(
                        product,
                        metric,
                        PriceModel::PerUnit {
                            unit_price: amount(price)?,
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
            if s.store
                .subscription(sub.id())
                .map_err(store_error)?
                .is_some()
            {
                return Err(fail(
                    Class::Conflict,
                    format!("subscription {} already exists", sub.id()),
                ));
            }
            let line = format!(
                "added subscription {} for account {}",
                sub.id(),
                account.id()
            );
            changes.push(Change::PutSubscription { subscription: sub });
            s.commit(Batch { changes })?;
            Ok(line)
        }
        SubscriptionCommand::List { account } => {
            let account = account.map(|a| find_account(&s.store, &a)).transpose()?;
            let all = all_pages(|after| {
                let account = account.as_ref().map(|a| a.id().clone());
                s.store.list_subscriptions(&SubscriptionQuery {
                    account,
                    after,
                    limit: 0,
                })
            })?;
            if as_json {
                json(&all)
            } else {
                Ok(render::subscriptions(&all))
            }
        }
        SubscriptionCommand::Show { subscription } => {
            let sub = find_subscription(&s, &subscription)?;
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
            transition(s, &subscription, "paused", |sub| sub.pause(date))
        }
        SubscriptionCommand::Resume { subscription, date } => {
            transition(s, &subscription, "resumed", |sub| sub.resume(date))
        }
        SubscriptionCommand::End { subscription, date } => {
            transition(s, &subscription, "ended", |sub| sub.end(date))
        }
    }
}

fn transition(
    mut s: Session,
    text: &str,
    verb: &str,
    step: impl FnOnce(&mut Subscription) -> std::result::Result<(), plock_core::SubscriptionError>,
) -> Result<String> {
    let mut sub = find_subscription(&s, text)?;
    step(&mut sub).map_err(invalid)?;
    let line = format!("{verb} subscription {} ({})", sub.id(), sub.state());
    s.commit(Batch::one(Change::PutSubscription { subscription: sub }))?;
    Ok(line)
}

fn bill(mut s: Session, date: chrono::NaiveDate, preview: bool, as_json: bool) -> Result<String> {
    let company = s.store.company().map_err(store_error)?;
    let spinner = (company.usage.len() + company.subscriptions.len() > 10_000).then(|| {
        let bar = indicatif::ProgressBar::new_spinner();
        bar.set_message(format!(
            "billing {} subscriptions, {} usage records",
            company.subscriptions.len(),
            company.usage.len()
        ));
        bar.enable_steady_tick(std::time::Duration::from_millis(120));
        bar
    });
    let options = RunOptions {
        run_date: date,
        first_invoice_number: s.store.next_invoice_number().map_err(store_error)?,
        dispatch_erp: None,
    };
    // The one billing run, over the usage packed in its table.
    let result = company
        .usage_table()
        .map_err(invalid)
        .and_then(|usage| plock_core::run(&company.data(&usage), &options).map_err(invalid));
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    let result = result?;
    let text = if as_json {
        json(&result)?
    } else {
        render::run(&result, preview)
    };
    if !preview {
        s.commit(Batch::one(Change::RecordRun {
            invoices: result.invoices,
            billed: result.billed,
        }))?;
    }
    Ok(text)
}

fn invoice(s: Session, cmd: InvoiceCommand, as_json: bool) -> Result<String> {
    let all = || {
        all_pages(|after| {
            s.store.list_invoices(&InvoiceQuery {
                after,
                ..InvoiceQuery::default()
            })
        })
    };
    match cmd {
        InvoiceCommand::List => {
            let invoices = all()?;
            if as_json {
                json(&invoices)
            } else {
                Ok(render::invoice_list(&invoices))
            }
        }
        InvoiceCommand::Show { number } => {
            let inv = s
                .store
                .invoice(number)
                .map_err(store_error)?
                .ok_or_else(|| fail(Class::NotFound, format!("no invoice number {number}")))?;
            if as_json {
                json(&inv)
            } else {
                Ok(render::invoice(&inv))
            }
        }
        InvoiceCommand::Credit {
            number,
            line,
            amount,
        } => {
            let invoices = all()?;
            let original = invoices
                .iter()
                .find(|i| i.number() == number)
                .ok_or_else(|| fail(Class::NotFound, format!("no invoice number {number}")))?;
            let earlier: Vec<plock_core::Invoice> = invoices
                .iter()
                .filter(|i| i.kind() == plock_core::InvoiceKind::Credit { of: number })
                .cloned()
                .collect();
            let request = match (line, amount) {
                (Some(line), Some(amount)) => plock_core::CreditRequest::Line {
                    line: line
                        .checked_sub(1)
                        .ok_or_else(|| invalid("lines are numbered from 1"))?,
                    amount: Decimal::from_str_exact(amount.trim())
                        .map_err(|_| invalid(format!("not a decimal number: {amount:?}")))?,
                },
                _ => plock_core::CreditRequest::Full,
            };
            let next = s.store.next_invoice_number().map_err(store_error)?;
            let credit = plock_core::credit(next, original, &earlier, &request).map_err(invalid)?;
            let text = render::invoice(&credit);
            let mut s = s;
            s.commit(Batch::one(Change::RecordRun {
                invoices: vec![credit],
                billed: vec![],
            }))?;
            Ok(text)
        }
        InvoiceCommand::Export {
            format,
            out,
            erp: Some(erp),
        } => {
            let erp = erp.parse::<plock_core::ExternalSystem>().map_err(invalid)?;
            let _ = format;
            let export = plock_core::export_to_erp(&all()?, &erp);
            let text = json(&export)?;
            match out {
                None => Ok(text),
                Some(path) => {
                    std::fs::write(&path, text)
                        .map_err(|e| fail(Class::Io, format!("{}: {e}", path.display())))?;
                    Ok(format!(
                        "wrote {} invoice(s) for {erp} to {}; {} not exported",
                        export.payloads.len(),
                        path.display(),
                        export.not_exported.len()
                    ))
                }
            }
        }
        InvoiceCommand::Export {
            format,
            out,
            erp: None,
        } => {
            let invoices = all()?;
            let text = match format {
                ExportFormat::Json => json(&invoices)?,
                ExportFormat::Csv => crate::commands_io::invoices_csv(&invoices)?,
            };
            match out {
                None => Ok(text),
                Some(path) => {
                    let mut f = std::fs::File::create(&path)
                        .map_err(|e| fail(Class::Io, format!("{}: {e}", path.display())))?;
                    f.write_all(text.as_bytes())
                        .map_err(|e| fail(Class::Io, format!("{}: {e}", path.display())))?;
                    Ok(format!(
                        "wrote {} invoice(s) to {}",
                        invoices.len(),
                        path.display()
                    ))
                }
            }
        }
    }
}
