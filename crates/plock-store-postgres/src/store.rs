//! The store: a connection, and the reads.

use std::cell::{RefCell, RefMut};

use plock_core::account::{ExternalId, ExternalSystem};
use plock_core::period::Period;
use plock_core::store::{
    AccountQuery, Batch, CompanySnapshot, InvoiceQuery, Page, StoreError, SubscriptionQuery,
};
use plock_core::{
    Account, AccountId, AccountKey, Invoice, Metric, Store, Subscription, SubscriptionId,
    UsageRecord, UsageTable,
};
use plock_store_sql::codec::{account, metric, sql_number, text};
use plock_store_sql::read::{TagTest, page, page_probe, tag_parts};
use plock_store_sql::sql::by_external_id;
use postgres::{Client, GenericClient, NoTls};

use crate::codec::{
    ACCOUNT_JSON, Context, INVOICE_SELECT, Param, USAGE_SELECT, account_value, backend, dollar,
    invoice, usage_record,
};
use crate::queries::{next_invoice_number, read_subscriptions};
use crate::schema;

/// A company's data in one PostgreSQL database (or one schema of it: the connection's
/// `search_path`). See the crate documentation.
pub struct PostgresStore {
    /// The connection; `None` while a usage import's thread holds it.
    client: RefCell<Option<Client>>,
    /// The connection string, for a billing run's second connection.
    config: String,
}

impl std::fmt::Debug for PostgresStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresStore").finish_non_exhaustive()
    }
}

/// Connects to `config`, a connection string (`postgres://user@host:port/db` or
/// `host=… port=… user=… dbname=…`); the password, if any, is never part of an error.
pub(crate) fn connect(config: &str) -> Result<Client, StoreError> {
    let parsed: postgres::Config = config
        .parse()
        .map_err(|e| backend(format!("the PostgreSQL connection string is invalid: {e}")))?;
    parsed.connect(NoTls).map_err(|e| {
        let hosts: Vec<String> = parsed
            .get_hosts()
            .iter()
            .map(|h| format!("{h:?}"))
            .collect();
        backend(format!(
            "connecting to PostgreSQL ({} port {:?}, database {:?}): {e}",
            hosts.join(", "),
            parsed.get_ports(),
            parsed.get_dbname().unwrap_or("(the user's)")
        ))
    })
}

impl PostgresStore {
    /// Connects to a database holding a plock company, migrating it to the current schema.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server cannot be reached, the database holds no
    /// plock schema (create one with [`PostgresStore::create`]), holds foreign tables under
    /// plock's names, or was made by a newer plock.
    pub fn open(config: &str) -> Result<PostgresStore, StoreError> {
        let mut client = connect(config)?;
        if schema::version(&mut client)? == 0 {
            return Err(backend(
                "the database holds no plock company: create its schema first (`plock init`)",
            ));
        }
        schema::migrate(&mut client)?;
        Ok(PostgresStore {
            client: RefCell::new(Some(client)),
            config: config.to_owned(),
        })
    }

    /// Creates plock's schema in a database (or schema) that holds none; one that already
    /// holds a plock company is refused, never changed.
    ///
    /// # Errors
    /// [`StoreError::Backend`] when the server cannot be reached or the database already
    /// holds plock's tables.
    pub fn create(config: &str) -> Result<PostgresStore, StoreError> {
        let mut client = connect(config)?;
        let version = schema::version(&mut client)?;
        if version > 0 {
            return Err(backend(format!(
                "the database already holds a plock company (schema version {version})"
            )));
        }
        schema::migrate(&mut client)?;
        Ok(PostgresStore {
            client: RefCell::new(Some(client)),
            config: config.to_owned(),
        })
    }

    /// The schema version of the database (after opening:
    /// [`SCHEMA_VERSION`](crate::SCHEMA_VERSION)).
    ///
    /// # Errors
    /// [`StoreError::Backend`].
    pub fn schema_version(&self) -> Result<u32, StoreError> {
        schema::version(&mut *self.client()?)
    }

    /// The connection string the store was opened with.
    pub(crate) fn config(&self) -> &str {
        &self.config
    }

