-- The usage blocks holding an account key's records: `blocks` is a JSON array of
-- `usage_blocks` ids in ascending order, the first of them `first_block`. An import adds a
-- row per account key (or a few, for a long one) rather than a row per key and block.
CREATE TABLE usage_key_blocks (
    account_key TEXT NOT NULL REFERENCES accounts (key) DEFERRABLE INITIALLY DEFERRED,
    first_block INTEGER NOT NULL,
    blocks TEXT NOT NULL,
    PRIMARY KEY (account_key, first_block)
) STRICT, WITHOUT ROWID;
INSERT INTO usage_key_blocks (account_key, first_block, blocks)
    SELECT account_key, min(block), json_group_array(block ORDER BY block)
    FROM usage_block_keys GROUP BY account_key;
DROP TABLE usage_block_keys;
