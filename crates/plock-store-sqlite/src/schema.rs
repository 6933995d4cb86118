//! The schema and its numbered migrations.
//!
//! Migration `n` (from 1) is `MIGRATIONS[n - 1]`; `PRAGMA user_version` holds the number of
//! the last one applied. Each runs in its own transaction together with the version bump, so
//! a database is always at exactly one version. A released migration is never edited: a change
//! of schema is a new migration at the end of the list. A database whose version is beyond the
//! list was made by a newer plock and is refused rather than guessed at.

use plock_core::store::StoreError;
use rusqlite::{Connection, TransactionBehavior};

use crate::codec::{Context, backend};

/// `PRAGMA application_id` of a plock database (`plok` in ASCII), so a foreign SQLite file is
/// refused rather than filled with plock's tables.
pub const APPLICATION_ID: i32 = 0x706c_6f6b;

/// The migrations, oldest first. See the module documentation.
const MIGRATIONS: &[&str] = &[
    // 1: the first schema.
    r"
CREATE TABLE accounts (
    id TEXT PRIMARY KEY NOT NULL,
    key TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('pending', 'active', 'archived')),
    currency TEXT NOT NULL,
    master TEXT REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED,
    group_billing INTEGER NOT NULL CHECK (group_billing IN (0, 1)),
    created_on TEXT NOT NULL,
    email TEXT,
    phone TEXT,
    address_lines TEXT,
    country TEXT,
    organisation_number TEXT
) STRICT;
CREATE INDEX accounts_by_master ON accounts (master, id) WHERE master IS NOT NULL;
CREATE INDEX accounts_by_state ON accounts (state, id);

CREATE TABLE account_tags (
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    tag TEXT NOT NULL,
    folded TEXT NOT NULL,
    PRIMARY KEY (account, folded)
) STRICT, WITHOUT ROWID;
CREATE INDEX account_tags_by_tag ON account_tags (folded, account);

CREATE TABLE external_ids (
    account TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    system TEXT NOT NULL,
    external_id TEXT NOT NULL,
    PRIMARY KEY (account, system),
    UNIQUE (system, external_id)
) STRICT, WITHOUT ROWID;

CREATE TABLE dismissed_keys (
    key TEXT PRIMARY KEY NOT NULL
) STRICT, WITHOUT ROWID;

CREATE TABLE subscriptions (
    id TEXT PRIMARY KEY NOT NULL,
    account TEXT NOT NULL REFERENCES accounts (id) DEFERRABLE INITIALLY DEFERRED,
    state TEXT NOT NULL CHECK (state IN ('draft', 'active', 'paused', 'ended')),
    paused_since TEXT,
    currency TEXT NOT NULL,
    starts_on TEXT NOT NULL,
    ends_on TEXT,
    interval_months INTEGER NOT NULL,
    mode TEXT NOT NULL,
    anchor TEXT,
    practice TEXT NOT NULL,
    minimum_invoice_amount TEXT,
    items TEXT NOT NULL,
    billed_through_in_advance TEXT,
    billed_through_in_arrears TEXT
) STRICT;
CREATE INDEX subscriptions_by_account ON subscriptions (account, id);

CREATE TABLE metrics (
    id TEXT PRIMARY KEY NOT NULL,
    aggregation TEXT NOT NULL
) STRICT;

CREATE TABLE usage (
    account_key TEXT NOT NULL REFERENCES accounts (key) DEFERRABLE INITIALLY DEFERRED,
    metric TEXT NOT NULL,
    unix_day INTEGER NOT NULL,
    timestamp TEXT NOT NULL,
    quantity TEXT NOT NULL,
    record_id TEXT
) STRICT;
CREATE INDEX usage_by_account_day ON usage (account_key, unix_day);

CREATE TABLE invoices (
    number INTEGER PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    currency TEXT NOT NULL,
    total TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    invoice TEXT NOT NULL
) STRICT;
CREATE INDEX invoices_by_owner ON invoices (owner, number);

