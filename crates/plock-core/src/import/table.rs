//! The text layer of CSV import: encoding, delimiter, header, cells, and the error list.
//!
//! Everything above this layer sees named cells and reports problems as [`ImportError`]s with
//! line, column, value and reason; nothing here knows what an account is.

use std::collections::{BTreeMap, HashMap};
use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::hash::FastState;

/// The largest CSV input accepted, in bytes (64 MiB).
pub const MAX_IMPORT_BYTES: usize = 64 * 1024 * 1024;
/// The most data rows one CSV input may hold.
pub const MAX_IMPORT_ROWS: usize = 1_000_000;
/// The most data rows an accounts or subscriptions file may hold: they are read a chunk at
/// a time, whatever the file's size, and the batch they plan is held whole.
pub const MAX_STREAMED_ROWS: usize = 50_000_000;
/// The most errors collected before the report stops listing more (the count stays exact).
pub const MAX_REPORTED_ERRORS: usize = 1_000;

/// One problem in an import file: where it is, what was there, and why it is refused.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct ImportError {
    /// 1-based line in the file (the header is line 1).
    pub line: u64,
    /// The column name, or empty when the problem is the whole row or file.
    pub column: String,
    /// The offending value as written, cut to its first 100 characters.
    pub value: String,
    /// Why it is refused, in words a person can act on.
    pub reason: String,
}

impl fmt::Display for ImportError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}", self.line)?;
        if !self.column.is_empty() {
            write!(f, ", column {}", self.column)?;
        }
        write!(f, ": {}", self.reason)?;
        if !self.value.is_empty() {
            write!(f, " (value {:?})", self.value)?;
        }
        Ok(())
    }
}

/// Every problem found in an import, in file order. Nothing is imported while it is non-empty.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub struct ImportErrors {
    errors: Vec<ImportError>,
    total: usize,
}

impl ImportErrors {
    /// Records one problem; past [`MAX_REPORTED_ERRORS`] only the count grows.
    pub fn push(&mut self, line: u64, column: &str, value: &str, reason: impl Into<String>) {
        self.total = self.total.saturating_add(1);
        if self.errors.len() < MAX_REPORTED_ERRORS {
            self.errors.push(ImportError {
                line,
                column: column.to_owned(),
                // A huge cell never becomes a huge report.
                value: crate::id::shown(value),
                reason: reason.into(),
            });
        }
    }

    /// The listed problems, sorted by line then column.
    pub fn errors(&self) -> &[ImportError] {
        &self.errors
    }

    /// How many problems were found, listed or not.
    pub fn total(&self) -> usize {
        self.total
    }

    /// No problem found?
    pub fn is_empty(&self) -> bool {
        self.total == 0
    }

    /// Adds `other`'s problems, listed and counted, to these.
    pub(crate) fn append(&mut self, other: ImportErrors) {
        self.total = self.total.saturating_add(other.total);
        let room = MAX_REPORTED_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(other.errors.into_iter().take(room));
    }

    pub(crate) fn sort(&mut self) {
        self.errors.sort();
    }

    pub(crate) fn into_result<T>(mut self, value: T) -> Result<T, ImportErrors> {
        if self.is_empty() {
            Ok(value)
        } else {
            self.sort();
            Err(self)
        }
    }
}

impl fmt::Display for ImportErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} problem(s) found, nothing imported", self.total)?;
        for e in &self.errors {
            write!(f, "\n  {e}")?;
        }
        let hidden = self.total.saturating_sub(self.errors.len());
        if hidden > 0 {
            write!(f, "\n  ... and {hidden} more")?;
        }
        Ok(())
    }
}

/// The line numbers of a CSV text's records, counted from its bytes: the CSV reader's own
/// counter skips blank lines, so an error would name the wrong line.
#[derive(Debug)]
pub struct LineNumbers<'t> {
    text: &'t str,
    newlines: Vec<usize>,
}

impl<'t> LineNumbers<'t> {
    /// The line ends of `text`.
    pub fn new(text: &'t str) -> LineNumbers<'t> {
        let newlines = memchr::memchr_iter(b'\n', text.as_bytes()).collect();
        LineNumbers { text, newlines }
    }

    /// The line (from 1) of the record the CSV reader places at byte `byte`: a record's
    /// position may be at blank lines before it, which are stepped over.
    pub fn of_record_at(&self, byte: u64) -> u64 {
        let start = usize::try_from(byte).unwrap_or(usize::MAX);
        let skipped = self.text.get(start..).map_or(0, |rest| {
            rest.bytes()
                .take_while(|b| *b == b'\n' || *b == b'\r')
                .count()
        });
        let byte = start.saturating_add(skipped);
        to_line(
            self.newlines
                .partition_point(|n| *n < byte)
                .saturating_add(1),
        )
    }
}

/// The field separator of a CSV file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Delimiter {
    /// `,`: decimals use a point.
    Comma,
    /// `;`: decimals may use a comma, as Nordic spreadsheets write them.
    Semicolon,
}

