//! JSON written to standard output as it is made, never gathered whole first: a run of
//! 87,000 invoices is written an invoice at a time, the recorded ones read back from the store
//! a page at a time. A reader that closes the pipe ends the writing quietly, as in `out`.

use std::cell::RefCell;
use std::io::{self, BufWriter, Write};

use plock_core::store::{InvoiceQuery, StoreError};
use plock_core::{BillingRun, Invoice, Store};
use serde::Serialize;
use serde::ser::{Error as _, SerializeMap, SerializeSeq, Serializer};

use crate::exit::{Class, CliError, fail};

type Result<T> = std::result::Result<T, CliError>;

/// Standard output through a buffer: a concrete type, so serde's many small writes are
/// inlined rather than called through a trait object.
pub type Out<'a> = BufWriter<io::StdoutLock<'a>>;

/// Writes with `write` to standard output through a buffer, and a final newline. A closed
/// pipe is a normal end.
///
/// # Errors
/// Any other write error, as an I/O error saying the command itself completed.
pub fn to_stdout(write: impl FnOnce(&mut Out<'_>) -> io::Result<()>) -> Result<()> {
    // Large writes: a run report is tens of megabytes, written in few system calls.
    let mut out = BufWriter::with_capacity(1 << 16, io::stdout().lock());
    let written = write(&mut out)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush());
    match written {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(fail(
            Class::Io,
            format!("cannot write to standard output ({e}); the command itself completed"),
        )),
        Ok(()) => Ok(()),
    }
}

/// A serde error as an I/O error, keeping a closed pipe recognisable.
fn io_error(e: &serde_json::Error) -> io::Error {
    io::Error::new(
        e.io_error_kind().unwrap_or(io::ErrorKind::Other),
        e.to_string(),
    )
}

/// One value as pretty JSON, written as it is serialised.
pub fn pretty<W: Write>(w: &mut W, value: &impl Serialize) -> io::Result<()> {
    serde_json::to_writer_pretty(w, value).map_err(|e| io_error(&e))
}

/// A page of items at a time, `None` after the last.
type NextPage<'a, T, E> = dyn FnMut() -> std::result::Result<Option<Vec<T>>, E> + 'a;

/// A JSON array of items, fetched page by page while it is written.
struct Pages<'a, T, E>(RefCell<&'a mut NextPage<'a, T, E>>);

impl<T: Serialize, E: std::fmt::Display> Serialize for Pages<'_, T, E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(None)?;
        let mut next = self.0.borrow_mut();
        while let Some(page) = (*next)().map_err(S::Error::custom)? {
            for item in &page {
                seq.serialize_element(item)?;
            }
        }
        seq.end()
    }
}

/// `[item, ...]` of the items `next` gives a page at a time, each page written before the next
/// is asked for.
///
/// # Errors
/// A write error, or `next`'s error as an I/O error.
pub fn array<W: Write, T: Serialize, E: std::fmt::Display>(
    w: &mut W,
    mut next: impl FnMut() -> std::result::Result<Option<Vec<T>>, E>,
) -> io::Result<()> {
    pretty(w, &Pages(RefCell::new(&mut next)))
}

/// `[item, ...]` on standard output, `next` giving a page of items at a time. The first page
/// is read before anything is written, so a thing not found is said on its own; a later
/// failure of `next` ends the writing and is the command's error.
///
/// # Errors
/// `next`'s error, or a write error but a closed pipe.
pub fn array_to_stdout<T: Serialize>(
    mut next: impl FnMut() -> Result<Option<Vec<T>>>,
) -> Result<()> {
    let mut first = Some(next()?);
    let mut failed = None;
    let written = to_stdout(|w| {
        array(w, || {
            if let Some(page) = first.take() {
                return Ok(page);
            }
            next().map_err(|e| {
                let said = format!("{:#}", e.error);
                failed = Some(e);
                said
            })
        })
    });
    match failed {
        Some(e) => Err(e),
        None => written,
    }
}

/// Pages of the stored invoices numbered `from..until` (all from `from` without `until`).
fn stored<'a>(
    store: &'a (impl Store + ?Sized),
    from: u64,
    until: Option<u64>,
) -> impl FnMut() -> std::result::Result<Option<Vec<Invoice>>, StoreError> + 'a {
    let mut after = from.checked_sub(1);
    let mut done = false;
    move || {
        if done {
            return Ok(None);
        }
        let page = store.list_invoices(&InvoiceQuery {
            after,
            ..InvoiceQuery::default()
        })?;
        after = page.next;
        done = page.next.is_none();
        let mut items = page.items;
        if let Some(until) = until {
            done = done || items.last().is_some_and(|i| i.number() >= until);
            items.retain(|i| i.number() >= from && i.number() < until);
        }
        Ok(Some(items))
    }
}

/// `[invoice, ...]` of every stored invoice, by number.
pub fn invoices<W: Write>(w: &mut W, store: &(impl Store + ?Sized)) -> io::Result<()> {
    array(w, stored(store, 1, None))
}

/// Where the invoices of a run report come from.
pub enum RunInvoices {
    /// A preview's, in memory.
    Preview(Vec<Invoice>),
    /// A recorded run's, numbered `from..until` in the store.
    Recorded {
        /// The run's first number.
        from: u64,
        /// One past its last.
        until: u64,
    },
}

/// A run report: the run's fields (its invoices taken out of `run`), `recorded`, then its
/// invoices, one at a time.
pub fn run_report<W: Write>(
    w: &mut W,
    mut run: BillingRun,
    store: &(impl Store + ?Sized),
    invoices: RunInvoices,
) -> io::Result<()> {
    let (mut from_memory, recorded) = match invoices {
        RunInvoices::Preview(invoices) => (Some(invoices), None),
        RunInvoices::Recorded { from, until } => (None, Some((from, until))),
    };
    run.invoices = Vec::new();
    let fields = match serde_json::to_value(&run).map_err(|e| io_error(&e))? {
        serde_json::Value::Object(map) => map,
        _ => serde_json::Map::new(),
    };
    let mut ser = serde_json::Serializer::pretty(w);
    let mut map = (&mut ser).serialize_map(None).map_err(|e| io_error(&e))?;
    let mut entries = || -> std::result::Result<(), serde_json::Error> {
        for (key, value) in fields.iter().filter(|(k, _)| *k != "invoices") {
            map.serialize_entry(key, value)?;
        }
        map.serialize_entry("recorded", &recorded.is_some())?;
        match recorded {
            Some((from, until)) => {
                let mut next = stored(store, from, Some(until));
                map.serialize_entry("invoices", &Pages(RefCell::new(&mut next)))
            }
            None => {
                let mut next = || Ok::<_, StoreError>(from_memory.take());
                map.serialize_entry("invoices", &Pages(RefCell::new(&mut next)))
            }
        }
    };
    entries().map_err(|e| io_error(&e))?;
    SerializeMap::end(map).map_err(|e| io_error(&e))
}
