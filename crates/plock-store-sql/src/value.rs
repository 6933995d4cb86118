//! A value bound to a statement, whatever the driver.

use rust_decimal::Decimal;

/// One column's value, as the shared layer hands it to a store's driver. Each store binds it
/// in its own types: SQLite writes a [`SqlValue::Decimal`] as the decimal's text (scale
/// kept), PostgreSQL as `numeric`; an [`SqlValue::Int`] goes to whichever integer width the
/// column has.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SqlValue {
    /// `NULL`.
    Null,
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// Text.
    Text(String),
    /// An exact decimal.
    Decimal(Decimal),
}

impl From<String> for SqlValue {
    fn from(text: String) -> SqlValue {
        SqlValue::Text(text)
    }
}

impl From<&str> for SqlValue {
    fn from(text: &str) -> SqlValue {
        SqlValue::Text(text.to_owned())
    }
}

impl<T: Into<SqlValue>> From<Option<T>> for SqlValue {
    fn from(value: Option<T>) -> SqlValue {
        value.map_or(SqlValue::Null, Into::into)
    }
}

impl From<bool> for SqlValue {
    fn from(value: bool) -> SqlValue {
        SqlValue::Bool(value)
    }
}

impl From<i64> for SqlValue {
    fn from(value: i64) -> SqlValue {
        SqlValue::Int(value)
    }
}

impl From<Decimal> for SqlValue {
    fn from(value: Decimal) -> SqlValue {
        SqlValue::Decimal(value)
    }
}
