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
    /// Every problem behind the error (an import's rows), for `--json`; the text form has them
    /// in its message already.
    pub problems: Option<serde_json::Value>,
}

impl CliError {
    /// Wraps an error in a class.
    pub fn new(class: Class, error: impl Into<anyhow::Error>) -> CliError {
        CliError {
            class,
            error: error.into(),
            problems: None,
        }
    }

    /// The same error, its message led by `prefix` (a file name, say).
    pub fn prefixed(self, prefix: impl fmt::Display) -> CliError {
        CliError {
            class: self.class,
            error: anyhow::anyhow!("{prefix}{}", self.error),
            problems: self.problems,
        }
    }

    /// The exit code to end the process with.
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(self.class.code())
    }

    /// The error as one JSON object: `{"error": ..., "exit_code": N}`, with `"problems"` when
    /// there is a list of them. The message is the first line of the text form (its summary).
    pub fn to_json(&self) -> serde_json::Value {
        let text = self.to_string();
        let mut object = serde_json::json!({
            "error": text.lines().next().unwrap_or_default(),
            "exit_code": self.class.code(),
        });
        if let (Some(problems), Some(map)) = (&self.problems, object.as_object_mut()) {
            map.insert("problems".to_owned(), problems.clone());
        }
        object
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
