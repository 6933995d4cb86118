//! The schema and its numbered migrations.
//!
//! Migration `n` (from 1) is `MIGRATIONS[n - 1]`; the table `plock_schema` holds one row per
//! migration applied. Each runs in one transaction together with its row, under an advisory
//! lock, so two processes opening a database at once migrate it once. A released migration is
//! never edited: a change of schema is a new migration at the end of the list. A database
//! whose version is beyond the list was made by a newer plock and is refused untouched.
//!
//! Every table that grows with customers carries `owner`, the id of the account its rows are
//! invoiced to (see `docs/postgres.md`): a distributed PostgreSQL can shard them all by it.

use plock_core::store::StoreError;
use postgres::Client;

use crate::codec::{Context, backend};

/// The first half of the advisory lock key migrations take (`plok` in ASCII); the second is
/// the schema's name hashed, so two processes never migrate one schema at once, while the
/// companies of other schemas of the database migrate beside them.
const MIGRATION_LOCK: i32 = 0x706c_6f6b;

/// The migrations, oldest first. See the module documentation.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r"
CREATE TABLE accounts (
    owner text NOT NULL,
    id text PRIMARY KEY,
    key text NOT NULL UNIQUE,
    name text NOT NULL,
    state text NOT NULL CHECK (state IN ('pending', 'active', 'archived')),
    currency text NOT NULL,
    master text REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED,
    group_billing boolean NOT NULL,
    created_on text NOT NULL,
    email text,
    phone text,
    address_lines jsonb,
    country text,
    organisation_number text
);
CREATE INDEX accounts_by_master ON accounts (master, id) WHERE master IS NOT NULL;
CREATE INDEX accounts_by_state ON accounts (state, id);
CREATE INDEX accounts_by_owner ON accounts (owner, id);

CREATE TABLE account_tags (
    owner text NOT NULL,
    account text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    tag text NOT NULL,
    folded text NOT NULL,
    PRIMARY KEY (account, folded)
);
CREATE INDEX account_tags_by_tag ON account_tags (folded, account);

CREATE TABLE external_ids (
    owner text NOT NULL,
    account text NOT NULL REFERENCES accounts (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    system text NOT NULL,
    external_id text NOT NULL,
    PRIMARY KEY (account, system),
    UNIQUE (system, external_id)
);

CREATE TABLE dismissed_keys (
    key text PRIMARY KEY
);

CREATE TABLE subscriptions (
    owner text NOT NULL,
    id text PRIMARY KEY,
    account text NOT NULL REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED,
    currency text NOT NULL,
    state text NOT NULL,
    subscription text NOT NULL,
    billed_through_in_advance text,
    billed_through_in_arrears text
);
CREATE INDEX subscriptions_by_account ON subscriptions (account, id);
CREATE INDEX subscriptions_by_owner ON subscriptions (owner, id);

CREATE TABLE metrics (
    id text PRIMARY KEY,
    aggregation text NOT NULL
);

CREATE TABLE usage (
    owner text NOT NULL,
    account_key text NOT NULL,
    metric text NOT NULL,
    unix_day integer NOT NULL,
    at timestamptz NOT NULL,
    nanos smallint NOT NULL CHECK (nanos BETWEEN 0 AND 999),
    quantity numeric NOT NULL,
    record_id text
);
-- A block range index: a few pages for the whole table, so importing stays a plain append,
-- while a period's read skips the blocks of other days (usage arrives roughly in time order).
-- A b-tree on (account_key, unix_day) made binary COPY 2.4 times slower.
CREATE INDEX usage_by_day ON usage USING brin (unix_day);

CREATE TABLE invoices (
    owner text NOT NULL,
    number bigint PRIMARY KEY CHECK (number > 0),
    currency text NOT NULL,
    total numeric NOT NULL,
    period_start text NOT NULL,
    period_end text NOT NULL,
    invoice text NOT NULL
);
CREATE INDEX invoices_by_owner ON invoices (owner, number);

CREATE TABLE meta (
    name text PRIMARY KEY,
    value bigint NOT NULL
);
INSERT INTO meta (name, value) VALUES ('next_invoice_number', 1);
",
    // 2: what runs billed of usage, period by period (see the `billed_usage` module).
    include_str!("migrations/2_billed_usage.sql"),
    // 3: payment terms of an account.
    include_str!("migrations/3_payment_terms.sql"),
    // 4: usage appended with no index kept row by row.
    include_str!("migrations/4_usage_append.sql"),
    // 5: billed usage filed under its invoice owner, as every table that grows with customers.
    include_str!("migrations/5_billed_usage_owner.sql"),
    // 6: imported usage in blocks of one account key's records.
    include_str!("migrations/6_usage_blocks.sql"),
    // 7: what subscriptions are billed through, in narrow rows of their own.
    include_str!("migrations/7_subscription_watermarks.sql"),
    // 8: billed usage in a column a field; invoices compressed with lz4.
    include_str!("migrations/8_billed_usage_columns.sql"),
];

