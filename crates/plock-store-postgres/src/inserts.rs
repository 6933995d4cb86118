//! New account rows, tags and external ids of a batch, written with one statement per table
//! (`INSERT … SELECT … FROM unnest(…)`) rather than one per row: an import of a hundred
//! thousand accounts is three statements.

use crate::codec::{ACCOUNT_COLUMNS, AccountRow};
use crate::failure::{Db, Failure};
use postgres::Transaction;

/// The rows waiting to be inserted.
#[derive(Default)]
pub(crate) struct Inserts {
    accounts: Vec<AccountRow>,
    /// `(owner, account, tag, folded)`.
    tags: [Vec<String>; 4],
    /// `(owner, account, system, external_id)`.
    external_ids: [Vec<String>; 4],
}

fn push(columns: &mut [Vec<String>; 4], values: [&str; 4]) {
    for (column, value) in columns.iter_mut().zip(values) {
        column.push(value.to_owned());
    }
}

impl Inserts {
    pub(crate) fn account(&mut self, row: AccountRow) {
        self.accounts.push(row);
    }

    pub(crate) fn tag(&mut self, owner: &str, account: &str, tag: &str) {
        push(&mut self.tags, [owner, account, tag, &tag.to_lowercase()]);
    }

    pub(crate) fn external_id(&mut self, owner: &str, account: &str, system: &str, id: &str) {
        push(&mut self.external_ids, [owner, account, system, id]);
    }

    /// Inserts everything gathered.
    pub(crate) fn write(self, tx: &mut Transaction<'_>) -> Result<(), Failure> {
        if !self.accounts.is_empty() {
            write_accounts(tx, &self.accounts)?;
        }
        let [owner, account, tag, folded] = &self.tags;
        if !owner.is_empty() {
            tx.execute(
                "INSERT INTO account_tags (owner, account, tag, folded) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])",
                &[owner, account, tag, folded],
            )
            .db("writing tags")?;
        }
        let [owner, account, system, id] = &self.external_ids;
        if !owner.is_empty() {
            tx.execute(
                "INSERT INTO external_ids (owner, account, system, external_id) \
                 SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[])",
                &[owner, account, system, id],
            )
            .db("writing external ids")?;
        }
        Ok(())
    }
}

fn write_accounts(tx: &mut Transaction<'_>, rows: &[AccountRow]) -> Result<(), Failure> {
    let text = |f: fn(&AccountRow) -> &String| rows.iter().map(f).collect::<Vec<&String>>();
    let optional = |f: fn(&AccountRow) -> &Option<String>| {
        rows.iter().map(f).collect::<Vec<&Option<String>>>()
    };
    let group_billing: Vec<bool> = rows.iter().map(|r| r.group_billing).collect();
    let payment_terms: Vec<Option<i32>> = rows.iter().map(|r| r.payment_terms_days).collect();
    let selected = ACCOUNT_COLUMNS.replace("address_lines", "address_lines::jsonb");
    tx.execute(
        &format!(
            "INSERT INTO accounts ({ACCOUNT_COLUMNS}) SELECT {selected} FROM unnest(\
             $1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
             $7::text[], $8::boolean[], $9::text[], $10::text[], $11::text[], $12::text[], \
             $13::text[], $14::text[], $15::integer[]) AS r ({ACCOUNT_COLUMNS})"
        ),
        &[
            &text(|r| &r.id),
            &text(|r| &r.owner),
            &text(|r| &r.key),
            &text(|r| &r.name),
            &text(|r| &r.state),
            &text(|r| &r.currency),
            &optional(|r| &r.master),
            &group_billing,
            &text(|r| &r.created_on),
            &optional(|r| &r.email),
            &optional(|r| &r.phone),
            &optional(|r| &r.address_lines),
            &optional(|r| &r.country),
            &optional(|r| &r.organisation_number),
            &payment_terms,
        ],
    )
    .db("writing accounts")?;
    Ok(())
}
