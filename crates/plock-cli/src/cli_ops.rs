//! The command line of the everyday domain actions beyond adding and listing: external ids,
//! group billing, subscriptions from files, items, metrics, one-off and compensation invoices,
//! accruals and usage. `cli.rs` names them in its enums.

use std::path::PathBuf;

use chrono::NaiveDate;
use clap::{Args, Subcommand, ValueEnum};

use crate::args::date;

/// `plock account external-id ...`
#[derive(Debug, Subcommand)]
pub enum ExternalIdCommand {
    /// Set the account's id in another system (replaces the one it has there).
    #[command(after_help = "Examples:
  plock account external-id set acme fortnox 1042
  plock account external-id set acme hubspot 90210")]
    Set {
        /// Account id or key.
        account: String,
        /// The system: hubspot, salesforce, fortnox, business_central, netvisor, kleer, or a
        /// data source's name.
        system: String,
        /// The account's id in that system.
        id: String,
    },
    /// Remove the account's id in a system.
    #[command(after_help = "Example:
  plock account external-id remove acme fortnox")]
    Remove {
        /// Account id or key.
        account: String,
        /// The system.
        system: String,
    },
}

/// On or off.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Switch {
    /// Switched on.
    On,
    /// Switched off.
    Off,
}

/// An account field `account edit --clear` empties.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ClearField {
    /// The contact e-mail.
    Email,
    /// The phone number.
    Phone,
    /// Every address line.
    Address,
    /// The country.
    Country,
    /// The organisation number.
    #[value(name = "organisation-number", alias = "org-number")]
    OrganisationNumber,
    /// The master (detaches the account from its group).
    Master,
}

/// `plock subscription item ...`
#[derive(Debug, Subcommand)]
pub enum ItemCommand {
    /// Add an item to a subscription: a flat fee, a per-unit price of a metric, or any price
    /// model from a file of one item (docs/subscription.md).
    #[command(after_help = "Examples:
  plock subscription item add s1 --product support --fee 500.00
  plock subscription item add s1 --product sms --unit-price 0.05 --metric sms --rebate 10
  plock subscription item add s1 --file tiered-api.toml")]
    Add(ItemFields),
    /// Change a flat fee's fee, quantity or rebate from a date. Days before it keep their
    /// price; days from it already billed are settled by the next `plock bill`, once, with a
    /// compensation line for the difference.
    #[command(after_help = "Examples:
  plock subscription item change s1 --product licence --fee 130.00 --from 2025-04-15
  plock subscription item change s1 --product seats --fee 25.00 --quantity 8

Without --from the change applies from today (UTC).")]
    Change(ItemChange),
}

/// A flat fee's new terms, and from when.
#[derive(Debug, Args)]
pub struct ItemChange {
    /// Subscription id.
    pub subscription: String,
    /// The flat fee item's product.
    #[arg(long)]
    pub product: String,
    /// The new fee per period (default: the item's fee).
    #[arg(long)]
    pub fee: Option<String>,
    /// The new quantity (default: the item's quantity).
    #[arg(long)]
    pub quantity: Option<String>,
    /// The new rebate in percent, 0 for none (default: the item's rebate).
    #[arg(long)]
    pub rebate: Option<String>,
    /// The first day of the new terms (default: today, UTC).
    #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
    pub from: Option<NaiveDate>,
}

/// Fields of a new item.
#[derive(Debug, Args)]
pub struct ItemFields {
    /// Subscription id.
    pub subscription: String,
    /// The product.
    #[arg(long, required_unless_present = "file")]
    pub product: Option<String>,
    /// The item from a TOML or JSON file (by its extension), with the fields of an
    /// `[[items]]` entry of a subscription file; `-` reads TOML from standard input.
    #[arg(long, conflicts_with_all = ["product", "fee", "unit_price", "metric", "rebate"])]
    pub file: Option<PathBuf>,
    /// A flat fee per period.
    #[arg(long, conflicts_with = "unit_price")]
    pub fee: Option<String>,
    /// How many of the fee (licences, seats).
    #[arg(long, requires = "fee", default_value = "1")]
    pub quantity: String,
    /// A unit price for usage of --metric.
    #[arg(long, requires = "metric")]
    pub unit_price: Option<String>,
    /// The metric priced per unit.
    #[arg(long)]
    pub metric: Option<String>,
    /// A rebate in percent (0 to 100).
    #[arg(long)]
    pub rebate: Option<String>,
}

