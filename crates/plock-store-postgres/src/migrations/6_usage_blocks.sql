-- Imported usage in blocks: one row per account key and stretch of an import, its records as
-- the import's canonical CSV lines (`account_key,metric,timestamp,quantity,record_id`). The
-- server's work a row is most of an import's, and a block of records is one row. Filed under
-- the key's invoice owner, as every table that grows with customers; a link or an unlink
-- moves a key's blocks as it moved its rows.
CREATE TABLE usage_blocks (
    owner text NOT NULL,
    account_key text NOT NULL,
    records integer NOT NULL CHECK (records > 0),
    csv text NOT NULL
);
-- Large blocks are compressed with lz4, several times faster than the default pglz; a
-- server built without lz4 keeps them uncompressed rather than spend its time in pglz.
DO $$
BEGIN
    ALTER TABLE usage_blocks ALTER COLUMN csv SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
    ALTER TABLE usage_blocks ALTER COLUMN csv SET STORAGE EXTERNAL;
END
$$;
