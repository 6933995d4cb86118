//! The command line: every subcommand and flag, parsed by clap.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::args::date;
use crate::cli_invoice::InvoiceCommand;
use crate::cli_ops::{
    ClearField, CreateArgs, ExternalIdCommand, ItemCommand, MetricCommand, Switch, UsageCommand,
};

/// plock: accounts, subscriptions and billing runs for a usage-based SaaS company.
#[derive(Debug, Parser)]
#[command(
    name = "plock",
    version,
    about,
    propagate_version = true,
    disable_help_subcommand = true,
    after_help = "Examples:
  plock init
  plock import accounts accounts.csv --dry-run
  plock bill --date 2025-02-01 --preview

`plock help csv` lists the columns of every CSV file; `plock help COMMAND` explains a command."
)]
pub struct Cli {
    /// The data file. Default: $PLOCK_DATA, else ./plock.data.
    #[arg(long, global = true, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// A PostgreSQL database instead of the data file: a postgres:// URL or key=value
    /// settings. Default: $PLOCK_STORE.
    #[arg(long, global = true, value_name = "URL")]
    pub store: Option<String>,
    /// Print JSON: results, reports of what changed, and errors (one object on stderr).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty data file, or plock's schema in the --store database (refuses to
    /// overwrite either).
    #[command(after_help = "Examples:
  plock init
  plock --data /srv/billing/plock.data init
  plock --store postgres://plock@db.internal/billing init")]
    Init,
    /// Build a sample company, bill three months and print the invoices.
    #[command(after_help = "Examples:
  plock demo
  plock --data demo.data demo --save")]
    Demo {
        /// Also write the sample company to the data file (refuses to overwrite one).
        #[arg(long)]
        save: bool,
    },
    /// Manage accounts.
    #[command(subcommand)]
    Account(AccountCommand),
    /// Manage subscriptions.
    #[command(subcommand)]
    Subscription(SubscriptionCommand),
    /// Import accounts, subscriptions or usage from CSV (all rows or none).
    #[command(after_help = "Examples:
  plock import accounts accounts.csv --dry-run
  plock import usage - < usage.csv

`plock help csv` lists the columns of each file.")]
    Import {
        /// What the file holds.
        kind: ImportKind,
        /// The CSV file; `-` reads standard input.
        file: PathBuf,
        /// Validate and report what would change; write nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Export accounts or subscriptions as CSV (the import format).
    #[command(after_help = "Examples:
  plock export accounts > accounts.csv
  plock export subscriptions --out subscriptions.csv")]
    Export {
        /// What to export.
        kind: ExportKind,
        /// Write here instead of standard output (`-` is standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare a data source's customers with the accounts and plan a sync.
    #[command(after_help = "Examples:
  plock discover customers.csv                # show the plan
  plock discover customers.csv --yes          # apply it
  plock discover customers.csv --yes --archive-missing --keep old-corp
  crm-export | plock discover - --source hubspot --yes")]
    Discover {
        /// The source's customer records (CSV); `-` reads standard input.
        file: PathBuf,
        /// Apply the plan instead of only showing it.
        #[arg(long, conflicts_with = "dry_run")]
        yes: bool,
        /// Only show the plan and write nothing (what happens without --yes).
        #[arg(long)]
        dry_run: bool,
        /// The source system's name; accounts linked to it hold an external id there.
        #[arg(long, default_value = "source")]
        source: String,
        /// With --yes, also archive the Active accounts the source no longer has.
        #[arg(long, requires = "yes")]
        archive_missing: bool,
        /// An account missing from the source to keep when archiving the others (repeat).
        #[arg(long, value_name = "ACCOUNT", requires = "archive_missing")]
        keep: Vec<String>,
    },
    /// Run billing for a date: prints a summary; `--full` prints every invoice.
    #[command(after_help = "Examples:
  plock bill --date 2025-02-01 --preview      # what would be billed; records nothing
  plock bill --date 2025-02-01                # record the run, print its summary
  plock bill --date 2025-02-01 --preview --full")]
    Bill {
        /// The run date.
        #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
        date: NaiveDate,
        /// Show what would be billed without recording anything.
        #[arg(long)]
        preview: bool,
        /// Print every invoice in full instead of the summary.
        #[arg(long)]
        full: bool,
    },
    /// Read, credit and export invoices.
    #[command(subcommand)]
    Invoice(InvoiceCommand),
    /// The metric catalogue: what usage is counted in and how it aggregates.
    #[command(subcommand)]
    Metric(MetricCommand),
    /// List and export usage records.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Product adoption scores (Expand): lowest first, to call; upsell-ready ones to approach.
    #[command(after_help = "Examples:
  plock adoption --date 2025-04-01
  plock adoption --date 2025-04-01 --product emails --upsell-ready
  plock adoption --date 2025-04-01 --account globex-nordics")]
    Adoption {
        /// Only this account (id or key).
        #[arg(long)]
        account: Option<String>,
        /// Scoring date (default: today).
        #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
        date: Option<NaiveDate>,
        /// Only this product.
        #[arg(long)]
        product: Option<String>,
        /// Only the upsell-ready.
        #[arg(long)]
        upsell_ready: bool,
    },
    /// Usage signals (Expand): churn risk, upsell opportunity, spikes and drops, with evidence.
    #[command(after_help = "Examples:
  plock signals --date 2025-03-31
  plock --json signals
  plock signals --date 2025-03-31 --account globex")]
    Signals {
        /// Only this account (id or key).
        #[arg(long)]
        account: Option<String>,
        /// Evaluation date (default: today).
        #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
        date: Option<NaiveDate>,
    },
    /// Check the data file: SQLite's integrity check, the account book's rules, and every
    /// invoice's total against its lines.
    #[command(after_help = "Examples:
  plock check
  plock --data /srv/billing/plock.data check")]
    Check,
    /// Copy the data file to a new file while others go on using it (SQLite's online backup).
    #[command(after_help = "Examples:
  plock backup /srv/backups/plock-2025-02-01.data")]
    Backup {
        /// Where the copy goes; must not exist (a file or link there is refused).
        path: std::path::PathBuf,
    },
    /// Print shell completions.
    #[command(after_help = "Examples:
  plock completions bash > ~/.local/share/bash-completion/completions/plock
  plock completions zsh > ~/.zfunc/_plock")]
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Explain a command, or the CSV formats (`plock help csv`).
    #[command(after_help = "Examples:
  plock help csv
  plock help bill
  plock help account add")]
    Help {
        /// `csv`, or a command (`bill`, `account add`, ...).
        topic: Vec<String>,
    },
}

/// `plock account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an Active account by hand.
    #[command(after_help = "Examples:
  plock account add --key acme --name 'Acme AB' --currency SEK
  plock account add --key acme --name 'Acme AB' --currency SEK --email billing@acme.se --country SE --created 2025-01-01")]
    Add(AccountFields),
    /// List accounts, filtered by state and tags.
    #[command(after_help = "Examples:
  plock account list --state active --tag enterprise
  plock account list --state pending")]
    List(AccountFilter),
    /// Show one account.
    #[command(after_help = "Examples:
  plock account show acme
  plock --json account show acme")]
    Show {
        /// Account id or key.
        account: String,
    },
    /// Change an account's name, contact or currency.
    #[command(after_help = "Examples:
  plock account edit acme --name 'Acme Aktiebolag'
  plock account edit acme --email ap@acme.se --country SE
  plock account edit acme --phone '+46 8 123 45' --address 'Box 1' --address '111 22 Stockholm'
  plock account edit acme --clear phone --clear organisation-number")]
    Edit(AccountEdit),
    /// Approve a Pending account.
    #[command(after_help = "Example:
  plock account approve new-clinic")]
    Approve {
        /// Account id or key.
        account: String,
    },
    /// Dismiss a Pending account (its key is never proposed again).
    #[command(after_help = "Example:
  plock account dismiss prospect")]
    Dismiss {
        /// Account id or key.
        account: String,
    },
    /// Archive an Active account.
    #[command(after_help = "Example:
  plock account archive old-corp")]
    Archive {
        /// Account id or key.
        account: String,
    },
    /// Restore an Archived account.
    #[command(after_help = "Example:
  plock account restore old-corp")]
    Restore {
        /// Account id or key.
        account: String,
    },
    /// Add tags.
    #[command(after_help = "Example:
  plock account tag acme retail nordic")]
    Tag {
        /// Account id or key.
        account: String,
        /// Tags to add.
        #[arg(required = true)]
        tags: Vec<String>,
    },
    /// Remove tags.
    #[command(after_help = "Example:
  plock account untag acme nordic")]
    Untag {
        /// Account id or key.
        account: String,
        /// Tags to remove.
        #[arg(required = true)]
        tags: Vec<String>,
    },
    /// Make CHILD a child of MASTER.
    #[command(after_help = "Example:
  plock account link globex-nordics globex")]
    Link {
        /// The child account.
        child: String,
        /// The master account.
        master: String,
    },
    /// Set or remove the account's ids in other systems (CRM, ERP).
    #[command(subcommand)]
    ExternalId(ExternalIdCommand),
    /// Switch a master's group billing on or off (children's charges on its invoice).
    #[command(after_help = "Examples:
  plock account group-billing globex on
  plock account group-billing globex off")]
    GroupBilling {
        /// The master account.
        account: String,
        /// On or off.
        switch: Switch,
    },
    /// Detach a child from its master.
    #[command(after_help = "Example:
  plock account unlink globex-nordics")]
    Unlink {
        /// The child account.
        child: String,
    },
    /// Explain an account command.
    #[command(after_help = "Example:
  plock account help add")]
    Help {
        /// The command.
        topic: Vec<String>,
    },
}

/// Fields of a new account.
#[derive(Debug, Args)]
pub struct AccountFields {
    /// The customer's key in the company's own database.
    #[arg(long)]
    pub key: String,
    /// The account's name.
    #[arg(long)]
    pub name: String,
    /// Billing currency (ISO 4217).
    #[arg(long)]
    pub currency: String,
    /// Contact e-mail.
    #[arg(long)]
    pub email: Option<String>,
    /// Country (ISO 3166 alpha-2).
    #[arg(long)]
    pub country: Option<String>,
    /// Creation date (default: today).
    #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
    pub created: Option<NaiveDate>,
}

/// Filters of `account list`.
#[derive(Debug, Args)]
pub struct AccountFilter {
    /// Only accounts in this state.
    #[arg(long)]
    pub state: Option<StateArg>,
    /// Only accounts having all of these tags.
    #[arg(long = "tag")]
    pub tags: Vec<String>,
    /// Only accounts having any of these tags.
    #[arg(long = "any-tag")]
    pub any_tags: Vec<String>,
    /// Only accounts having none of these tags.
    #[arg(long = "no-tag")]
    pub no_tags: Vec<String>,
}

/// Changes of `account edit`.
#[derive(Debug, Args)]
pub struct AccountEdit {
    /// Account id or key.
    pub account: String,
    /// New name.
    #[arg(long)]
    pub name: Option<String>,
    /// New e-mail.
    #[arg(long)]
    pub email: Option<String>,
    /// New country.
    #[arg(long)]
    pub country: Option<String>,
    /// New currency.
    #[arg(long)]
    pub currency: Option<String>,
    /// Days to pay an invoice from its issue (0 to 365; 30 unless set): invoices issued
    /// from now on are due that many days after their issue date.
    #[arg(long, value_name = "DAYS")]
    pub payment_terms: Option<u16>,
    /// New phone number.
    #[arg(long)]
    pub phone: Option<String>,
    /// New address, a line each (repeat, up to 4); replaces every line.
    #[arg(long = "address", value_name = "LINE")]
    pub address: Vec<String>,
    /// New organisation number.
    #[arg(long, alias = "org-number")]
    pub organisation_number: Option<String>,
    /// Make the account a child of this master (id or key).
    #[arg(long)]
    pub master: Option<String>,
    /// Empty a field (repeat for several).
    #[arg(long, value_enum, value_name = "FIELD")]
    pub clear: Vec<ClearField>,
}

/// Account states on the command line.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum StateArg {
    /// Found, not yet confirmed.
    Pending,
    /// Billed.
    Active,
    /// Deactivated.
    Archived,
}

