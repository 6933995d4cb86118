//! The layout of a usage CSV from another system: which columns hold the account key, the
//! metric, the time, the quantity and the record id, how times are written, and the separator.

use super::table::{Delimiter, ImportErrors, Others, header_columns};
use super::time_format::TimeFormat;
use super::usage::{RowRules, USAGE_COLUMNS};

/// Where a usage CSV keeps each field of a usage record, and how it writes them.
///
/// [`UsageLayout::default()`] is plock's own format: columns `account_key`, `metric`,
/// `timestamp` ([`TimeFormat::Rfc3339`]), `quantity` and an optional `record_id`, separated
/// by `,` (or by `;` when the header holds more of them, as every plock import reads it; a
/// `;` file may write decimal commas). It refuses columns it does not know, as plock's
/// importers do: a misspelt `record_id` would otherwise be dropped without a word.
///
/// Naming a column with any of the setters describes another system's file, whose other
/// columns are left out. Column names are matched without regard to case or surrounding
/// spaces.
///
/// ```
/// use plock_core::import::{TimeFormat, UsageLayout};
///
/// // account_id,metric_id,ts_ms,quantity
/// let layout = UsageLayout::default()
///     .account("account_id")
///     .metric("metric_id")
///     .timestamp("ts_ms", TimeFormat::EpochMillis)
///     .quantity("quantity");
/// # let _ = layout;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageLayout {
    /// Account key, metric, timestamp and quantity columns (trimmed, lowercase).
    required: [String; 4],
    record_id: Option<String>,
    time: TimeFormat,
    delimiter: Option<Delimiter>,
    others: Others,
}

impl Default for UsageLayout {
    /// plock's own format.
    fn default() -> UsageLayout {
        let [account, metric, timestamp, quantity, record_id] = USAGE_COLUMNS.map(str::to_owned);
        UsageLayout {
            required: [account, metric, timestamp, quantity],
            record_id: Some(record_id),
            time: TimeFormat::Rfc3339,
            delimiter: None,
            others: Others::Refused,
        }
    }
}

/// A column name as it is matched: trimmed, lowercase.
fn column_name(name: &str) -> String {
    name.trim().to_ascii_lowercase()
}

impl UsageLayout {
    fn named(mut self, field: usize, name: &str) -> UsageLayout {
        if let Some(slot) = self.required.get_mut(field) {
            *slot = column_name(name);
        }
        self.others = Others::Ignored;
        self
    }

    /// The column of account keys (required).
    #[must_use]
    pub fn account(self, column: &str) -> UsageLayout {
        self.named(0, column)
    }

    /// The column of metrics (required).
    #[must_use]
    pub fn metric(self, column: &str) -> UsageLayout {
        self.named(1, column)
    }

    /// The column of timestamps (required), and how it writes them.
    #[must_use]
    pub fn timestamp(mut self, column: &str, format: TimeFormat) -> UsageLayout {
        self.time = format;
        self.named(2, column)
    }

    /// The column of quantities (required).
    #[must_use]
    pub fn quantity(self, column: &str) -> UsageLayout {
        self.named(3, column)
    }

    /// The column of record ids, if the file has it: records of one account and metric
    /// sharing a record id count once.
    #[must_use]
    pub fn record_id(mut self, column: &str) -> UsageLayout {
        self.record_id = Some(column_name(column));
        self.others = Others::Ignored;
        self
    }

    /// No column of record ids: every row is a record of its own.
    #[must_use]
    pub fn without_record_id(mut self) -> UsageLayout {
        self.record_id = None;
        self.others = Others::Ignored;
        self
    }

    /// The field separator, instead of the one the header uses most.
    #[must_use]
    pub fn delimiter(mut self, delimiter: Delimiter) -> UsageLayout {
        self.delimiter = Some(delimiter);
        self
    }

