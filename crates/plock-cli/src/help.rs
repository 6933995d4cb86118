//! `plock help [csv | COMMAND...]`, and `plock COMMAND help TOPIC` as its alias.

use clap::CommandFactory;

use crate::cli::Cli;
use crate::exit::{Class, CliError, fail};

/// The CSV formats, as docs/csv.md states them.
const CSV_HELP: &str = include_str!("../../../docs/csv.md");

/// `plock account help add` is `plock help account add`.
pub fn nested(command: &str, mut topic: Vec<String>) -> Vec<String> {
    topic.insert(0, command.to_owned());
    topic
}

/// `plock help [csv | COMMAND...]`.
pub fn help(topic: &[String]) -> Result<String, CliError> {
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
