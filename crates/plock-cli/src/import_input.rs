//! An accounts or subscriptions file opened for reading a chunk at a time: its bytes counted
//! on a bar on a terminal, and a failing read kept, so the command says it could not read the
//! file rather than that the file is wrong.

use std::cell::RefCell;
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

use crate::exit::{Class, CliError, fail};
use crate::files::{is_dash, name};
use crate::progress::Progress;

/// The first read error of an [`Input`], shared with whoever opened it.
#[derive(Clone, Default)]
pub struct ReadError(Rc<RefCell<Option<String>>>);

impl ReadError {
    /// The error to report for `path`, if a read failed.
    pub fn of(&self, path: &Path) -> Option<CliError> {
        let message = self.0.borrow().clone()?;
        Some(fail(
            Class::Io,
            format!("cannot read {}: {message}", name(path)),
        ))
    }
}

/// A file, or standard input for `-`, read with its bytes counted under `what`.
pub struct Input {
    inner: Box<dyn Read>,
    progress: Progress,
    error: ReadError,
}

impl Input {
    /// Opens `path` (`-`: standard input).
    ///
    /// # Errors
    /// A file that cannot be opened, as an I/O error naming it.
    pub fn open(path: &Path, what: &str) -> Result<(Input, ReadError), CliError> {
        let (inner, len): (Box<dyn Read>, Option<u64>) = if is_dash(path) {
            (Box::new(std::io::stdin().lock()), None)
        } else {
            let file = std::fs::File::open(path)
                .map_err(|e| fail(Class::Io, format!("cannot read {}: {e}", name(path))))?;
            let len = file.metadata().ok().map(|m| m.len());
            (Box::new(file), len)
        };
        let error = ReadError::default();
        let input = Input {
            inner,
            progress: Progress::bytes(len, what),
            error: error.clone(),
        };
        Ok((input, error))
    }
}

impl Read for Input {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(n) => {
                self.progress.inc(n);
                Ok(n)
            }
            Err(e) => {
                if e.kind() != std::io::ErrorKind::Interrupted {
                    self.error
                        .0
                        .borrow_mut()
                        .get_or_insert_with(|| e.to_string());
                }
                Err(e)
            }
        }
    }
}