impl Delimiter {
    /// The separator's byte.
    pub fn byte(self) -> u8 {
        match self {
            Delimiter::Comma => b',',
            Delimiter::Semicolon => b';',
        }
    }

    /// Picks the separator the header line uses most (outside quotes); a tie means `,`: how
    /// every plock import reads a file.
    pub fn detect(text: &str) -> Delimiter {
        let header = text.lines().next().unwrap_or("");
        let (mut commas, mut semicolons, mut quoted) = (0usize, 0usize, false);
        for c in header.chars() {
            match c {
                '"' => quoted = !quoted,
                ',' if !quoted => commas = commas.saturating_add(1),
                ';' if !quoted => semicolons = semicolons.saturating_add(1),
                _ => {}
            }
        }
        if semicolons > commas {
            Delimiter::Semicolon
        } else {
            Delimiter::Comma
        }
    }
}

/// One data row: its line and its cells by column name.
///
/// The cells are one string and where each ends: a file's rows are held while they are
/// checked, and a `String` per cell would cost more than the text itself.
#[derive(Debug, Clone)]
pub(crate) struct Row {
    pub(crate) line: u64,
    text: Box<str>,
    ends: Box<[u32]>,
}

impl Row {
    /// The row of `record`'s cells; `None` past 4 GiB of text.
    fn of(line: u64, record: &csv::StringRecord) -> Option<Row> {
        // The record holds its cells as one text already: copied once, at its size, and the
        // ends made at the record's width, neither reallocated as it grows.
        let mut ends = Vec::with_capacity(record.len());
        let mut end = 0_usize;
        for cell in record {
            end = end.saturating_add(cell.len());
            ends.push(u32::try_from(end).ok()?);
        }
        Some(Row {
            line,
            text: record.as_slice().into(),
            ends: ends.into_boxed_slice(),
        })
    }

    /// Cell `index`.
    fn cell(&self, index: usize) -> Option<&str> {
        let end = usize::try_from(*self.ends.get(index)?).ok()?;
        let start = match index.checked_sub(1) {
            Some(before) => usize::try_from(*self.ends.get(before)?).ok()?,
            None => 0,
        };
        self.text.get(start..end)
    }
}

/// A parsed CSV file: header and rows, with the delimiter it was written with.
#[derive(Debug, Clone)]
pub(crate) struct Table {
    /// Problems with single rows (ragged, unreadable): reported with the field checks.
    pub(crate) problems: ImportErrors,
    pub(crate) delimiter: Delimiter,
    /// Each column's place: hashed, since every cell of every row is asked for by name, and
    /// a tree of the names compares several names a cell.
    columns: HashMap<String, usize, FastState>,
    pub(crate) rows: Vec<Row>,
    /// Rows were left unread past the row limit.
    pub(crate) truncated: bool,
}

impl Table {
    /// Decodes and splits a CSV file. `known` lists the columns the format defines and
    /// `required` those that must be present; anything else in the header is an error. A bad
    /// header or encoding fails at once; bad rows are left out and listed in `problems`.
    pub(crate) fn parse(
        bytes: &[u8],
        known: &[&str],
        required: &[&str],
    ) -> Result<Table, ImportErrors> {
        if bytes.len() > MAX_IMPORT_BYTES {
            let mut errors = ImportErrors::default();
            errors.push(
                0,
                "",
                "",
                format!(
                    "file is {} bytes; the limit is {MAX_IMPORT_BYTES}",
                    bytes.len()
                ),
            );
            return Err(errors);
        }
        let limit = RowLimit {
            left: MAX_IMPORT_ROWS,
            of_file: MAX_IMPORT_ROWS,
        };
        Table::parse_part(bytes, known, required, 0, limit)
    }

