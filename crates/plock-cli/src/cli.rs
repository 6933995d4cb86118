//! The command line: every subcommand and flag, parsed by clap.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// plock: accounts, subscriptions and billing runs for a usage-based SaaS company.
#[derive(Debug, Parser)]
#[command(name = "plock", version, about, propagate_version = true)]
pub struct Cli {
    /// The data file. Default: $PLOCK_DATA, else ./plock.data.
    #[arg(long, global = true, value_name = "PATH")]
    pub data: Option<PathBuf>,
    /// Print machine-readable JSON instead of tables (read commands).
    #[arg(long, global = true)]
    pub json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create an empty data file (refuses to overwrite one).
    Init,
    /// Build a sample company, bill three months and print the invoices.
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
    /// Import accounts, subscriptions or usage from CSV.
    Import {
        /// What the file holds.
        kind: ImportKind,
        /// The CSV file.
        file: PathBuf,
    },
    /// Export accounts or subscriptions as CSV.
    Export {
        /// What to export.
        kind: ExportKind,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Compare a data source's customers with the accounts and plan a sync.
    Discover {
        /// The source's customer records (CSV).
        file: PathBuf,
        /// Apply the plan instead of only showing it.
        #[arg(long)]
        yes: bool,
        /// The source system's name; accounts linked to it hold an external id there.
        #[arg(long, default_value = "source")]
        source: String,
    },
    /// Run billing for a date.
    Bill {
        /// The run date (YYYY-MM-DD).
        #[arg(long)]
        date: chrono::NaiveDate,
        /// Show what would be billed without recording anything.
        #[arg(long)]
        preview: bool,
    },
    /// Read and export invoices.
    #[command(subcommand)]
    Invoice(InvoiceCommand),
    /// Product adoption scores (Expand): lowest first, to call; upsell-ready ones to approach.
    Adoption {
        /// Scoring date (default: today).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
        /// Only this product.
        #[arg(long)]
        product: Option<String>,
        /// Only the upsell-ready.
        #[arg(long)]
        upsell_ready: bool,
    },
    /// Usage signals (Expand): churn risk, upsell opportunity, spikes and drops, with evidence.
    Signals {
        /// Evaluation date (default: today).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Print shell completions.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
}

/// `plock account ...`
#[derive(Debug, Subcommand)]
pub enum AccountCommand {
    /// Add an Active account by hand.
    Add(AccountFields),
    /// List accounts, filtered by state and tags.
    List(AccountFilter),
    /// Show one account.
    Show {
        /// Account id or key.
        account: String,
    },
    /// Change an account's name, contact or currency.
    Edit(AccountEdit),
    /// Approve a Pending account.
    Approve {
        /// Account id or key.
        account: String,
    },
    /// Dismiss a Pending account (its key is never proposed again).
    Dismiss {
        /// Account id or key.
        account: String,
    },
    /// Archive an Active account.
    Archive {
        /// Account id or key.
        account: String,
    },
    /// Restore an Archived account.
    Restore {
        /// Account id or key.
        account: String,
    },
    /// Add tags.
    Tag {
        /// Account id or key.
        account: String,
        /// Tags to add.
        #[arg(required = true)]
        tags: Vec<String>,
    },
    /// Remove tags.
    Untag {
        /// Account id or key.
        account: String,
        /// Tags to remove.
        #[arg(required = true)]
        tags: Vec<String>,
    },
    /// Make CHILD a child of MASTER.
    Link {
        /// The child account.
        child: String,
        /// The master account.
        master: String,
    },
    /// Detach a child from its master.
    Unlink {
        /// The child account.
        child: String,
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
    #[arg(long)]
    pub created: Option<chrono::NaiveDate>,
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
    Add(SubscriptionFields),
    /// List subscriptions.
    List {
        /// Only this account's.
        #[arg(long)]
        account: Option<String>,
    },
    /// Show one subscription.
    Show {
        /// Subscription id.
        subscription: String,
    },
    /// Pause revenue collection.
    Pause {
        /// Subscription id.
        subscription: String,
        /// From this date.
        #[arg(long)]
        date: chrono::NaiveDate,
    },
    /// Resume revenue collection.
    Resume {
        /// Subscription id.
        subscription: String,
        /// From this date.
        #[arg(long)]
        date: chrono::NaiveDate,
    },
    /// End a subscription.
    End {
        /// Subscription id.
        subscription: String,
        /// Its end date.
        #[arg(long)]
        date: chrono::NaiveDate,
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
    #[arg(long)]
    pub start: chrono::NaiveDate,
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

/// `plock invoice ...`
#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// List invoices.
    List,
    /// Show one invoice.
    Show {
        /// Invoice number.
        number: u64,
    },
    /// Credit all of an invoice, or part of one line (never more than was invoiced).
    Credit {
        /// The invoice number.
        number: u64,
        /// Only this line (1-based, as `invoice show` lists them).
        #[arg(long, requires = "amount")]
        line: Option<usize>,
        /// The amount to credit on that line.
        #[arg(long, requires = "line")]
        amount: Option<String>,
    },
    /// Export invoices.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Export for this ERP's import (fortnox, kleer, ...): payloads addressed to the
        /// owners' debtor ids; invoices without one, or held, are listed and left out.
        #[arg(long)]
        erp: Option<String>,
        /// Write here instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
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

/// Invoice export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// JSON array.
    Json,
    /// CSV, one row per line.
    Csv,
}
