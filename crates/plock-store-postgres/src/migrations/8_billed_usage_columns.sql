-- What runs billed of usage in a column a field, written with binary COPY, rather than the
-- row's JSON, which repeated its key and every field's name.
ALTER TABLE billed_usage
    ADD COLUMN period_end text,
    ADD COLUMN records bigint,
    ADD COLUMN quantity numeric,
    ADD COLUMN amount numeric,
    ADD COLUMN skipped boolean;
UPDATE billed_usage SET
    period_end = row::jsonb #>> '{period,end}',
    records = (row::jsonb ->> 'records')::bigint,
    quantity = (row::jsonb ->> 'quantity')::numeric,
    amount = (row::jsonb ->> 'amount')::numeric,
    skipped = coalesce((row::jsonb ->> 'skipped')::boolean, false);
ALTER TABLE billed_usage
    ALTER COLUMN period_end SET NOT NULL,
    ALTER COLUMN records SET NOT NULL,
    ALTER COLUMN quantity SET NOT NULL,
    ALTER COLUMN amount SET NOT NULL,
    ALTER COLUMN skipped SET NOT NULL,
    DROP COLUMN row;
-- An invoice's JSON (2 KB on average) is compressed with lz4, several times faster than the
-- default pglz, and every invoice is, not only those over the default 2 KB row: a run's
-- invoices are most of what it writes to the table and the write-ahead log. A server built
-- without lz4 keeps the defaults rather than spend its time in pglz.
DO $$
BEGIN
    ALTER TABLE invoices ALTER COLUMN invoice SET COMPRESSION lz4;
    ALTER TABLE invoices SET (toast_tuple_target = 256);
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    NULL;
END
$$;