    /// [`Table::parse`] of a part of a file of any size: `bytes` are its header and whole
    /// records, each line `shift` lines above where the file has it, and at most `limit.left`
    /// rows are read (the rest refused, and `truncated` set).
    pub(crate) fn parse_part(
        bytes: &[u8],
        known: &[&str],
        required: &[&str],
        shift: u64,
        limit: RowLimit,
    ) -> Result<Table, ImportErrors> {
        let mut errors = ImportErrors::default();
        let bytes = bytes
            .strip_prefix(b"\xEF\xBB\xBF".as_slice())
            .unwrap_or(bytes);
        let text = match std::str::from_utf8(bytes) {
            Ok(text) => text,
            Err(e) => {
                let upto = bytes.get(..e.valid_up_to()).unwrap_or_default();
                let line = upto.iter().filter(|b| **b == b'\n').count();
                errors.push(
                    to_line(line.saturating_add(1)).saturating_add(shift),
                    "",
                    "",
                    "file is not valid UTF-8",
                );
                return Err(errors);
            }
        };
        let delimiter = Delimiter::detect(text);
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter.byte())
            .has_headers(true)
            .flexible(true)
            .from_reader(text.as_bytes());

        let columns = match reader.headers() {
            Ok(header) => header_columns(header.iter(), known, required, Others::Refused)?,
            Err(e) => {
                errors.push(1, "", "", format!("unreadable header: {e}"));
                return Err(errors);
            }
        };
        let width = columns.len();
        let header_width = reader.headers().map(|h| h.len()).unwrap_or(width);

        let lines = Lines {
            numbers: LineNumbers::new(text),
            shift,
        };
        let (rows, truncated) = rows_of(&lines, &mut reader, header_width, limit, &mut errors);
        Ok(Table {
            problems: errors,
            delimiter,
            columns: columns.into_iter().collect(),
            rows,
            truncated,
        })
    }

    /// The trimmed cell of `column` in `row`; `None` when the column is absent or the cell empty.
    pub(crate) fn cell<'a>(&self, row: &'a Row, column: &str) -> Option<&'a str> {
        let index = *self.columns.get(column)?;
        let value = row.cell(index)?.trim();
        (!value.is_empty()).then_some(value)
    }

    /// The place of `column` in this table's rows, for [`Table::cell_at`]: a row checked by
    /// many columns looks each name up once a table, not once a cell.
    pub(crate) fn place(&self, column: &str) -> Option<usize> {
        self.columns.get(column).copied()
    }

    /// [`Table::cell`] of the column at `place`.
    pub(crate) fn cell_at<'a>(&self, row: &'a Row, place: Option<usize>) -> Option<&'a str> {
        let value = row.cell(place?)?.trim();
        (!value.is_empty()).then_some(value)
    }

    /// Parses a decimal cell: a point always, a comma too when the file is `;`-separated.
    pub(crate) fn decimal(&self, text: &str) -> Result<Decimal, String> {
        decimal(self.delimiter, text)
    }
}

/// The line numbers of a part of a file: `shift` lines below the file's.
struct Lines<'t> {
    numbers: LineNumbers<'t>,
    shift: u64,
}

/// The data rows of `reader` over `lines`' text: blank rows skipped; unreadable rows, rows of
/// another width and rows past `limit` listed in `errors` (and then, whether rows were
/// left unread).
fn rows_of(
    lines: &Lines<'_>,
    reader: &mut csv::Reader<&[u8]>,
    header_width: usize,
    limit: RowLimit,
    errors: &mut ImportErrors,
) -> (Vec<Row>, bool) {
    let line_at = |pos: Option<&csv::Position>| {
        pos.map_or(0, |p| {
            lines
                .numbers
                .of_record_at(p.byte())
                .saturating_add(lines.shift)
        })
    };
    let mut rows = Vec::new();
    for record in reader.records() {
        match record {
            Ok(record) => {
                let line = line_at(record.position());
                if record.iter().all(|c| c.trim().is_empty()) {
                    continue;
                }
                if rows.len() >= limit.left {
                    errors.push(
                        line,
                        "",
                        "",
                        format!("more than {} rows; split the file", limit.of_file),
                    );
                    return (rows, true);
                }
                if record.len() != header_width {
                    errors.push(
                        line,
                        "",
                        "",
                        format!(
                            "row has {} fields but the header has {header_width}",
                            record.len()
                        ),
                    );
                    continue;
                }
                match Row::of(line, &record) {
                    Some(row) => rows.push(row),
                    None => errors.push(line, "", "", "row is longer than 4 GiB"),
                }
            }
            Err(e) => {
                let line = line_at(e.position());
                errors.push(line, "", "", format!("unreadable row: {e}"));
            }
        }
    }
    (rows, false)
}

/// The rows a part of a file may still hold, and its file's limit.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RowLimit {
    /// Rows the part may hold.
    pub(crate) left: usize,
    /// The file's limit, as a refusal states it.
    pub(crate) of_file: usize,
}

