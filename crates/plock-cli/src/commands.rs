//! One function per subcommand: parse text into core values, call core, render.

use clap::CommandFactory;
use plock_core::account::{AccountName, AccountState, Contact, ContactInput, Tag, TagFilter};
use plock_core::period::PeriodMode;
use plock_core::store::{AccountQuery, Batch, Change, InvoiceQuery, SubscriptionQuery};
use plock_core::{
    Account, AccountId, AccountKey, BillingInterval, BillingPractice, Currency, Item, Metric,
    MetricId, PriceModel, ProductId, Subscription, SubscriptionId, SubscriptionSpec,
};
use rust_decimal::Decimal;
use serde::Serialize;

use crate::app::{Opened, data_path, find_account, init, invalid, store_error, today};
use crate::cli::{
    AccountCommand, Cli, Command, ExportFormat, InvoiceCommand, StateArg, SubscriptionCommand,
};
use crate::cli_ops::{ItemCommand, MetricCommand, UsageCommand};
use crate::exit::{Class, CliError, fail};
use crate::out::{done_json, json};
use crate::progress;
use crate::render;

type Result<T> = std::result::Result<T, CliError>;

/// Every item of a paged store query, page after page.
fn all_pages<T, C>(
    mut fetch: impl FnMut(
        Option<C>,
    ) -> std::result::Result<
        plock_core::store::Page<T, C>,
        plock_core::store::StoreError,
    >,
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

/// Runs a parsed command; returns what to print. Every change is saved before this returns,
/// so printing, which comes after, cannot leave a change half made.
pub fn run(cli: Cli) -> Result<String> {
    let path = data_path(cli.data);
    let as_json = cli.json;
    match cli.command {
        Command::Init => {
            init(&path)?;
            if as_json {
                done_json("created", "data_file", &path)
            } else {
                Ok(format!("created {}", path.display()))
            }
        }
        Command::Demo { save } => demo(&path, save, as_json),
        Command::Help { topic } => help(&topic),
        Command::Account(AccountCommand::Help { topic }) => help(&nested("account", topic)),
        Command::Subscription(SubscriptionCommand::Help { topic }) => {
            help(&nested("subscription", topic))
        }
        Command::Invoice(InvoiceCommand::Help { topic }) => help(&nested("invoice", topic)),
        Command::Metric(MetricCommand::Help { topic }) => help(&nested("metric", topic)),
        Command::Usage(UsageCommand::Help { topic }) => help(&nested("usage", topic)),
        Command::Metric(cmd) => metric(Opened::open(&path)?, cmd, as_json),
        Command::Usage(cmd) => usage(&Opened::open(&path)?, cmd, as_json),
        Command::Account(cmd) => account(Opened::open(&path)?, cmd, as_json),
        Command::Subscription(cmd) => subscription(Opened::open(&path)?, cmd, as_json),
        Command::Bill {
            date,
            preview,
            full,
        } => crate::commands_bill::bill(opened(&path)?, date, preview, full, as_json),
        Command::Invoice(cmd) => invoice(Opened::open(&path)?, cmd, as_json),
        Command::Import {
            kind,
            file,
            dry_run,
        } => crate::commands_io::import(opened(&path)?, kind, &file, dry_run, as_json),
        Command::Export { kind, out } => {
            crate::commands_io::export(&Opened::open(&path)?, kind, out.as_deref(), as_json)
        }
        Command::Discover {
            file,
            yes,
            dry_run,
            source,
            archive_missing,
            keep,
        } => {
            let source = source
                .parse::<plock_core::account::ExternalSystem>()
                .map_err(invalid)?;
            let apply = yes && !dry_run;
            let missing = crate::discover_missing::Missing {
                archive: archive_missing,
                keep,
            };
            crate::commands_io::discover(
                Opened::open(&path)?,
                &file,
                &source,
                apply,
                &missing,
                as_json,
            )
        }
        Command::Adoption {
            account,
            date,
            product,
            upsell_ready,
        } => {
            let s = opened(&path)?;
            let only = crate::commands_account::only(&s, account.as_deref())?;
            let company =
                progress::step("reading the company", || s.store.company()).map_err(store_error)?;
            let date = date.unwrap_or_else(today);
            let scores = crate::expand_shares::in_shares(
                company,
                crate::expand_shares::SHARES,
                "scoring adoption",
                |c| plock_core::expand::company_adoption(c, date),
            )
            .map_err(invalid)?;
            let scores: Vec<_> = scores
                .into_iter()
                .filter(|sc| product.as_ref().is_none_or(|p| sc.product().as_str() == p))
                .filter(|sc| !upsell_ready || sc.upsell_ready())
                .filter(|sc| only.as_ref().is_none_or(|id| sc.account() == id))
                .collect();
            let ranking = plock_core::expand::AdoptionRanking::rank(scores);
            if as_json {
                json(&ranking)
            } else {
                Ok(render::adoption(&ranking, upsell_ready))
            }
        }
        Command::Signals { account, date } => {
            let s = opened(&path)?;
            let only = crate::commands_account::only(&s, account.as_deref())?;
            let company =
                progress::step("reading the company", || s.store.company()).map_err(store_error)?;
            let date = date.unwrap_or_else(today);
            let mut signals = crate::expand_shares::in_shares(
                company,
                crate::expand_shares::SHARES,
                "reading signals",
                |c| plock_core::expand::company_signals(c, date),
            )
            .map_err(invalid)?;
            signals.retain(|sg| only.as_ref().is_none_or(|id| sg.account() == id));
            if as_json {
                json(&signals)
            } else {
                Ok(render::signals(&signals))
            }
        }
        Command::Check => crate::operate::check(&Opened::open(&path)?, &path, as_json),
        Command::Backup { path: to } => {
            crate::operate::backup(&Opened::open(&path)?, &path, &to, as_json)
        }
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "plock", &mut out);
            String::from_utf8(out).map_err(|e| fail(Class::Io, e))
        }
    }
}

