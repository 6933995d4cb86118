//! The invoice commands' part of the command line: list, show, credit, charge, compensate,
//! accruals and export, with the export formats and the ERPs.

use std::path::PathBuf;

use clap::{Subcommand, ValueEnum};
use plock_core::account::ExternalSystem;

use crate::cli_ops::{ChargeArgs, CompensateArgs};

/// `plock invoice ...`
#[derive(Debug, Subcommand)]
pub enum InvoiceCommand {
    /// List invoices.
    #[command(after_help = "Examples:
  plock invoice list
  plock --json invoice list")]
    List,
    /// Show one invoice.
    #[command(after_help = "Example:
  plock invoice show 1")]
    Show {
        /// Invoice number.
        number: u64,
    },
    /// Credit all of an invoice, or part of one line (never more than was invoiced).
    #[command(after_help = "Examples:
  plock invoice credit 7                        # all of invoice 7
  plock invoice credit 7 --line 1 --amount 100  # 100 off its first line")]
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
    /// Invoice a one-off charge (onboarding, training, hardware).
    #[command(after_help = "Examples:
  plock invoice charge acme --date 2025-03-15 --line onboarding,1,5000.00
  plock invoice charge acme --date 2025-03-15 --line training,3,1200 --line travel,1,800")]
    Charge(ChargeArgs),
    /// Compensate a change inside an invoiced period: credit the old amount for the days left,
    /// charge the new one for them.
    #[command(after_help = "Example:
  plock invoice compensate 7 --line 1 --date 2025-03-16 --amount 4000.00  # new amount for the whole period")]
    Compensate(CompensateArgs),
    /// The deferred-revenue schedule: invoice lines of several months, spread per month.
    #[command(after_help = "Examples:
  plock invoice accruals
  plock --json invoice accruals 12")]
    Accruals {
        /// Only this invoice.
        number: Option<u64>,
    },
    /// Export invoices.
    #[command(after_help = "Examples:
  plock invoice export --format csv --out invoices.csv
  plock invoice export --erp fortnox --out fortnox.json")]
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Json)]
        format: ExportFormat,
        /// Export for this ERP's import (JSON): payloads addressed to the owners' debtor ids;
        /// invoices without one, or held, are listed and left out.
        #[arg(long, conflicts_with = "format")]
        erp: Option<ErpArg>,
        /// Write here instead of standard output (`-` is standard output).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Explain an invoice command.
    #[command(after_help = "Example:
  plock invoice help credit")]
    Help {
        /// The command.
        topic: Vec<String>,
    },
}

/// Invoice export formats.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum ExportFormat {
    /// JSON array.
    Json,
    /// CSV, one row per line.
    Csv,
}

/// The ERPs invoices can be exported for: the systems core counts as ERPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ErpArg {
    /// Fortnox.
    Fortnox,
    /// Microsoft Dynamics 365 Business Central.
    #[value(name = "business_central", alias = "business-central")]
    BusinessCentral,
    /// Netvisor.
    Netvisor,
    /// Kleer.
    Kleer,
}

impl ErpArg {
    /// The external system the flag names.
    pub fn system(self) -> ExternalSystem {
        match self {
            ErpArg::Fortnox => ExternalSystem::Fortnox,
            ErpArg::BusinessCentral => ExternalSystem::BusinessCentral,
            ErpArg::Netvisor => ExternalSystem::Netvisor,
            ErpArg::Kleer => ExternalSystem::Kleer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use plock_core::account::SystemKind;

    #[test]
    fn every_erp_flag_names_an_erp_core_parses_back() {
        for erp in ErpArg::value_variants() {
            let name = erp.to_possible_value().unwrap().get_name().to_owned();
            let system = erp.system();
            assert_eq!(system.kind(), SystemKind::Erp, "{name}");
            assert_eq!(name.parse::<ExternalSystem>().unwrap(), system);
            assert_eq!(system.name(), name);
        }
    }
}