/// Parses a decimal cell of a file separated by `delimiter`: a point always, a comma too when
/// the file is `;`-separated.
pub(crate) fn decimal(delimiter: Delimiter, text: &str) -> Result<Decimal, String> {
    let normalised;
    let text = if delimiter == Delimiter::Semicolon && text.contains(',') {
        if text.contains('.') || text.matches(',').count() > 1 {
            return Err(
                "not a decimal number (write 1234,50 or 1234.50, no thousands separators)".into(),
            );
        }
        normalised = text.replace(',', ".");
        normalised.as_str()
    } else {
        text
    };
    Decimal::from_str_exact(text).map_err(|_| "not a decimal number".to_owned())
}

/// What a header check does with a column it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Others {
    /// Refuses it: a misspelt optional column would otherwise be dropped without a word.
    Refused,
    /// Leaves it, and a column without a name, out.
    Ignored,
}

/// Checks a header's names (each trimmed and lowercased): every column named, known (unless
/// `others` are ignored), none twice, every `required` one there. Gives each known column's
/// place.
///
/// # Errors
/// Every problem of the header at once, sorted, on line 1.
pub(crate) fn header_columns<'h>(
    names: impl Iterator<Item = &'h str>,
    known: &[&str],
    required: &[&str],
    others: Others,
) -> Result<BTreeMap<String, usize>, ImportErrors> {
    let mut errors = ImportErrors::default();
    let mut columns = BTreeMap::new();
    for (index, name) in names.enumerate() {
        let name = name.trim().to_ascii_lowercase();
        let is_known = known.contains(&name.as_str());
        if !is_known && others == Others::Ignored {
            continue;
        }
        if name.is_empty() {
            errors.push(
                1,
                "",
                "",
                format!("column {} has no name", index.saturating_add(1)),
            );
        } else if !is_known {
            errors.push(
                1,
                &name,
                &name,
                format!("unknown column; expected columns: {}", known.join(", ")),
            );
        } else if columns.insert(name.clone(), index).is_some() {
            errors.push(1, &name, &name, "column appears twice");
        }
    }
    for name in required {
        if !columns.contains_key(*name) {
            errors.push(1, name, "", "required column is missing");
        }
    }
    errors.into_result(columns)
}

fn to_line(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::dec;

    const KNOWN: &[&str] = &["key", "name", "amount"];

    #[test]
    fn bom_and_semicolons_and_decimal_comma() {
        let t = Table::parse(
            "\u{feff}key;name;amount\nk1;Acme;1234,50\n".as_bytes(),
            KNOWN,
            &["key"],
        )
        .unwrap();
        assert_eq!(t.delimiter, Delimiter::Semicolon);
        let row = &t.rows[0];
        assert_eq!(row.line, 2);
        assert_eq!(t.cell(row, "name"), Some("Acme"));
        assert_eq!(t.decimal(t.cell(row, "amount").unwrap()), Ok(dec!(1234.50)));
    }

    #[test]
    fn comma_files_refuse_decimal_comma_cells() {
        let t = Table::parse(b"key,amount\nk1,\"12,5\"\n", KNOWN, &[]).unwrap();
        assert!(t.decimal(t.cell(&t.rows[0], "amount").unwrap()).is_err());
    }

    #[test]
    fn header_problems_are_all_reported() {
        let err = Table::parse(b"key,colour,key\n", KNOWN, &["name"]).unwrap_err();
        let reasons: Vec<String> = err.errors().iter().map(ToString::to_string).collect();
        assert_eq!(
            reasons,
            vec![
                "line 1, column colour: unknown column; expected columns: key, name, amount (value \"colour\")",
                "line 1, column key: column appears twice (value \"key\")",
                "line 1, column name: required column is missing",
            ]
        );
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let err = Table::parse(b"key\nok\n\xff\n", KNOWN, &[]).unwrap_err();
        assert_eq!(err.errors()[0].line, 3);
    }

    #[test]
    fn ragged_rows_and_blank_lines() {
        let table = Table::parse(b"key,name\nk1\n\nk2,B,extra\n", KNOWN, &[]).unwrap();
        assert!(table.rows.is_empty());
        assert_eq!(table.problems.total(), 2);
        assert_eq!(table.problems.errors()[1].line, 4);
    }

    #[test]
    fn errors_past_the_limit_are_counted_not_listed() {
        let mut errors = ImportErrors::default();
        for i in 0..=MAX_REPORTED_ERRORS {
            errors.push(i as u64, "c", "v", "bad");
        }
        assert_eq!(errors.errors().len(), MAX_REPORTED_ERRORS);
        assert_eq!(errors.total(), MAX_REPORTED_ERRORS + 1);
        assert!(errors.to_string().ends_with("... and 1 more"));
    }
}