/// `plock subscription ...`
#[derive(Debug, Subcommand)]
pub enum SubscriptionCommand {
    /// Add a subscription with one item.
    #[command(after_help = "Examples:
  plock subscription add --id s1 --account acme --start 2025-01-01 --product licence --fee 3100.00
  plock subscription add --id s2 --account acme --start 2025-01-01 --product api --unit-price 0.01 --metric calls")]
    Add(SubscriptionFields),
    /// Create a subscription of any items and prices from a TOML, JSON or CSV file.
    #[command(after_help = "Examples:
  plock subscription create docs/subscription.toml --dry-run
  plock subscription create acme.json
  plock subscription create - --format toml < acme.toml

docs/subscription.md describes the file.")]
    Create(CreateArgs),
    /// Add items to a subscription, or change a flat fee from a date.
    #[command(subcommand)]
    Item(ItemCommand),
    /// Activate a Draft subscription (billing starts at its start date).
    #[command(after_help = "Example:
  plock subscription activate s3")]
    Activate {
        /// Subscription id.
        subscription: String,
    },
    /// List subscriptions.
    #[command(after_help = "Examples:
  plock subscription list
  plock subscription list --account acme")]
    List {
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
    },
    /// Show one subscription.
    #[command(after_help = "Example:
  plock subscription show s1")]
    Show {
        /// Subscription id.
        subscription: String,
    },
    /// Pause revenue collection.
    #[command(after_help = "Example:
  plock subscription pause s1 --date 2025-02-01")]
    Pause {
        /// Subscription id.
        subscription: String,
        /// From this date.
        #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
        date: NaiveDate,
    },
    /// Resume revenue collection.
    #[command(after_help = "Example:
  plock subscription resume s1 --date 2025-03-01")]
    Resume {
        /// Subscription id.
        subscription: String,
        /// From this date.
        #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
        date: NaiveDate,
    },
    /// End a subscription.
    #[command(after_help = "Example:
  plock subscription end s1 --date 2025-04-15")]
    End {
        /// Subscription id.
        subscription: String,
        /// Its end date.
        #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
        date: NaiveDate,
    },
    /// Explain a subscription command.
    #[command(after_help = "Example:
  plock subscription help add")]
    Help {
        /// The command.
        topic: Vec<String>,
    },
}