/// The data file opened, with a spinner on a terminal: for the commands whose wait it is a
/// large part of.
fn opened(path: &std::path::Path) -> Result<Opened> {
    progress::step("opening the data file", || Opened::open(path))
}

/// The CSV formats, as docs/csv.md states them.
const CSV_HELP: &str = include_str!("../../../docs/csv.md");

/// `plock account help add` is `plock help account add`.
fn nested(command: &str, mut topic: Vec<String>) -> Vec<String> {
    topic.insert(0, command.to_owned());
    topic
}

/// `plock help [csv | COMMAND...]`.
fn help(topic: &[String]) -> Result<String> {
    if let [only] = topic
        && only == "csv"
    {
        return Ok(CSV_HELP.to_owned());
    }
    let mut command = Cli::command();
    command.build();
    for (depth, name) in topic.iter().enumerate() {
        let Some(sub) = command.find_subcommand(name).cloned() else {
            let mut topics: Vec<String> = if depth == 0 {
                vec!["csv".to_owned()]
            } else {
                Vec::new()
            };
            topics.extend(command.get_subcommands().map(|c| c.get_name().to_owned()));
            return Err(fail(
                Class::Usage,
                format!(
                    "no help on {:?}; topics: {}",
                    topic.join(" "),
                    topics.join(", ")
                ),
            ));
        };
        command = sub;
    }
    Ok(command.render_long_help().to_string())
}

/// `plock demo [--save]`: on the embedded store, in memory, or in a new data file with
/// `--save`.
fn demo(path: &std::path::Path, save: bool, as_json: bool) -> Result<String> {
    // Create the data file first, so a refusal to overwrite comes before the demo's work.
    let mut store = if save {
        crate::store_open::create(path, "demo --save")?
    } else {
        crate::store_open::in_memory()?
    };
    let demo = crate::demo::run(store.as_mut()).inspect_err(|_| {
        if save {
            // The file is the demo's own and incomplete; the demo's error is the one to report.
            let _ = std::fs::remove_file(path);
        }
    })?;
    if as_json {
        #[derive(Serialize)]
        struct DemoReport<'a> {
            runs: &'a [plock_core::BillingRun],
            saved_to: Option<&'a std::path::Path>,
        }
        return json(&DemoReport {
            runs: &demo.runs,
            saved_to: save.then_some(path),
        });
    }
    if save {
        Ok(format!(
            "{}\nsaved the demo company to {}",
            demo.text,
            path.display()
        ))
    } else {
        Ok(demo.text)
    }
}

/// What an account command did, read back from the store: `added account acme (Acme AB)`, or
/// with `--json` the action and the account as it now is (as it was, for a dismissed account,
/// which the store no longer holds).
fn account_done(s: &Opened, verb: &str, before: &Account, as_json: bool) -> Result<String> {
    let now = s.store.account(before.id()).map_err(store_error)?;
    let a = now.as_ref().unwrap_or(before);
    if as_json {
        done_json(verb, "account", a)
    } else {
        Ok(format!("{verb} account {} ({})", a.id(), a.name()))
    }
}

