//! The shared layer's values bound as PostgreSQL parameters.

use std::error::Error;

use bytes::BytesMut;
use plock_store_sql::SqlValue;
use postgres::types::{IsNull, ToSql, Type, to_sql_checked};
use rust_decimal::Decimal;

/// A [`SqlValue`] as a parameter: an integer goes to the column's width (checked), a decimal
/// to `numeric` with its scale.
#[derive(Debug)]
pub(crate) struct Bind<'a>(pub &'a SqlValue);

impl ToSql for Bind<'_> {
    fn to_sql(
        &self,
        ty: &Type,
        out: &mut BytesMut,
    ) -> Result<IsNull, Box<dyn Error + Sync + Send>> {
        match self.0 {
            SqlValue::Null => Ok(IsNull::Yes),
            SqlValue::Bool(b) => b.to_sql(ty, out),
            SqlValue::Int(i) if *ty == Type::INT2 => i16::try_from(*i)?.to_sql(ty, out),
            SqlValue::Int(i) if *ty == Type::INT4 => i32::try_from(*i)?.to_sql(ty, out),
            SqlValue::Int(i) => i.to_sql(ty, out),
            SqlValue::Text(s) => s.as_str().to_sql(ty, out),
            SqlValue::Decimal(d) => d.to_sql(ty, out),
        }
    }

    fn accepts(ty: &Type) -> bool {
        <&str as ToSql>::accepts(ty)
            || <bool as ToSql>::accepts(ty)
            || <i16 as ToSql>::accepts(ty)
            || <i32 as ToSql>::accepts(ty)
            || <i64 as ToSql>::accepts(ty)
            || <Decimal as ToSql>::accepts(ty)
    }

    to_sql_checked!();
}

/// Values as a statement's parameters.
pub(crate) fn binds(values: &[SqlValue]) -> Vec<Bind<'_>> {
    values.iter().map(Bind).collect()
}