/// Fields of a new subscription.
#[derive(Debug, Args)]
pub struct SubscriptionFields {
    /// Subscription id.
    #[arg(long)]
    pub id: String,
    /// The account (id or key).
    #[arg(long)]
    pub account: String,
    /// Start date.
    #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
    pub start: NaiveDate,
    /// Billing interval in months.
    #[arg(long, default_value_t = 1)]
    pub months: u32,
    /// The product.
    #[arg(long)]
    pub product: String,
    /// A flat fee per period.
    #[arg(long, conflicts_with = "unit_price")]
    pub fee: Option<String>,
    /// A unit price for usage of --metric.
    #[arg(long, requires = "metric")]
    pub unit_price: Option<String>,
    /// The metric priced per unit.
    #[arg(long)]
    pub metric: Option<String>,
}

/// What `import` reads.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ImportKind {
    /// Accounts CSV.
    Accounts,
    /// Subscriptions CSV.
    Subscriptions,
    /// Usage records CSV.
    Usage,
}

/// What `export` writes.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportKind {
    /// Accounts CSV.
    Accounts,
    /// Subscriptions CSV.
    Subscriptions,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }

    #[test]
    fn every_command_has_examples() {
        fn check(command: &clap::Command, path: &str) {
            for sub in command.get_subcommands() {
                let path = format!("{path} {}", sub.get_name());
                if sub.has_subcommands() {
                    check(sub, &path);
                } else {
                    let examples = sub.get_after_help().map(ToString::to_string);
                    let of_itself = |line: &str| {
                        line.trim_start()
                            .strip_prefix(&path)
                            .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
                    };
                    assert!(
                        examples.is_some_and(|e| e.lines().any(of_itself)),
                        "`{path} --help` has no example of itself"
                    );
                }
            }
        }
        check(&Cli::command(), "plock");
    }

    #[test]
    fn dates_are_exactly_year_month_day() {
        assert_eq!(
            date("2025-04-01"),
            Ok(NaiveDate::from_ymd_opt(2025, 4, 1).unwrap())
        );
        for bad in [
            "2025-4-1",
            "2025-04-1",
            "25-04-01",
            "2025/04/01",
            " 2025-04-01",
            "2025-04-01T00:00",
            "+2025-04-01",
            "",
        ] {
            assert!(date(bad).unwrap_err().contains("YYYY-MM-DD"), "{bad:?}");
        }
        assert!(date("2025-02-30").unwrap_err().contains("no such day"));
    }
}