fn account(mut s: Opened, cmd: AccountCommand, as_json: bool) -> Result<String> {
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
            let added = account.clone();
            s.commit(Batch::one(Change::AddAccount { account }))?;
            account_done(&s, "added", &added, as_json)
        }
        AccountCommand::List(filter) => {
            // Every list given applies: `--tag a --no-tag b` is a and not b.
            let tag_filter = TagFilter::combined(
                tags(&filter.tags)?,
                tags(&filter.any_tags)?,
                tags(&filter.no_tags)?,
            );
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
            let a = find_account(&*s.store, &account)?;
            let children = s.store.children(a.id()).map_err(store_error)?;
            if as_json {
                json(&a)
            } else {
                Ok(render::account(&a, &children))
            }
        }
        AccountCommand::Edit(e) => crate::commands_account::edit(s, &e, as_json),
        AccountCommand::ExternalId(cmd) => crate::commands_account::external_id(s, cmd, as_json),
        AccountCommand::GroupBilling { account, switch } => {
            crate::commands_account::group_billing(s, &account, switch, as_json)
        }
        AccountCommand::Approve { account } => {
            state_change(s, &account, "approved", as_json, |id| Change::Approve {
                id,
            })
        }
        AccountCommand::Dismiss { account } => {
            state_change(s, &account, "dismissed", as_json, |id| Change::Dismiss {
                id,
            })
        }
        AccountCommand::Archive { account } => {
            state_change(s, &account, "archived", as_json, |id| Change::Archive {
                id,
            })
        }
        AccountCommand::Restore { account } => {
            // Billing resumes today: the days the account was archived are never billed.
            let a = find_account(&*s.store, &account)?;
            let subs = all_pages(|after| {
                s.store.list_subscriptions(&SubscriptionQuery {
                    account: Some(a.id().clone()),
                    after,
                    limit: 0,
                })
            })?;
            s.commit(plock_core::billing::restore_account(a.id(), &subs, today()))?;
            account_done(&s, "restored", &a, as_json)
        }
        AccountCommand::Tag {
            account,
            tags: texts,
        } => retag(s, &account, &texts, "tagged", as_json, |id, tag| {
            Change::Tag { id, tag }
        }),
        AccountCommand::Untag {
            account,
            tags: texts,
        } => retag(s, &account, &texts, "untagged", as_json, |id, tag| {
            Change::Untag { id, tag }
        }),
        AccountCommand::Link { child, master } => {
            let c = find_account(&*s.store, &child)?;
            let m = find_account(&*s.store, &master)?;
            s.commit(Batch::one(Change::Link {
                child: c.id().clone(),
                master: m.id().clone(),
            }))?;
            if as_json {
                account_done(&s, "linked", &c, as_json)
            } else {
                Ok(format!("linked {} to master {}", c.id(), m.id()))
            }
        }
        AccountCommand::Unlink { child } => state_change(s, &child, "unlinked", as_json, |child| {
            Change::Unlink { child }
        }),
        AccountCommand::Help { topic } => help(&nested("account", topic)),
    }
}

fn retag(
    mut s: Opened,
    text: &str,
    texts: &[String],
    verb: &str,
    as_json: bool,
    change: fn(AccountId, Tag) -> Change,
) -> Result<String> {
    let a = find_account(&*s.store, text)?;
    let changes = tags(texts)?
        .into_iter()
        .map(|tag| change(a.id().clone(), tag))
        .collect();
    s.commit(Batch { changes })?;
    account_done(&s, verb, &a, as_json)
}

fn state_change(
    mut s: Opened,
    text: &str,
    verb: &str,
    as_json: bool,
    change: impl FnOnce(AccountId) -> Change,
) -> Result<String> {
    let a = find_account(&*s.store, text)?;
    s.commit(Batch::one(change(a.id().clone())))?;
    account_done(&s, verb, &a, as_json)
}

fn find_subscription(s: &Opened, text: &str) -> Result<Subscription> {
    let id = SubscriptionId::new(text).map_err(invalid)?;
    s.store
        .subscription(&id)
        .map_err(store_error)?
        .ok_or_else(|| fail(Class::NotFound, format!("no subscription with id {text:?}")))
}

fn subscription(mut s: Opened, cmd: SubscriptionCommand, as_json: bool) -> Result<String> {
    match cmd {
        SubscriptionCommand::Add(f) => {
            let account = find_account(&*s.store, &f.account)?;
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
                                aggregation: plock_core::usage::Aggregation::Sum,
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
            transition(s, &subscription, "paused", as_json, |sub| sub.pause(date))
        }
        SubscriptionCommand::Resume { subscription, date } => {
            transition(s, &subscription, "resumed", as_json, |sub| sub.resume(date))
        }
        SubscriptionCommand::End { subscription, date } => {
            transition(s, &subscription, "ended", as_json, |sub| sub.end(date))
        }
        SubscriptionCommand::Create(args) => {
            crate::commands_subscription::create(s, &args, as_json)
        }
        SubscriptionCommand::Item(ItemCommand::Add(fields)) => {
            crate::commands_subscription::add_item(s, &fields, as_json)
        }
        SubscriptionCommand::Activate { subscription } => {
            crate::commands_subscription::activate(s, &subscription, as_json)
        }
        SubscriptionCommand::Help { topic } => help(&nested("subscription", topic)),
    }
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
    let mut sub = find_subscription(&s, text)?;
    step(&mut sub).map_err(invalid)?;
    let line = if as_json {
        done_json(verb, "subscription", &sub)?
    } else {
        format!("{verb} subscription {} ({})", sub.id(), sub.state())
    };
    s.commit(Batch::one(Change::PutSubscription { subscription: sub }))?;
    Ok(line)
}

