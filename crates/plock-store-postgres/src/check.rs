//! `check`: everything the database holds, read back through the codecs that validate every
//! value, and the rules the rows share checked, from one committed state.

use std::collections::HashMap;

use plock_core::store::StoreError;
use postgres::Transaction;

use crate::codec::{Context, INVOICE_SELECT, backend, invoice, owner_in};
use crate::queries::next_invoice_number;
use crate::store::PostgresStore;

/// Rows whose owner column disagrees with their account's: each query returns the first
/// offending row's table and id.
const OWNER_CHECKS: [(&str, &str); 6] = [
    (
        "a tag",
        "SELECT t.account FROM account_tags t JOIN accounts a ON a.id = t.account \
         WHERE t.owner <> a.owner LIMIT 1",
    ),
    (
        "an external id",
        "SELECT e.account FROM external_ids e JOIN accounts a ON a.id = e.account \
         WHERE e.owner <> a.owner LIMIT 1",
    ),
    (
        "a subscription",
        "SELECT s.id FROM subscriptions s JOIN accounts a ON a.id = s.account \
         WHERE s.owner <> a.owner LIMIT 1",
    ),
    (
        "usage",
        "SELECT u.account_key FROM usage u LEFT JOIN accounts a ON a.key = u.account_key \
         WHERE a.id IS NULL OR u.owner <> a.owner LIMIT 1",
    ),
    (
        "usage blocks",
        "SELECT u.account_key FROM usage_blocks u LEFT JOIN accounts a ON a.key = u.account_key \
         WHERE a.id IS NULL OR u.owner <> a.owner LIMIT 1",
    ),
    (
        "billed usage",
        "SELECT b.subscription FROM billed_usage b \
         LEFT JOIN subscriptions s ON s.id = b.subscription \
         WHERE s.id IS NULL OR b.owner <> s.owner LIMIT 1",
    ),
];

impl PostgresStore {
    /// Reads every account, subscription, metric, usage record and invoice back, each value
    /// validated as it is decoded; checks the account book's rules, every invoice's total
    /// against its lines, that every row is filed under its account's invoice owner, that
    /// usage names existing accounts, and that the next invoice number is past every invoice.
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the first problem found.
    pub fn check(&self) -> Result<(), StoreError> {
        let mut client = self.client()?;
        let mut tx = client
            .build_transaction()
            .isolation_level(postgres::IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .context("starting a check")?;
        let (book, subscriptions, _metrics) = crate::store::read_company(&mut tx)?;
        book.check_invariants()
            .map_err(|e| backend(format!("the account book: {e}")))?;
        for subscription in &subscriptions {
            if book.get(subscription.account()).is_none() {
                return Err(backend(format!(
                    "subscription {} names account {}, which does not exist",
                    subscription.id(),
                    subscription.account()
                )));
            }
        }
        check_owners(&mut tx, &book)?;
        crate::usage_read::usage_table(&mut tx, &book)?;
        check_invoices(&mut tx)?;
        tx.commit().context("ending a check")
    }
}

/// Every account's stored owner is the one its group says, and so is every row filed under it.
fn check_owners(
    tx: &mut Transaction<'_>,
    book: &plock_core::AccountBook,
) -> Result<(), StoreError> {
    let stored: HashMap<String, String> = tx
        .query("SELECT id, owner FROM accounts", &[])
        .context("reading account owners")?
        .iter()
        .map(|row| Ok((row.try_get(0)?, row.try_get(1)?)))
        .collect::<Result<_, postgres::Error>>()
        .context("reading account owners")?;
    for account in book.iter() {
        let owner = owner_in(book, account);
        if stored.get(account.id().as_str()) != Some(&owner.to_string()) {
            return Err(backend(format!(
                "account {} is filed under owner {:?}, its invoice owner is {owner}",
                account.id(),
                stored.get(account.id().as_str())
            )));
        }
    }
    for (what, sql) in OWNER_CHECKS {
        if let Some(row) = tx.query_opt(sql, &[]).context("checking owners")? {
            let id: String = row.try_get(0).context("checking owners")?;
            return Err(backend(format!(
                "{what} of {id:?} is filed under another owner than its account's, or names \
                 no account"
            )));
        }
    }
    Ok(())
}

/// Every invoice decodes and adds up, and the next number is past them all.
fn check_invoices(tx: &mut Transaction<'_>) -> Result<(), StoreError> {
    let rows = tx
        .query(
            &format!("SELECT {INVOICE_SELECT} FROM invoices ORDER BY number"),
            &[],
        )
        .context("reading invoices")?;
    let mut last = 0;
    for row in &rows {
        last = invoice(row)?.number();
    }
    let next = next_invoice_number(tx, false)?;
    if !rows.is_empty() && next <= last {
        return Err(backend(format!(
            "the next invoice number {next} is not past the last invoice, {last}"
        )));
    }
    Ok(())
}
