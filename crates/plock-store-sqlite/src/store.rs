//! The store: a connection, its settings, and the reads.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use plock_core::account::{ExternalId, ExternalSystem, TagFilter};
use plock_core::period::Period;
use plock_core::store::{
    AccountQuery, Batch, Change, CompanySnapshot, InvoiceQuery, Page, StoreError, SubscriptionQuery,
};
use plock_core::{
    Account, AccountBook, AccountId, AccountKey, Invoice, Metric, Store, Subscription,
    SubscriptionId, UsageRecord, UsageTable,
};
use plock_store_sql::codec::{account, metric, sql_number, text, unix_day};
use plock_store_sql::read::{TagTest, page, page_probe, tag_parts};
use plock_store_sql::sql::by_external_id;
use rusqlite::types::Value as SqlValue;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};

use crate::book_text::BookText;
use crate::codec::{
    ACCOUNT_SELECT, Context, INVOICE_SELECT, USAGE_SELECT, account_value, backend, invoice,
    json_list, question, usage_record,
};
use crate::schema;

/// How long a connection waits for another one's write lock before giving up with
/// [`StoreError::Backend`] ("database is locked"): a second writer waits rather than fails.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// The page size of a new database, in bytes. Usage blocks of about 700 KB are most of the
/// data: with SQLite's default 4 KiB a block is a chain of 180 overflow pages, each its own
/// write to the log and again to the database, and the system calls were a third of a
/// usage import's processor time. A one-account write changes a few pages, 64 KiB each.
const PAGE_SIZE: i64 = 65_536;

/// A company's data in one SQLite database. See the crate documentation for the schema.
///
/// The connection runs with:
/// - `journal_mode=WAL`: readers on other connections read the last committed state while a
///   batch is being written, and are never blocked by it;
/// - `synchronous=FULL`: every committed batch is on disk before [`Store::apply`] returns,
///   power loss included. With `NORMAL` a power loss may undo the last commits; a recorded
///   billing run undone after its invoices were sent would bill its days again. A batch is
///   one transaction however many changes it holds, so the cost is one sync per batch;
/// - `foreign_keys=ON` (checked at commit), and a busy timeout of [`BUSY_TIMEOUT`];
/// - pages of 64 KiB in a database it creates.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: Option<PathBuf>,
}

impl SqliteStore {
    /// Opens an existing database, migrating it to the current schema.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file is missing or unreadable, is not a plock
    /// database, or was made by a newer plock.
    pub fn open(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref();
        crate::files::refuse_planted_links(path)?;
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .context(&format!("opening {}", path.display()))?;
        SqliteStore::set_up(conn, Some(path.to_path_buf()))
    }

    /// Creates a new database at `path`; an existing file is refused, never overwritten.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the file exists or cannot be created.
    pub fn create(path: impl AsRef<Path>) -> Result<SqliteStore, StoreError> {
        let path = path.as_ref();
        // Claiming the name first makes the refusal race-free; SQLite takes an empty file as
        // an empty database.
        crate::files::create_private(path).context(&format!("creating {}", path.display()))?;
        SqliteStore::open(path).inspect_err(|_| {
            // The file is ours and holds nothing yet: leave no half-made database behind.
            // The store's error is the one worth reporting, so a failed removal is not.
            let _ = std::fs::remove_file(path);
        })
    }

    /// A new database in memory, gone when the store is dropped: for tests.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when SQLite fails.
    pub fn in_memory() -> Result<SqliteStore, StoreError> {
        let conn = Connection::open_in_memory().context("opening a database in memory")?;
        SqliteStore::set_up(conn, None)
    }