fn invoice(s: Opened, cmd: InvoiceCommand, as_json: bool) -> Result<String> {
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
            if as_json {
                crate::stream::to_stdout(|w| crate::stream::invoices(w, &*s.store))?;
                return Ok(String::new());
            }
            let invoices = all()?;
            Ok(render::invoice_list(&invoices))
        }
        InvoiceCommand::Show { number } => {
            let inv = s
                .store
                .invoice(number)
                .map_err(store_error)?
                .ok_or_else(|| fail(Class::NotFound, format!("no invoice number {number}")))?;
            if as_json {
                crate::stream::to_stdout(|w| crate::stream::pretty(w, &inv))?;
                Ok(String::new())
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
                .filter(|i| i.kind() == plock_core::invoice::InvoiceKind::Credit { of: number })
                .cloned()
                .collect();
            let request = match (line, amount) {
                (Some(line), Some(amount)) => plock_core::invoice::CreditRequest::Line {
                    line: line
                        .checked_sub(1)
                        .ok_or_else(|| invalid("lines are numbered from 1"))?,
                    amount: Decimal::from_str_exact(amount.trim())
                        .map_err(|_| invalid(format!("not a decimal number: {amount:?}")))?,
                },
                _ => plock_core::invoice::CreditRequest::Full,
            };
            let next = s.store.next_invoice_number().map_err(store_error)?;
            let credit =
                plock_core::invoice::credit(next, original, &earlier, &request).map_err(invalid)?;
            let text = if as_json {
                done_json("credited", "invoice", &credit)?
            } else {
                render::invoice(&credit)
            };
            let mut s = s;
            s.commit(Batch::one(Change::RecordRun {
                invoices: vec![credit],
                billed: vec![],
                billed_usage: vec![],
            }))?;
            Ok(text)
        }
        InvoiceCommand::Export {
            out,
            erp: Some(erp),
            ..
        } => {
            let erp = erp.system();
            let export = plock_core::erp::export_to_erp(&all()?, &erp);
            let text = json(&export)?;
            crate::files::write_out(out.as_deref(), text, as_json, |path| {
                (
                    format!(
                        "wrote {} invoice(s) for {erp} to {}; {} not exported",
                        export.payloads.len(),
                        path.display(),
                        export.not_exported.len()
                    ),
                    serde_json::json!({
                        "invoices": export.payloads.len(),
                        "not_exported": export.not_exported.len(),
                        "erp": erp.name(),
                    }),
                )
            })
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
            crate::files::write_out(out.as_deref(), text, as_json, |path| {
                (
                    format!("wrote {} invoice(s) to {}", invoices.len(), path.display()),
                    serde_json::json!({ "invoices": invoices.len() }),
                )
            })
        }
        InvoiceCommand::Charge(args) => crate::commands_invoice::charge(s, &args, as_json),
        InvoiceCommand::Compensate(args) => crate::commands_invoice::compensate(s, &args, as_json),
        InvoiceCommand::Accruals { number } => {
            crate::commands_invoice::accruals(&s, number, as_json)
        }
        InvoiceCommand::Help { topic } => help(&nested("invoice", topic)),
    }
}

fn metric(s: Opened, cmd: MetricCommand, as_json: bool) -> Result<String> {
    match cmd {
        MetricCommand::List => crate::commands_usage::list_metrics(&s, as_json),
        MetricCommand::Set {
            metric,
            aggregation,
        } => crate::commands_usage::set_metric(s, &metric, aggregation, as_json),
        MetricCommand::Help { topic } => help(&nested("metric", topic)),
    }
}

fn usage(s: &Opened, cmd: UsageCommand, as_json: bool) -> Result<String> {
    match cmd {
        UsageCommand::List(filter) => crate::commands_usage::list(s, &filter, as_json),
        UsageCommand::Export { filter, out } => {
            crate::commands_usage::export(s, &filter, out.as_deref(), as_json)
        }
        UsageCommand::Help { topic } => help(&nested("usage", topic)),
    }
}
