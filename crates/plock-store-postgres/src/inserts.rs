//! New account rows, tags and external ids of a batch, written with one statement per table
//! (`INSERT … SELECT … FROM unnest(…)`) rather than one per row: an import of a hundred
//! thousand accounts is three statements.

use plock_store_sql::SqlValue;
use plock_store_sql::plan::AccountWrites;
use postgres::Transaction;

use crate::bind::Bind;
use crate::codec::{ACCOUNT_COLUMNS, Param, names};
use crate::failure::{Db, Failure};

/// Inserts the new accounts, tags and external ids of `writes`.
pub(crate) fn write(tx: &mut Transaction<'_>, writes: &AccountWrites) -> Result<(), Failure> {
    if !writes.inserted.is_empty() {
        write_accounts(tx, &writes.inserted)?;
    }
    let tags = &writes.tags_added;
    if !tags.is_empty() {
        let column = |f: fn(&plock_store_sql::plan::TagRow) -> &str| {
            tags.iter().map(f).collect::<Vec<&str>>()
        };
        tx.execute(
            "INSERT INTO account_tags (owner, account, tag, folded) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])",
            &[
                &column(|t| &t.owner),
                &column(|t| &t.account),
                &column(|t| &t.tag),
                &column(|t| &t.folded),
            ],
        )
        .db("writing tags")?;
    }
    let ids = &writes.external_ids_added;
    if !ids.is_empty() {
        let column = |f: fn(&plock_store_sql::plan::ExternalIdRow) -> &str| {
            ids.iter().map(f).collect::<Vec<&str>>()
        };
        tx.execute(
            "INSERT INTO external_ids (owner, account, system, external_id) \
             SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])",
            &[
                &column(|e| &e.owner),
                &column(|e| &e.account),
                &column(|e| &e.system),
                &column(|e| &e.external_id),
            ],
        )
        .db("writing external ids")?;
    }
    Ok(())
}

/// The new account rows (the values of [`ACCOUNT_COLUMNS`]), one array per column.
fn write_accounts(tx: &mut Transaction<'_>, rows: &[Vec<SqlValue>]) -> Result<(), Failure> {
    let columns = names(ACCOUNT_COLUMNS);
    let arrays: Vec<Vec<Bind<'_>>> = (0..columns.len())
        .map(|c| {
            rows.iter()
                .map(|row| Bind(row.get(c).unwrap_or(&SqlValue::Null)))
                .collect()
        })
        .collect();
    let unnest: Vec<String> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let ty = match *c {
                "group_billing" => "boolean",
                "payment_terms_days" => "integer",
                _ => "text",
            };
            format!("${}::{ty}[]", i + 1)
        })
        .collect();
    let selected = ACCOUNT_COLUMNS.replace("address_lines", "address_lines::jsonb");
    let params: Vec<Param<'_>> = arrays.iter().map(|a| a as Param<'_>).collect();
    tx.execute(
        &format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}) SELECT {selected} FROM unnest({}) \
             AS r ({ACCOUNT_COLUMNS})",
            unnest.join(", ")
        ),
        &params,
    )
    .db("writing accounts")?;
    Ok(())
}