    /// The database file, `None` in memory.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The schema version of the database (after opening: [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::user_version(&self.conn)
    }

    /// Checks the database: SQLite's own integrity check, the foreign keys, and every
    /// stored value read back and validated (the account book's rules, each subscription,
    /// usage record and invoice, invoice totals against their lines).
    ///
    /// # Errors
    /// [`StoreError::Backend`] naming the first problem found.
    pub fn check(&self) -> Result<(), StoreError> {
        let tx = self.read()?;
        let integrity: String = tx
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .context("checking integrity")?;
        if integrity != "ok" {
            return Err(backend(format!("integrity check failed: {integrity}")));
        }
        let broken: Option<String> = tx
            .query_row("PRAGMA foreign_key_check", [], |row| row.get(0))
            .optional()
            .context("checking foreign keys")?;
        if let Some(table) = broken {
            return Err(backend(format!("a row of {table} names a missing row")));
        }
        crate::subscription_watermarks::check(&tx)?;
        drop(tx);
        self.company()?;
        self.list_all_invoices()?;
        Ok(())
    }

    fn set_up(mut conn: Connection, path: Option<PathBuf>) -> Result<SqliteStore, StoreError> {
        conn.busy_timeout(BUSY_TIMEOUT)
            .context("setting the busy timeout")?;
        // Refuse a newer or foreign database before changing anything in it.
        let version = schema::user_version(&conn)?;
        schema::check(&conn, version)?;
        conn.pragma_update(None, "foreign_keys", true)
            .context("enabling foreign keys")?;
        // Only a new, empty database takes it (before WAL is set); an existing one keeps its
        // pages.
        conn.pragma_update(None, "page_size", PAGE_SIZE)
            .context("setting the page size")?;
        let mode: String = conn
            .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
            .context("switching to WAL")?;
        if path.is_some() && !mode.eq_ignore_ascii_case("wal") {
            return Err(backend(format!(
                "the database cannot use write-ahead logging (journal mode {mode})"
            )));
        }
        conn.pragma_update(None, "synchronous", "FULL")
            .context("setting synchronous=FULL")?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStore { conn, path })
    }

    /// A read transaction: every statement in it sees one committed state.
    pub(crate) fn read(&self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        self.conn.unchecked_transaction().context("starting a read")
    }

    /// The connection, for the crate's other modules.
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// The connection, for the crate's other modules.
    pub(crate) fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The accounts and dismissed keys, as the account book, read in `tx`.
    pub(crate) fn book_in(&self, tx: &Connection) -> Result<AccountBook, StoreError> {
        let (accounts, dismissed) = self.book_text_in(tx)?;
        accounts.finish(&dismissed)
    }

    /// The accounts' text and the dismissed keys, read in `tx`: the account book once
    /// [`BookText::finish`] reads them.
    pub(crate) fn book_text_in(
        &self,
        tx: &Connection,
    ) -> Result<(BookText, Vec<String>), StoreError> {
        let mut stmt = tx
            .prepare_cached(&format!(
                "SELECT {ACCOUNT_SELECT} FROM accounts a ORDER BY a.id"
            ))
            .context("reading accounts")?;
        let mut rows = stmt.query([]).context("reading accounts")?;
        let mut accounts = BookText::new();
        while let Some(row) = rows.next().context("reading accounts")? {
            accounts.push(row)?;
        }
        drop(rows);
        drop(stmt);
        let dismissed = tx
            .prepare_cached("SELECT key FROM dismissed_keys ORDER BY key")
            .and_then(|mut stmt| {
                stmt.query_map([], |row| row.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .context("reading dismissed keys")?;
        Ok((accounts, dismissed))
    }

    /// Everything but usage, read in `tx`: the snapshot's `usage` is empty.
    pub(crate) fn company_in(&self, tx: &Connection) -> Result<CompanySnapshot, StoreError> {
        Ok(CompanySnapshot {
            accounts: self.book_in(tx)?,
            subscriptions: self.subscriptions_where("1 ORDER BY id", &[])?,
            metrics: read_metrics(tx)?,
            usage: Vec::new(),
            billed_usage: crate::billed_usage::read(tx)?,
        })
    }

    fn accounts_where(
        &self,
        conn: &Connection,
        filter: &str,
        params: &[SqlValue],
    ) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_SELECT} FROM accounts a WHERE {filter}");
        let mut stmt = conn.prepare_cached(&sql).context("reading accounts")?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .context("reading accounts")?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().context("reading accounts")? {
            out.push(account(account_value(row)?)?);
        }
        Ok(out)
    }

    fn one_account(
        &self,
        filter: &str,
        params: &[SqlValue],
    ) -> Result<Option<Account>, StoreError> {
        Ok(self
            .accounts_where(&self.conn, filter, params)?
            .into_iter()
            .next())
    }

    fn subscriptions_where(
        &self,
        filter: &str,
        params: &[SqlValue],
    ) -> Result<Vec<Subscription>, StoreError> {
        let params: Vec<&dyn rusqlite::ToSql> =
            params.iter().map(|p| p as &dyn rusqlite::ToSql).collect();
        crate::write::subscriptions_where(&self.conn, filter, &params)
    }

    fn invoices_where(
        &self,
        filter: &str,
        params: &[SqlValue],
    ) -> Result<Vec<Invoice>, StoreError> {
        let sql = format!("SELECT {INVOICE_SELECT} FROM invoices WHERE {filter}");
        let mut stmt = self.conn.prepare_cached(&sql).context("reading invoices")?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(params))
            .context("reading invoices")?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().context("reading invoices")? {
            out.push(invoice(row)?);
        }
        Ok(out)
    }

    fn list_all_invoices(&self) -> Result<(), StoreError> {
        self.invoices_where("1 ORDER BY number", &[]).map(drop)
    }
}

