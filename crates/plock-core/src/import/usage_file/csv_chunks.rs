//! A usage file read record by record with the CSV reader, a chunk of rows at a time: for the files whose lines
//! are not plain (quoted cells, which may hold line ends; a carriage return inside a line),
//! from the file's start or from the chunk where the first such line is.
//!
//! Each chunk is written out as CSV behind the file's header and checked with core's own
//! usage rules ([`parse_usage`](crate::import::parse_usage)), so a chunk's problems are the ones the
//! whole file would show, at the file's lines.

use std::io::{BufRead, BufReader, Read};

use crate::book::AccountBook;
use crate::import::{Delimiter, ImportErrors, UsageBlock};

/// The usage file as chunks of checked records.
pub(crate) struct CsvChunks<R> {
    reader: csv::Reader<R>,
    header: csv::ByteRecord,
    delimiter: u8,
    /// The file's line of the reader's first line.
    first_line: u64,
    /// Rows a chunk holds.
    chunk_rows: usize,
    done: bool,
}

impl CsvChunks<Box<dyn Read + Send>> {
    /// The chunks of a whole file, its header first.
    ///
    /// # Errors
    /// The input's failure on its first line.
    pub(crate) fn whole(
        input: Box<dyn Read + Send>,
        chunk_rows: usize,
    ) -> std::io::Result<CsvChunks<Box<dyn Read + Send>>> {
        let mut input = BufReader::new(input);
        let mut first = Vec::new();
        input.read_until(b'\n', &mut first)?;
        let delimiter = Delimiter::detect(&String::from_utf8_lossy(&first)).byte();
        let chained: Box<dyn Read + Send> = Box::new(std::io::Cursor::new(first).chain(input));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(chained);
        let header = reader.byte_headers().cloned().unwrap_or_default();
        Ok(CsvChunks::with(reader, header, delimiter, 1, chunk_rows))
    }
}

impl<R: Read> CsvChunks<R> {
    /// The chunks of the rows of `input`, which starts at a chunk's first row on line
    /// `first_line` of a file whose header line is `header` (plain: no quote).
    pub(crate) fn resume(
        input: R,
        header: &[u8],
        delimiter: u8,
        (first_line, chunk_rows): (u64, usize),
    ) -> CsvChunks<R> {
        let reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(false)
            .from_reader(input);
        let header = csv::ByteRecord::from(header.split(|b| *b == delimiter).collect::<Vec<_>>());
        CsvChunks::with(reader, header, delimiter, first_line, chunk_rows)
    }

    fn with(
        reader: csv::Reader<R>,
        header: csv::ByteRecord,
        delimiter: u8,
        first_line: u64,
        chunk_rows: usize,
    ) -> Self {
        CsvChunks {
            reader,
            header,
            delimiter,
            first_line,
            chunk_rows: chunk_rows.max(1),
            done: false,
        }
    }

    /// The file's line of the reader's line `line`.
    fn file_line(&self, line: u64) -> u64 {
        line.saturating_add(self.first_line).saturating_sub(1)
    }

    /// The next chunk's records (none once a problem was found: `errors` holds every problem
    /// found so far), or `None` at the end; `rows` counts the rows read.
    pub(crate) fn next_chunk(
        &mut self,
        book: &AccountBook,
        errors: &mut ImportErrors,
        rows: &mut u64,
    ) -> Option<UsageBlock> {
        if self.done {
            return None;
        }
        let mut writer = csv::WriterBuilder::new()
            .delimiter(self.delimiter)
            .flexible(true)
            .from_writer(Vec::new());
        // Where each row starts in the chunk's text and in the file: a quoted cell may hold
        // line ends, so a row may span lines in both.
        let mut starts: Vec<(u64, u64)> = Vec::new();
        let mut chunk_line: u64 = 2;
        let mut record = csv::ByteRecord::new();
        let mut failed = writer.write_byte_record(&self.header).is_err();
        while starts.len() < self.chunk_rows && !failed {
            match self.reader.read_byte_record(&mut record) {
                Ok(true) => {
                    let file_line =
                        self.file_line(record.position().map_or(0, csv::Position::line));
                    starts.push((chunk_line, file_line));
                    let breaks = record.iter().flatten().filter(|b| **b == b'\n').count();
                    chunk_line = chunk_line
                        .saturating_add(1)
                        .saturating_add(u64::try_from(breaks).unwrap_or(u64::MAX));
                    failed = writer.write_byte_record(&record).is_err();
                }
                Ok(false) => {
                    self.done = true;
                    break;
                }
                Err(e) => {
                    let line = self.file_line(e.position().map_or(0, csv::Position::line));
                    errors.push(line, "", "", format!("not a CSV row: {e}"));
                    self.done = true;
                    break;
                }
            }
        }
        if failed {
            errors.push(0, "", "", "the rows could not be buffered");
            self.done = true;
        }
        if starts.is_empty() && *rows > 0 {
            return None;
        }
        *rows = rows.saturating_add(u64::try_from(starts.len()).unwrap_or(u64::MAX));
        let text = writer.into_inner().unwrap_or_default();
        match crate::import::parse_usage(&text, book) {
            Ok(records) if errors.is_empty() => Some(UsageBlock::from_records(&records)),
            Ok(_) => Some(UsageBlock::default()),
            Err(found) => {
                self.take(&found, &starts, errors);
                Some(UsageBlock::default())
            }
        }
    }

    /// Adds a chunk's problems at the file's lines; a problem of the header ends the reading.
    fn take(&mut self, found: &ImportErrors, starts: &[(u64, u64)], errors: &mut ImportErrors) {
        for e in found.errors() {
            let line = if e.line <= 1 {
                self.done = true;
                e.line
            } else {
                let i = starts.partition_point(|(chunk, _)| *chunk <= e.line);
                match i.checked_sub(1).and_then(|i| starts.get(i)) {
                    Some((chunk, file)) => file.saturating_add(e.line.saturating_sub(*chunk)),
                    None => e.line,
                }
            };
            errors.push(line, &e.column, &e.value, e.reason.clone());
        }
        // Past the listed ones, only the count grows.
        for _ in found.errors().len()..found.total() {
            errors.push(0, "", "", "");
        }
    }
}
