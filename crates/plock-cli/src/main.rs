//! The plock command: a thin front end over plock-core and the memory store. It holds no
//! domain rule of its own: it parses, calls core, prints.

mod app;
mod cli;
mod commands;
mod commands_io;
mod demo;
mod exit;
mod render;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match cli::Cli::try_parse() {
        Ok(cli) => cli,
        // clap prints usage errors (exit 2) and --help/--version (exit 0) itself.
        Err(e) => e.exit(),
    };
    match commands::run(cli) {
        Ok(output) => {
            if !output.is_empty() {
                println!("{}", output.trim_end());
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("plock: {e}");
            e.exit_code()
        }
    }
}
