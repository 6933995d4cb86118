//! The plock command: a thin front end over plock-core and its SQLite store. It holds no
//! domain rule of its own: it parses, calls core, prints.

mod app;
mod args;
mod backend;
mod cli;
mod cli_invoice;
mod cli_ops;
mod commands;
mod commands_account;
mod commands_bill;
mod commands_expand;
mod commands_invoice;
mod commands_io;
mod commands_subscription;
mod commands_usage;
mod demo;
mod discover_missing;
mod exit;
mod expand_shares;
mod files;
mod help;
mod import_input;
mod import_report;
mod import_rows;
mod import_usage;
mod item_change;
mod location;
mod operate;
mod out;
mod progress;
mod render;
mod render_summary;
mod store_errors;
mod store_open;
mod store_postgres;
mod stream;
mod values;

use std::process::ExitCode;

use clap::Parser;
use clap::error::ErrorKind;

use crate::exit::{Class, fail};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(&e, json_requested()),
    };
    let as_json = cli.json;
    // A command has done all of its work, a write saved included, before anything is printed:
    // a reader that stops early sees a shorter report, never a half-made change.
    let result = commands::run(cli).and_then(|output| {
        out::print(&output).map_err(|e| {
            fail(
                Class::Io,
                format!("cannot write to standard output ({e}); the command itself completed"),
            )
        })
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if as_json {
                out::error_line(&e.to_json().to_string());
            } else {
                out::error_line(&format!("plock: {e}"));
            }
            e.exit_code()
        }
    }
}

/// Was `--json` given? Read from the raw arguments, for errors clap finds before it parses.
fn json_requested() -> bool {
    std::env::args_os()
        .skip(1)
        .take_while(|a| a != "--")
        .any(|a| a == "--json")
}

/// A command line clap refused. Help and version are printed as clap prints them; a value
/// outside its accepted set, or of the wrong shape, is one line naming what is accepted;
/// other mistakes keep clap's usage and tips. With `--json`, every one is one JSON object.
fn usage_error(e: &clap::Error, as_json: bool) -> ExitCode {
    let value_error = matches!(
        e.kind(),
        ErrorKind::InvalidValue | ErrorKind::ValueValidation
    );
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion)
        || (!as_json && !value_error)
    {
        e.exit();
    }
    let line = usage_line(e);
    if as_json {
        let object = serde_json::json!({ "error": line, "exit_code": e.exit_code() });
        out::error_line(&object.to_string());
    } else {
        out::error_line(&format!("error: {line}"));
    }
    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(Class::Usage.code()))
}

/// clap's message as one line, without its `error: `: the accepted values follow a value
/// outside them; usage and tips, after a blank line, are left out.
fn usage_line(e: &clap::Error) -> String {
    use clap::error::{ContextKind, ContextValue};
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        return "a subcommand is required; --help lists them".to_owned();
    }
    let rendered = e.render().to_string();
    let first = rendered.lines().next().unwrap_or_default();
    let first = first.strip_prefix("error: ").unwrap_or(first);
    match (e.kind(), e.get(ContextKind::ValidValue)) {
        (ErrorKind::InvalidValue, Some(ContextValue::Strings(values))) if !values.is_empty() => {
            format!("{first}; accepted values: {}", values.join(", "))
        }
        _ => {
            let paragraph: Vec<&str> = std::iter::once(first)
                .chain(
                    rendered
                        .lines()
                        .skip(1)
                        .take_while(|l| !l.trim().is_empty()),
                )
                .map(str::trim)
                .collect();
            paragraph.join(" ")
        }
    }
}
