-- A billing run's records, compact: a run writes every invoice and every billed usage row in
-- one transaction, each page twice (to the write-ahead log, then into the database), so their
-- bytes are most of the run's recording.
--
-- Invoices: the JSON compressed as SQLite's archives (sqlar) compress a file, a zlib stream,
-- with `json_bytes` its length, so the sqlite3 shell reads it back with
-- CAST(sqlar_uncompress(invoice, json_bytes) AS TEXT). A JSON that compression does not
-- shorten stays text, as in an archive; older invoices stay text, their length noted.
CREATE TABLE invoices_compact (
    number INTEGER PRIMARY KEY NOT NULL,
    owner TEXT NOT NULL,
    currency TEXT NOT NULL,
    total TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    json_bytes INTEGER NOT NULL,
    invoice ANY NOT NULL CHECK (typeof(invoice) IN ('text', 'blob'))
) STRICT;
INSERT INTO invoices_compact
    (number, owner, currency, total, period_start, period_end, json_bytes, invoice)
    SELECT number, owner, currency, total, period_start, period_end,
        length(CAST(invoice AS BLOB)), invoice
    FROM invoices;
DROP TABLE invoices;
ALTER TABLE invoices_compact RENAME TO invoices;
CREATE INDEX invoices_by_owner ON invoices (owner, number);

-- Billed usage: a column per field instead of the row's JSON, which repeated the key and
-- every field's name.
CREATE TABLE billed_usage_columns (
    subscription TEXT NOT NULL,
    product TEXT NOT NULL,
    period_start TEXT NOT NULL,
    period_end TEXT NOT NULL,
    records INTEGER NOT NULL,
    quantity TEXT NOT NULL,
    amount TEXT NOT NULL,
    skipped INTEGER NOT NULL CHECK (skipped IN (0, 1)),
    PRIMARY KEY (subscription, product, period_start)
) STRICT, WITHOUT ROWID;
INSERT INTO billed_usage_columns
    (subscription, product, period_start, period_end, records, quantity, amount, skipped)
    SELECT subscription, product, period_start, row ->> '$.period.end', row ->> '$.records',
        row ->> '$.quantity', row ->> '$.amount', coalesce(row ->> '$.skipped', 0)
    FROM billed_usage;
DROP TABLE billed_usage;
ALTER TABLE billed_usage_columns RENAME TO billed_usage;