CREATE TABLE meta (
    name TEXT PRIMARY KEY NOT NULL,
    value ANY NOT NULL
) STRICT;
INSERT INTO meta (name, value) VALUES ('next_invoice_number', 1);

PRAGMA application_id = 1886154603;
",
    // 2: imported usage in blocks of CSV text (see the `blocks` module).
    r"
CREATE TABLE usage_blocks (
    id INTEGER PRIMARY KEY NOT NULL,
    records INTEGER NOT NULL,
    csv TEXT NOT NULL
) STRICT;

CREATE TABLE usage_block_keys (
    account_key TEXT NOT NULL REFERENCES accounts (key) DEFERRABLE INITIALLY DEFERRED,
    block INTEGER NOT NULL REFERENCES usage_blocks (id),
    PRIMARY KEY (account_key, block)
) STRICT, WITHOUT ROWID;
",
    // 3: what runs billed of usage, period by period (see the `billed_usage` module).
    include_str!("migrations/3_billed_usage.sql"),
    // 4: payment terms of an account.
    include_str!("migrations/4_payment_terms.sql"),
    // 5: the blocks of an account key as one row (see the `key_blocks` module).
    include_str!("migrations/5_usage_key_blocks.sql"),
    // 6: what subscriptions are billed through, apart from them (see `subscription_watermarks`).
    include_str!("migrations/6_subscription_watermarks.sql"),
    // 7: invoices compressed, billed usage in columns (see `invoice_json` and `billed_usage`).
    include_str!("migrations/7_compact_run_records.sql"),
    // 8: blocks without the ids the import made up (see the `blocks` module).
    include_str!("migrations/8_made_up_ids.sql"),
];

/// The schema version this code writes: the number of migrations.
pub const SCHEMA_VERSION: u32 = MIGRATIONS.len() as u32;

pub(crate) fn user_version(conn: &Connection) -> Result<u32, StoreError> {
    let version: i64 = conn
        .pragma_query_value(None, "user_version", |row| row.get(0))
        .context("reading the schema version")?;
    u32::try_from(version).map_err(|_| backend(format!("schema version {version} is invalid")))
}

/// Refuses a database made by a newer plock, or one that is not plock's.
pub(crate) fn check(conn: &Connection, version: u32) -> Result<(), StoreError> {
    if version > SCHEMA_VERSION {
        return Err(backend(format!(
            "the database has schema version {version}, made by a newer plock (this one knows \
             versions up to {SCHEMA_VERSION}): use a newer plock"
        )));
    }
    let id: i32 = conn
        .pragma_query_value(None, "application_id", |row| row.get(0))
        .context("reading the application id")?;
    let tables: i64 = conn
        .query_row("SELECT count(*) FROM sqlite_schema", [], |row| row.get(0))
        .context("reading the schema")?;
    let ours = if version == 0 {
        id == 0 && tables == 0
    } else {
        id == APPLICATION_ID
    };
    if ours {
        Ok(())
    } else {
        Err(backend(format!(
            "not a plock database (application id {id:#x}, schema version {version}, {tables} \
             schema objects)"
        )))
    }
}

/// Brings the database up to [`SCHEMA_VERSION`], one migration a transaction. A database
/// already there is not locked, so opening it never waits for another connection's writes.
pub(crate) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    if user_version(conn)? == SCHEMA_VERSION {
        return Ok(());
    }
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .context("locking the database to migrate it")?;
        // Read again under the lock: another process may have migrated meanwhile.
        let version = user_version(&tx)?;
        check(&tx, version)?;
        let Some(migration) = usize::try_from(version)
            .ok()
            .and_then(|v| MIGRATIONS.get(v))
        else {
            return Ok(());
        };
        let next = version.saturating_add(1);
        tx.execute_batch(migration)
            .context(&format!("migrating to schema version {next}"))?;
        tx.pragma_update(None, "user_version", next)
            .context("recording the schema version")?;
        tx.commit()
            .context(&format!("committing schema version {next}"))?;
    }
}