    /// The connection; a read that is already using it (which the store never does) is an
    /// error rather than a panic.
    pub(crate) fn client(&self) -> Result<RefMut<'_, Client>, StoreError> {
        let slot = self
            .client
            .try_borrow_mut()
            .map_err(|_| backend("the connection is already in use"))?;
        RefMut::filter_map(slot, Option::as_mut)
            .map_err(|_| backend("the connection is in use by a usage import"))
    }

    /// Takes the connection for a usage import's thread, which gives it back with
    /// [`PostgresStore::put_client`].
    pub(crate) fn take_client(&self) -> Result<Client, StoreError> {
        self.client
            .try_borrow_mut()
            .map_err(|_| backend("the connection is already in use"))?
            .take()
            .ok_or_else(|| backend("the connection is in use by a usage import"))
    }

    /// Gives the connection back after a usage import.
    pub(crate) fn put_client(&self, client: Client) {
        if let Ok(mut slot) = self.client.try_borrow_mut() {
            *slot = Some(client);
        }
    }

    fn accounts_where(
        &self,
        filter: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Account>, StoreError> {
        let sql = format!("SELECT {ACCOUNT_JSON} FROM accounts a WHERE {filter}");
        let rows = self
            .client()?
            .query(&sql, params)
            .context("reading accounts")?;
        rows.iter()
            .map(|row| account(account_value(row, 0)?))
            .collect()
    }

    fn one_account(
        &self,
        filter: &str,
        params: &[Param<'_>],
    ) -> Result<Option<Account>, StoreError> {
        Ok(self.accounts_where(filter, params)?.into_iter().next())
    }

    fn subscriptions_where(
        &self,
        filter: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Subscription>, StoreError> {
        read_subscriptions(&mut *self.client()?, filter, params)
    }

    fn invoices_where(
        &self,
        filter: &str,
        params: &[Param<'_>],
    ) -> Result<Vec<Invoice>, StoreError> {
        let sql = format!("SELECT {INVOICE_SELECT} FROM invoices WHERE {filter}");
        let rows = self
            .client()?
            .query(&sql, params)
            .context("reading invoices")?;
        rows.iter().map(invoice).collect()
    }
}

fn strs<T: AsRef<str>>(items: &[T]) -> Vec<&str> {
    items.iter().map(AsRef::as_ref).collect()
}

impl Store for PostgresStore {
    fn account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.one_account("a.id = $1", &[&id.as_str()])
    }

    fn accounts(&self, ids: &[AccountId]) -> Result<Vec<Account>, StoreError> {
        let ids: Vec<&str> = ids.iter().map(AccountId::as_str).collect();
        self.accounts_where("a.id = ANY($1) ORDER BY a.id", &[&ids])
    }

    fn account_by_key(&self, key: &AccountKey) -> Result<Option<Account>, StoreError> {
        self.one_account("a.key = $1", &[&key.as_str()])
    }

    fn account_by_external_id(
        &self,
        system: &ExternalSystem,
        id: &ExternalId,
    ) -> Result<Option<Account>, StoreError> {
        self.one_account(&by_external_id(dollar), &[&system.name(), &id.as_str()])
    }

    fn list_accounts(&self, query: &AccountQuery) -> Result<Page<Account, AccountId>, StoreError> {
        let state = query.state.as_ref().map(text).transpose()?;
        let after = query.after.as_ref().map(AccountId::as_str);
        let (limit, probe) = page_probe(query.limit);
        let parts = query.tags.as_ref().map(tag_parts).unwrap_or_default();
        let mut filter =
            String::from("($1::text IS NULL OR a.state = $1) AND ($2::text IS NULL OR a.id > $2)");
        for (n, (test, wanted)) in parts.iter().enumerate() {
            let list = format!("${}::text[]", n + 4);
            let has_tag = format!(
                "SELECT 1 FROM account_tags t WHERE t.account = a.id AND t.folded = ANY({list})"
            );
            filter.push_str(&match test {
                // Tags are unique per account, so all are there when every one is counted.
                TagTest::All => format!(
                    " AND (SELECT count(*) FROM account_tags t WHERE t.account = a.id \
                     AND t.folded = ANY({list})) = {}",
                    wanted.len()
                ),
                TagTest::Any => format!(" AND EXISTS ({has_tag})"),
                TagTest::None => format!(" AND NOT EXISTS ({has_tag})"),
            });
        }
        filter.push_str(" ORDER BY a.id LIMIT $3");
        let mut params: Vec<Param<'_>> = vec![&state, &after, &probe];
        let lists: Vec<Vec<&str>> = parts
            .iter()
            .map(|(_, wanted)| wanted.iter().map(String::as_str).collect())
            .collect();
        params.extend(lists.iter().map(|wanted| wanted as Param<'_>));
        let items = self.accounts_where(&filter, &params)?;
        Ok(page(items, limit, |a: &Account| a.id().clone()))
    }

    fn children(&self, master: &AccountId) -> Result<Vec<Account>, StoreError> {
        self.accounts_where("a.master = $1 ORDER BY a.id", &[&master.as_str()])
    }

    fn is_dismissed(&self, key: &AccountKey) -> Result<bool, StoreError> {
        self.client()?
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM dismissed_keys WHERE key = $1)",
                &[&key.as_str()],
            )
            .and_then(|row| row.try_get(0))
            .context("reading dismissed keys")
    }

    fn subscription(&self, id: &SubscriptionId) -> Result<Option<Subscription>, StoreError> {
        Ok(self
            .subscriptions_where("id = $1", &[&id.as_str()])?
            .into_iter()
            .next())
    }

    fn subscriptions_of(&self, accounts: &[AccountId]) -> Result<Vec<Subscription>, StoreError> {
        let ids: Vec<&str> = accounts.iter().map(AccountId::as_str).collect();
        self.subscriptions_where("account = ANY($1) ORDER BY id", &[&ids])
    }

    fn list_subscriptions(
        &self,
        query: &SubscriptionQuery,
    ) -> Result<Page<Subscription, SubscriptionId>, StoreError> {
        let account = query.account.as_ref().map(AccountId::as_str);
        let after = query.after.as_ref().map(SubscriptionId::as_str);
        let (limit, probe) = page_probe(query.limit);
        let items = self.subscriptions_where(
            "($1::text IS NULL OR account = $1) AND ($2::text IS NULL OR id > $2) \
             ORDER BY id LIMIT $3",
            &[&account, &after, &probe],
        )?;
        Ok(page(items, limit, |s: &Subscription| s.id().clone()))
    }

    fn metrics(&self) -> Result<Vec<Metric>, StoreError> {
        read_metrics(&mut *self.client()?)
    }

    fn usage(
        &self,
        accounts: &[AccountKey],
        period: &Period,
    ) -> Result<Vec<UsageRecord>, StoreError> {
        let keys = strs(accounts);
        let mut client = self.client()?;
        let mut tx = crate::queries::read(&mut client)?;
        let rows = tx
            .query(
                &format!(
                    "SELECT {USAGE_SELECT} FROM usage \
                     WHERE account_key = ANY($1) \
                     AND at >= coalesce($2::timestamptz, '-infinity') \
                     AND at < coalesce($3::timestamptz, '-infinity')"
                ),
                &[&keys, &midnight(period.start()), &midnight(period.end())],
            )
            .context("reading usage")?;
        let mut out = rows
            .iter()
            .map(usage_record)
            .collect::<Result<Vec<_>, _>>()?;
        drop(rows);
        let (start, end) = (midnight(period.start()), midnight(period.end()));
        // As the statement above: no start bound before the server's first day, and no
        // record before an end that early.
        let within = |r: &UsageRecord| {
            start.is_none_or(|s| r.timestamp() >= s) && end.is_some_and(|e| r.timestamp() < e)
        };
        let blocks = crate::usage_read::block_records(&mut tx, Some(&keys))?;
        out.extend(blocks.into_iter().filter(within));
        tx.commit().context("ending a read")?;
        out.sort();
        Ok(out)
    }

    fn invoice(&self, number: u64) -> Result<Option<Invoice>, StoreError> {
        let Ok(number) = sql_number(number) else {
            return Ok(None);
        };
        Ok(self
            .invoices_where("number = $1", &[&number])?
            .into_iter()
            .next())
    }

    fn list_invoices(&self, query: &InvoiceQuery) -> Result<Page<Invoice, u64>, StoreError> {
        let owner = query.owner.as_ref().map(AccountId::as_str);
        // Past what the store can number, nothing follows.
        let after = query.after.map(|a| sql_number(a).unwrap_or(i64::MAX));
        let (limit, probe) = page_probe(query.limit);
        let items = self.invoices_where(
            "($1::text IS NULL OR owner = $1) AND ($2::bigint IS NULL OR number > $2) \
             ORDER BY number LIMIT $3",
            &[&owner, &after, &probe],
        )?;
        Ok(page(items, limit, Invoice::number))
    }

    fn next_invoice_number(&self) -> Result<u64, StoreError> {
        next_invoice_number(&mut *self.client()?, false)
    }

    fn company(&self) -> Result<CompanySnapshot, StoreError> {
        let mut client = self.client()?;
        // One snapshot for every statement: the accounts, subscriptions and usage of one
        // committed state.
        let mut tx = crate::queries::read(&mut client)?;
        let (accounts, subscriptions, metrics) = read_company(&mut tx)?;
        let rows = tx
            .query(&format!("SELECT {USAGE_SELECT} FROM usage"), &[])
            .context("reading usage")?;
        let mut usage = rows
            .iter()
            .map(usage_record)
            .collect::<Result<Vec<_>, _>>()?;
        drop(rows);
        usage.extend(crate::usage_read::block_records(&mut tx, None)?);
        let billed_usage = crate::billed_usage::read(&mut tx)?;
        tx.commit().context("ending a read")?;
        // The memory store's order: by account, then time.
        usage.sort_by(|a, b| (a.account(), a.timestamp(), a).cmp(&(b.account(), b.timestamp(), b)));
        Ok(CompanySnapshot {
            accounts,
            subscriptions,
            metrics,
            usage,
            billed_usage,
        })
    }

    fn run_input(&self) -> Result<(CompanySnapshot, UsageTable), StoreError> {
        self.billing_input()
    }

    fn apply(&mut self, batch: Batch) -> Result<(), StoreError> {
        crate::write::apply(&mut *self.client()?, &batch)
    }
}

/// The account book, every subscription and the metric catalogue, read in `client`'s
/// transaction.
pub(crate) fn read_company(
    client: &mut impl GenericClient,
) -> Result<(plock_core::AccountBook, Vec<Subscription>, Vec<Metric>), StoreError> {
    let accounts = read_book(client)?;
    let subscriptions = read_subscriptions(client, "TRUE ORDER BY id", &[])?;
    let metrics = read_metrics(client)?;
    Ok((accounts, subscriptions, metrics))
}

/// Every account as [`ACCOUNT_JSON`] gives one, by id: the tags and external ids grouped
/// once each and joined (on the owner too, within one owner's rows), rather than looked up
/// account by account, which takes the server twice as long for the whole book.
const EVERY_ACCOUNT: &str = concat!(
    "SELECT ",
    crate::codec::account_columns_json!(),
    "'tags', coalesce(t.tags, '[]'::json), 'external_ids', coalesce(e.ids, '{}'::json))::text \
     FROM accounts a \
     LEFT JOIN (SELECT owner, account, json_agg(tag) AS tags FROM account_tags \
        GROUP BY owner, account) t ON t.owner = a.owner AND t.account = a.id \
     LEFT JOIN (SELECT owner, account, json_object_agg(system, external_id) AS ids \
        FROM external_ids GROUP BY owner, account) e ON e.owner = a.owner AND e.account = a.id \
     ORDER BY a.id"
);
/// The accounts and dismissed keys, read in `client`'s transaction, the book's rules checked.
///
/// The rows' JSON (the server's own, one object each) is put into the book's document as
/// text and read once by the book's deserialiser: no `serde_json::Value` tree of every
/// account is built and freed.
pub(crate) fn read_book(
    client: &mut impl GenericClient,
) -> Result<plock_core::AccountBook, StoreError> {
    let rows = client
        .query(EVERY_ACCOUNT, &[])
        .context("reading accounts")?;
    let mut document = String::with_capacity(rows.len().saturating_mul(400).saturating_add(64));
    document.push_str("{\"accounts\":[");
    for (n, row) in rows.iter().enumerate() {
        if n > 0 {
            document.push(',');
        }
        document.push_str(row.try_get::<_, &str>(0).context("reading accounts")?);
    }
    drop(rows);
    let dismissed = client
        .query("SELECT key FROM dismissed_keys ORDER BY key", &[])
        .context("reading dismissed keys")?
        .iter()
        .map(|row| row.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()
        .context("reading dismissed keys")?;
    document.push_str("],\"dismissed\":");
    document.push_str(&serde_json::to_string(&dismissed).context("reading dismissed keys")?);
    document.push('}');
    serde_json::from_str(&document).context("the stored accounts break a rule of the account book")
}

pub(crate) fn read_metrics(client: &mut impl GenericClient) -> Result<Vec<Metric>, StoreError> {
    let rows = client
        .query("SELECT id, aggregation FROM metrics ORDER BY id", &[])
        .context("reading metrics")?;
    rows.iter()
        .map(|row| {
            let id: String = row.try_get(0).context("reading metrics")?;
            let aggregation: String = row.try_get(1).context("reading metrics")?;
            metric(id, aggregation)
        })
        .collect()
}

/// The first instant of `day`, UTC, as a bound on `at` (a `timestamptz`); `None` for a day
/// before the first a `timestamptz` holds (24 November 4713 BC), which is before every stored
/// time: the query reads it as `-infinity`.
fn midnight(day: chrono::NaiveDate) -> Option<chrono::DateTime<chrono::Utc>> {
    let first = chrono::NaiveDate::from_ymd_opt(-4712, 11, 24)?;
    (day >= first).then(|| day.and_time(chrono::NaiveTime::MIN).and_utc())
}
