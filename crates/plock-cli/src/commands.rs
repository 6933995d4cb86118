//! One function per subcommand: parse text into core values, call core, render.

use clap::CommandFactory;
use serde::Serialize;

use crate::app::{Opened, init, invalid};
use crate::cli::{AccountCommand, Cli, Command, SubscriptionCommand};
use crate::cli_invoice::InvoiceCommand;
use crate::cli_ops::{MetricCommand, UsageCommand};
use crate::exit::{Class, CliError, fail};
use crate::help::{help, nested};
use crate::location::Location;
use crate::out::{done_json, json};
use crate::progress;

type Result<T> = std::result::Result<T, CliError>;

/// Runs a parsed command; returns what to print. Every change is saved before this returns,
/// so printing, which comes after, cannot leave a change half made.
pub fn run(cli: Cli) -> Result<String> {
    // Help and completions read no data: an unclear data location does not stop them.
    if let Some(text) = without_data(&cli.command) {
        return text;
    }
    let path = crate::location::resolve(cli.data, cli.store)?;
    let as_json = cli.json;
    match cli.command {
        Command::Init => {
            init(&path)?;
            if as_json {
                done_json("created", path.json_field(), &path)
            } else {
                Ok(format!("created {path}"))
            }
        }
        Command::Demo { save } => demo(&path, save, as_json),
        Command::Help { .. } | Command::Completions { .. } => without_data(&cli.command)
            .unwrap_or_else(|| Err(fail(Class::Usage, "not a help command"))),
        Command::Metric(cmd) => metric(Opened::open(&path)?, cmd, as_json),
        Command::Usage(cmd) => usage(&Opened::open(&path)?, cmd, as_json),
        Command::Account(cmd) => {
            crate::commands_account::account(Opened::open(&path)?, cmd, as_json)
        }
        Command::Subscription(cmd) => {
            crate::commands_subscription::subscription(Opened::open(&path)?, cmd, as_json)
        }
        Command::Bill {
            date,
            preview,
            full,
        } => crate::commands_bill::bill(opened(&path)?, date, preview, full, as_json),
        Command::Invoice(cmd) => {
            crate::commands_invoice::invoice(Opened::open(&path)?, cmd, as_json)
        }
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
        } => discover(
            &path,
            &file,
            &source,
            yes && !dry_run,
            archive_missing,
            keep,
            as_json,
        ),
        Command::Adoption {
            account,
            date,
            product,
            upsell_ready,
        } => crate::commands_expand::adoption(
            &opened(&path)?,
            account.as_deref(),
            date,
            product.as_deref(),
            upsell_ready,
            as_json,
        ),
        Command::Signals { account, date } => {
            crate::commands_expand::signals(&opened(&path)?, account.as_deref(), date, as_json)
        }
        Command::Check => crate::operate::check(&Opened::open(&path)?, &path, as_json),
        Command::Backup { path: to } => crate::operate::backup(&path, &to, as_json),
    }
}

/// The text of a command that reads no data (help, completions); `None` for the others.
fn without_data(command: &Command) -> Option<Result<String>> {
    let text = match command {
        Command::Help { topic } => help(topic),
        Command::Account(AccountCommand::Help { topic }) => help(&nested("account", topic.clone())),
        Command::Subscription(SubscriptionCommand::Help { topic }) => {
            help(&nested("subscription", topic.clone()))
        }
        Command::Invoice(InvoiceCommand::Help { topic }) => help(&nested("invoice", topic.clone())),
        Command::Metric(MetricCommand::Help { topic }) => help(&nested("metric", topic.clone())),
        Command::Usage(UsageCommand::Help { topic }) => help(&nested("usage", topic.clone())),
        Command::Completions { shell } => {
            let mut out = Vec::new();
            clap_complete::generate(*shell, &mut Cli::command(), "plock", &mut out);
            String::from_utf8(out).map_err(|e| fail(Class::Io, e))
        }
        _ => return None,
    };
    Some(text)
}

/// `plock discover FILE --source S [--yes] [--dry-run] [--archive-missing [--keep A]...]`.
fn discover(
    path: &Location,
    file: &std::path::Path,
    source: &str,
    apply: bool,
    archive_missing: bool,
    keep: Vec<String>,
    as_json: bool,
) -> Result<String> {
    let source = source
        .parse::<plock_core::account::ExternalSystem>()
        .map_err(invalid)?;
    let missing = crate::discover_missing::Missing {
        archive: archive_missing,
        keep,
    };
    crate::commands_io::discover(Opened::open(path)?, file, &source, apply, &missing, as_json)
}

/// The data file opened, with a spinner on a terminal: for the commands whose wait it is a
/// large part of.
fn opened(path: &Location) -> Result<Opened> {
    progress::step("opening the data file", || Opened::open(path))
}

/// `plock demo [--save]`: on the embedded store, in memory, or in a new data file with
/// `--save`.
fn demo(path: &Location, save: bool, as_json: bool) -> Result<String> {
    // Create the data file first, so a refusal to overwrite comes before the demo's work.
    let mut store = if save {
        crate::store_open::create(path, "demo --save")?
    } else {
        crate::store_open::in_memory()?
    };
    let demo = crate::demo::run(store.as_mut()).inspect_err(|_| {
        if save && let Location::File(path) = path {
            // The file is the demo's own and incomplete; the demo's error is the one to report.
            let _ = std::fs::remove_file(path);
        }
    })?;
    if as_json {
        #[derive(Serialize)]
        struct DemoReport<'a> {
            runs: &'a [plock_core::BillingRun],
            saved_to: Option<&'a Location>,
        }
        return json(&DemoReport {
            runs: &demo.runs,
            saved_to: save.then_some(path),
        });
    }
    if save {
        Ok(format!("{}\nsaved the demo company to {path}", demo.text))
    } else {
        Ok(demo.text)
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