/// The formats of a subscription file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SubscriptionFormat {
    /// TOML (docs/subscription.md).
    Toml,
    /// JSON, the same fields as the TOML.
    Json,
    /// The subscriptions CSV (docs/csv.md), rows of one subscription.
    Csv,
}

/// `plock subscription create FILE`.
#[derive(Debug, Args)]
pub struct CreateArgs {
    /// The file; `-` reads standard input (give --format then).
    pub file: PathBuf,
    /// The file's format (default: from its extension).
    #[arg(long, value_enum)]
    pub format: Option<SubscriptionFormat>,
    /// Validate and show the subscription; write nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// `plock metric ...`
#[derive(Debug, Subcommand)]
pub enum MetricCommand {
    /// List the metric catalogue.
    #[command(after_help = "Examples:
  plock metric list
  plock --json metric list")]
    List,
    /// Set how a metric's usage aggregates over a period (adds the metric if new).
    #[command(after_help = "Examples:
  plock metric set seats --aggregation max
  plock metric set api_calls --aggregation sum")]
    Set {
        /// The metric.
        metric: String,
        /// How a period's records aggregate.
        #[arg(long, value_enum)]
        aggregation: AggregationArg,
    },
    /// Explain a metric command.
    #[command(after_help = "Example:
  plock metric help set")]
    Help {
        /// The command.
        topic: Vec<String>,
    },
}

/// Aggregations on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AggregationArg {
    /// The sum of quantities.
    Sum,
    /// The largest quantity.
    Max,
    /// The smallest quantity.
    Min,
    /// The mean quantity.
    Average,
    /// The number of records.
    Count,
}

/// `plock invoice charge ACCOUNT`.
#[derive(Debug, Args)]
pub struct ChargeArgs {
    /// Account id or key.
    pub account: String,
    /// The invoice date.
    #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
    pub date: NaiveDate,
    /// A line as PRODUCT,QUANTITY,UNIT_PRICE; repeat for several.
    #[arg(
        long = "line",
        required = true,
        value_name = "PRODUCT,QUANTITY,UNIT_PRICE"
    )]
    pub lines: Vec<String>,
}

/// `plock invoice compensate N`.
#[derive(Debug, Args)]
pub struct CompensateArgs {
    /// The invoice whose period changed.
    pub number: u64,
    /// The changed line (1-based, as `invoice show` lists them).
    #[arg(long)]
    pub line: usize,
    /// The day the change takes effect, inside the line's period.
    #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
    pub date: NaiveDate,
    /// The line's new amount for its whole period.
    #[arg(long)]
    pub amount: String,
}

/// `plock usage ...`
#[derive(Debug, Subcommand)]
pub enum UsageCommand {
    /// List usage records, oldest first.
    #[command(after_help = "Examples:
  plock usage list --account dentist-johnson
  plock --json usage list --metric emails --from 2025-01-01 --to 2025-02-01")]
    List(UsageFilter),
    /// Export usage records as CSV (the import format).
    #[command(after_help = "Examples:
  plock usage export > usage.csv
  plock usage export --account globex --out globex-usage.csv")]
    Export {
        /// Which records.
        #[command(flatten)]
        filter: UsageFilter,
        /// Write here instead of standard output (`-` is standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Explain a usage command.
    #[command(after_help = "Example:
  plock usage help list")]
    Help {
        /// The command.
        topic: Vec<String>,
    },
}

/// Which usage records.
#[derive(Debug, Args)]
pub struct UsageFilter {
    /// Only this account's (id or key).
    #[arg(long)]
    pub account: Option<String>,
    /// Only this metric's.
    #[arg(long)]
    pub metric: Option<String>,
    /// From this day (UTC), included.
    #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
    pub from: Option<NaiveDate>,
    /// Up to this day (UTC), excluded.
    #[arg(long, value_parser = date, value_name = "YYYY-MM-DD")]
    pub to: Option<NaiveDate>,
}
