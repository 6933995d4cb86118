//! Error classes and their exit codes: one clear line per error, a distinct code per class so
//! scripts can tell a typo from a lock held by another process.

use std::fmt;
use std::process::ExitCode;

/// What kind of failure ended a command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Class {
    /// The command line itself was wrong (clap uses 2 as well).
    Usage,
    /// Input was refused by a domain rule or a validation.
    Validation,
    /// A named thing does not exist.
    NotFound,
    /// The data file is in use, or the change conflicts with what is stored.
    Conflict,
    /// Reading or writing a file failed.
    Io,
}

impl Class {
    /// The process exit code of the class.
    pub fn code(self) -> u8 {
        match self {
            Class::Usage => 2,
            Class::Validation => 3,
            Class::NotFound => 4,
            Class::Conflict => 5,
            Class::Io => 6,
        }
    }
}

/// A failed command: its class and the cause chain, printed as one line.
#[derive(Debug)]
pub struct CliError {
    /// The class, for the exit code.
    pub class: Class,
    /// The cause chain.
    pub error: anyhow::Error,
}

impl CliError {
    /// Wraps an error in a class.
    pub fn new(class: Class, error: impl Into<anyhow::Error>) -> CliError {
        CliError {
            class,
            error: error.into(),
        }
    }

    /// The exit code to end the process with.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.class.code())
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // plock's errors already name their cause in their message; the chain would repeat it.
        write!(f, "{}", self.error)
    }
}

/// Shorthand for building errors of a class from a message.
pub fn fail(class: Class, message: impl fmt::Display) -> CliError {
    CliError::new(class, anyhow::anyhow!("{message}"))
}