/// The schema version this code writes: the number of migrations.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

/// The tables of plock's schema: one of them without `plock_schema` is a foreign database.
const TABLES: &str = "'accounts', 'account_tags', 'external_ids', 'dismissed_keys', \
     'subscriptions', 'metrics', 'usage', 'invoices', 'meta', 'subscription_watermarks'";

/// The schema version of the database the client is on: 0 when it holds no plock schema.
///
/// # Errors
/// [`StoreError::Backend`] when the database holds some of plock's tables but no version,
/// or when it cannot be read.
pub(crate) fn version(client: &mut Client) -> Result<u32, StoreError> {
    let row = client
        .query_one(
            &format!(
                "SELECT to_regclass('plock_schema') IS NOT NULL, \
                 (SELECT count(*) FROM pg_tables \
                  WHERE schemaname = current_schema() AND tablename IN ({TABLES}))"
            ),
            &[],
        )
        .context("reading the schema version")?;
    let marked: bool = row.try_get(0).context("reading the schema version")?;
    let tables: i64 = row.try_get(1).context("reading the schema version")?;
    if !marked {
        if tables > 0 {
            return Err(backend(format!(
                "not a plock database: {tables} of plock's table names exist in schema \
                 `current_schema()` without a `plock_schema` version table"
            )));
        }
        return Ok(0);
    }
    let version: Option<i32> = client
        .query_one("SELECT max(version) FROM plock_schema", &[])
        .and_then(|row| row.try_get(0))
        .context("reading the schema version")?;
    u32::try_from(version.unwrap_or(0))
        .map_err(|_| backend(format!("schema version {version:?} is invalid")))
}

/// Refuses a database made by a newer plock.
pub(crate) fn check(version: u32) -> Result<(), StoreError> {
    if version > SCHEMA_VERSION {
        return Err(backend(format!(
            "the database has schema version {version}, made by a newer plock (this one knows \
             versions up to {SCHEMA_VERSION}): use a newer plock"
        )));
    }
    Ok(())
}

/// Brings the database up to [`SCHEMA_VERSION`], one migration a transaction, under an
/// advisory lock. A database already there is not locked.
pub(crate) fn migrate(client: &mut Client) -> Result<(), StoreError> {
    let version = version(client)?;
    check(version)?;
    if version == SCHEMA_VERSION {
        return Ok(());
    }
    loop {
        let mut tx = client.transaction().context("starting a migration")?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))",
            &[&MIGRATION_LOCK],
        )
        .context("locking the schema to migrate it")?;
        tx.batch_execute(
            "CREATE TABLE IF NOT EXISTS plock_schema (\
             version integer PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .context("creating the schema version table")?;
        // Read again under the lock: another process may have migrated meanwhile.
        let version: i32 = tx
            .query_one("SELECT coalesce(max(version), 0) FROM plock_schema", &[])
            .and_then(|row| row.try_get(0))
            .context("reading the schema version")?;
        let version = u32::try_from(version)
            .map_err(|_| backend(format!("schema version {version} is invalid")))?;
        check(version)?;
        let Some(migration) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return tx.commit().context("committing the schema version");
        };
        let next = version.saturating_add(1);
        tx.batch_execute(migration)
            .context(&format!("migrating to schema version {next}"))?;
        let next_sql = i32::try_from(next).unwrap_or(i32::MAX);
        tx.execute(
            "INSERT INTO plock_schema (version) VALUES ($1)",
            &[&next_sql],
        )
        .context("recording the schema version")?;
        tx.commit()
            .context(&format!("committing schema version {next}"))?;
    }
}