/// One more than a page holds, so the query tells whether another page follows.
fn probe(limit: usize) -> (usize, SqlValue) {
    let (limit, probe) = page_probe(limit);
    (limit, SqlValue::Integer(probe))
}

fn sql_text(s: impl Into<String>) -> SqlValue {
    SqlValue::Text(s.into())
}

impl Store for SqliteStore {
    fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.one_account("a.id = ?1", &[sql_text(id.as_str())])
    }

    fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError> {
        let list = json_list(ids.iter().map(AccountId::as_str))?;
        self.accounts_where(
            &self.conn,
            "a.id IN (SELECT value FROM json_each(?1)) ORDER BY a.id",
            &[sql_text(list)],
        )
    }

    fn account_by_key(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        self.one_account("a.key = ?1", &[sql_text(key.as_str())])
    }

    fn account_by_external_id(
        &self,
        system: &ExternalSystem,
        id: &ExternalId,
    ) -> Result<Option<Account>, StoreError> {
        let params = [sql_text(system.name()), sql_text(id.as_str())];
        self.one_account(&by_external_id(question), &params)
    }

    fn list_accounts(&self, query: &AccountQuery) -> Result<Page<Account, AccountId>, StoreError> {
        let mut filter = String::from("1");
        let mut params = Vec::new();
        let mut param = |filter: &mut String, clause: &str, value: SqlValue| {
            params.push(value);
            filter.push_str(&clause.replace('?', &format!("?{}", params.len())));
        };
        if let Some(state) = query.state {
            param(&mut filter, " AND a.state = ?", sql_text(text(&state)?));
        }
        if let Some(after) = &query.after {
            param(&mut filter, " AND a.id > ?", sql_text(after.as_str()));
        }
        if let Some(tags) = &query.tags {
            for (clause, wanted) in tag_clauses(tags) {
                let list = json_list(wanted.iter().map(String::as_str))?;
                param(&mut filter, &clause, sql_text(list));
            }
        }
        let (limit, probe) = probe(query.limit);
        param(&mut filter, " ORDER BY a.id LIMIT ?", probe);
        let items = self.accounts_where(&self.conn, &filter, &params)?;
        Ok(page(items, limit, |a: &Account| a.id().clone()))
    }

    fn children(&self, master: &AccountId) -> Result<Vec<Account>, StoreError> {
        self.accounts_where(
            &self.conn,
            "a.master = ?1 ORDER BY a.id",
            &[sql_text(master.as_str())],
        )
    }

    fn is_dismissed(&self, key: &AccountKey) -> Result<bool, StoreError> {
        self.conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM dismissed_keys WHERE key = ?1)",
                [key.as_str()],
                |row| row.get(0),
            )
            .context("reading dismissed keys")
    }

    fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        let found = self.subscriptions_where("id = ?1", &[sql_text(id.as_str())])?;
        Ok(found.into_iter().next())
    }

    fn subscriptions_of(&self, accounts: &[AccountId]) -> Result<Vec<Subscription>, StoreError> {
        let list = json_list(accounts.iter().map(AccountId::as_str))?;
        self.subscriptions_where(
            "account IN (SELECT value FROM json_each(?1)) ORDER BY id",
            &[sql_text(list)],
        )
    }

    fn list_subscriptions(
        &self,
        query: &SubscriptionQuery,
    ) -> Result<Page<Subscription, SubscriptionId>, StoreError> {
        let mut filter = String::from("1");
        let mut params = Vec::new();
        if let Some(account) = &query.account {
            params.push(sql_text(account.as_str()));
            filter.push_str(&format!(" AND account = ?{}", params.len()));
        }
        if let Some(after) = &query.after {
            params.push(sql_text(after.as_str()));
            filter.push_str(&format!(" AND id > ?{}", params.len()));
        }
        let (limit, probe) = probe(query.limit);
        params.push(probe);
        filter.push_str(&format!(" ORDER BY id LIMIT ?{}", params.len()));
        let items = self.subscriptions_where(&filter, &params)?;
        Ok(page(items, limit, |s: &Subscription| s.id().clone()))
    }

    fn metrics(&self) -> Result<Vec<Metric>, StoreError> {
        read_metrics(&self.conn)
    }

    fn usage(
        &self,
        accounts: &[AccountKey],
        period: &Period,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        let list = json_list(accounts.iter().map(AccountKey::as_str))?;
        let sql = format!(
            "SELECT {USAGE_SELECT} FROM usage \
             WHERE account_key IN (SELECT value FROM json_each(?1)) \
             AND unix_day >= ?2 AND unix_day < ?3"
        );
        let mut stmt = self.conn.prepare_cached(&sql).context("reading usage")?;
        let mut rows = stmt
            .query(params![
                list,
                unix_day(period.start()),
                unix_day(period.end())
            ])
            .context("reading usage")?;
        let mut out = Vec::new();
        while let Some(row) = rows.next().context("reading usage")? {
            out.push(usage_record(row)?);
        }
        drop(rows);
        drop(stmt);
        let (start, end) = (period.start(), period.end());
        out.extend(
            crate::blocks::records(&self.conn, Some(&list))?
                .into_iter()
                .filter(|r| {
                    let day = r.timestamp().date_naive();
                    accounts.contains(r.account()) && day >= start && day < end
                }),
        );
        out.sort();
        Ok(out)
    }

    fn invoice(&self, number: u64) -> Result<Option<Invoice>, StoreError> {
        // Past what the store can number, no invoice is stored.
        let Ok(number) = sql_number(number) else {
            return Ok(None);
        };
        let found = self.invoices_where("number = ?1", &[SqlValue::Integer(number)])?;
        Ok(found.into_iter().next())
    }

    fn list_invoices(&self, query: &InvoiceQuery) -> Result<Page<Invoice, u64>, StoreError> {
        let mut filter = String::from("1");
        let mut params = Vec::new();
        if let Some(owner) = &query.owner {
            params.push(sql_text(owner.as_str()));
            filter.push_str(&format!(" AND owner = ?{}", params.len()));
        }
        if let Some(after) = query.after {
            // Past what the store can number, nothing follows.
            let after = sql_number(after).unwrap_or(i64::MAX);
            params.push(SqlValue::Integer(after));
            filter.push_str(&format!(" AND number > ?{}", params.len()));
        }
        let (limit, probe) = probe(query.limit);
        params.push(probe);
        filter.push_str(&format!(" ORDER BY number LIMIT ?{}", params.len()));
        let items = self.invoices_where(&filter, &params)?;
        Ok(page(items, limit, Invoice::number))
    }

    fn next_invoice_number(&self) -> Result<u64, StoreError> {
        crate::run_record::next_invoice_number(&self.conn)
    }

    fn company(&self) -> Result<CompanySnapshot, StoreError> {
        let tx = self.read()?;
        let mut company = self.company_in(&tx)?;
        let mut stmt = tx
            .prepare_cached(&format!("SELECT {USAGE_SELECT} FROM usage"))
            .context("reading usage")?;
        let mut rows = stmt.query([]).context("reading usage")?;
        while let Some(row) = rows.next().context("reading usage")? {
            company.usage.push(usage_record(row)?);
        }
        company.usage.extend(crate::blocks::records(&tx, None)?);
        // The memory store's order: by account, then time.
        company
            .usage
            .sort_by(|a, b| (a.account(), a.timestamp(), a).cmp(&(b.account(), b.timestamp(), b)));
        Ok(company)
    }

    fn run_input(&self) -> Result<(CompanySnapshot, UsageTable), StoreError> {
        let tx = self.read()?;
        self.read_run_input(&tx)
    }

    fn apply(&mut self, batch: Batch) -> Result<(), StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database for a batch")?;
        // On a refusal the transaction is dropped, which rolls it back.
        crate::write::apply(&tx, &batch)?;
        commit_freeing(tx, batch)
    }

    fn record_streamed(
        &mut self,
        bill: &mut plock_core::store::RunBill<'_>,
    ) -> Result<bool, StoreError> {
        crate::run_streamed::record(&mut self.conn, bill)
    }
}