    /// The layout a fuzz input's first byte chooses: bits 0-1 the time format, 2-3 the
    /// separator (the header's, `,` or `;`), bit 4 short column names (`a`, `m`, `t`, `q`,
    /// `id`, easy for a fuzzer to find) instead of plock's, bit 5 no record id column.
    #[cfg(any(test, feature = "fuzz-support"))]
    pub(crate) fn fuzzed(choice: u8) -> UsageLayout {
        let formats = [
            TimeFormat::Rfc3339,
            TimeFormat::Date,
            TimeFormat::EpochSeconds,
            TimeFormat::EpochMillis,
        ];
        let time = formats
            .get(usize::from(choice & 3))
            .copied()
            .unwrap_or_default();
        let short = choice & 0x10 != 0;
        let mut layout = match short {
            false => UsageLayout::default(),
            true => UsageLayout::default()
                .account("a")
                .metric("m")
                .quantity("q")
                .record_id("id"),
        };
        if time != TimeFormat::Rfc3339 || short {
            layout = layout.timestamp(if short { "t" } else { "timestamp" }, time);
        }
        layout = match (choice >> 2) & 3 {
            1 => layout.delimiter(Delimiter::Comma),
            2 => layout.delimiter(Delimiter::Semicolon),
            _ => layout,
        };
        match choice & 0x20 {
            0 => layout,
            _ => layout.without_record_id(),
        }
    }

    /// The separator of a file whose first line is `first_line`.
    pub(super) fn delimiter_of(&self, first_line: &str) -> Delimiter {
        self.delimiter
            .unwrap_or_else(|| Delimiter::detect(first_line))
    }

    /// The names of the five fields' columns (empty for no record id).
    fn names(&self) -> [&str; 5] {
        let [a, m, t, q] = &self.required;
        [a, m, t, q, self.record_id.as_deref().unwrap_or("")]
    }

    /// The fields of a file with `header` separated by `delimiter`.
    ///
    /// # Errors
    /// Every problem of the header (or of the layout) at once, on line 1.
    pub(super) fn columns<'h>(
        &self,
        header: impl Iterator<Item = &'h str>,
        delimiter: Delimiter,
    ) -> Result<Columns, ImportErrors> {
        let names = self.names();
        let mut errors = ImportErrors::default();
        for (i, name) in names.iter().enumerate() {
            let field = USAGE_COLUMNS.get(i).copied().unwrap_or("");
            if name.is_empty() && i < 4 {
                errors.push(1, field, "", "the layout names no column for it");
            } else if !name.is_empty() && names.get(..i).is_some_and(|n| n.contains(name)) {
                errors.push(1, name, "", "the layout names this column for two fields");
            }
        }
        if !errors.is_empty() {
            return errors.into_result(Columns::default());
        }
        let known: Vec<&str> = names.iter().copied().filter(|n| !n.is_empty()).collect();
        let required = names.get(..4).unwrap_or_default();
        let header: Vec<&str> = header.collect();
        let places = header_columns(header.iter().copied(), &known, required, self.others)?;
        let mut fields = vec![Field::Ignored; header.len()];
        for (name, field) in names.iter().zip(Field::ALL) {
            if let Some(slot) = places.get(*name).and_then(|i| fields.get_mut(*i)) {
                *slot = field;
            }
        }
        Ok(Columns {
            fields,
            rules: RowRules {
                names: names.map(str::to_owned),
                time: self.time,
                delimiter,
            },
        })
    }
}

/// What a column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
    Account,
    Metric,
    Time,
    Quantity,
    RecordId,
    /// A column the layout does not read.
    Ignored,
}

impl Field {
    /// The fields a layout names, in the order of [`USAGE_COLUMNS`].
    const ALL: [Field; 5] = [
        Field::Account,
        Field::Metric,
        Field::Time,
        Field::Quantity,
        Field::RecordId,
    ];

    /// The field's place in [`USAGE_COLUMNS`] order; `None` for an ignored column.
    pub(super) fn index(self) -> Option<usize> {
        Field::ALL.iter().position(|f| *f == self)
    }
}

/// A file's columns as a layout reads them: each column's field, and the rules its cells are
/// read by.
pub(super) struct Columns {
    pub(super) fields: Vec<Field>,
    pub(super) rules: RowRules,
}

impl Default for Columns {
    fn default() -> Columns {
        Columns {
            fields: Vec::new(),
            rules: RowRules::plock(Delimiter::Comma),
        }
    }
}