/// Commits `tx`, freeing `batch` meanwhile when it records a run: a run's invoices at M are a
/// million allocations, and the commit's checkpoint keeps one core busy copying pages.
fn commit_freeing(tx: rusqlite::Transaction<'_>, batch: Batch) -> Result<(), StoreError> {
    let records_a_run = batch
        .changes
        .iter()
        .any(|change| matches!(change, Change::RecordRun { .. }));
    if !records_a_run {
        return tx.commit().context("committing a batch");
    }
    std::thread::scope(|scope| {
        // A thread that cannot be started drops the batch here, before the commit.
        let _freeing = std::thread::Builder::new().spawn_scoped(scope, move || drop(batch));
        tx.commit().context("committing a batch")
    })
}

pub(crate) fn read_metrics(conn: &Connection) -> Result<Vec<Metric>, StoreError> {
    let mut stmt = conn
        .prepare_cached("SELECT id, aggregation FROM metrics ORDER BY id")
        .context("reading metrics")?;
    let rows = stmt
        .query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })
        .context("reading metrics")?;
    let mut out = Vec::new();
    for row in rows {
        let (id, aggregation) = row.context("reading metrics")?;
        out.push(metric(id, aggregation)?);
    }
    Ok(out)
}

/// The SQL clauses of a tag filter, each with its one parameter (the folded tags): one
/// clause for a plain filter, one per part for [`TagFilter::Every`].
fn tag_clauses(tags: &TagFilter) -> Vec<(String, BTreeSet<String>)> {
    let has_tag = "SELECT 1 FROM account_tags t WHERE t.account = a.id \
                   AND t.folded IN (SELECT value FROM json_each(?))";
    tag_parts(tags)
        .into_iter()
        .map(|(test, wanted)| {
            let clause = match test {
                // Tags are unique per account, so all are there when every one is counted.
                TagTest::All => format!(
                    " AND (SELECT count(*) FROM account_tags t WHERE t.account = a.id \
                     AND t.folded IN (SELECT value FROM json_each(?))) = {}",
                    wanted.len()
                ),
                TagTest::Any => format!(" AND EXISTS ({has_tag})"),
                TagTest::None => format!(" AND NOT EXISTS ({has_tag})"),
            };
            (clause, wanted)
        })
        .collect()
}
