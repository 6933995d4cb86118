-- Usage is appended in bulk, and nothing is maintained row by row while it is: the block
-- range index on `unix_day` cost a quarter of the server's time in a binary COPY. Billing
-- reads usage whole; a period's usage of some accounts is read by a scan of the table.
-- `unix_day` served only that index; a record's day is its `at`.
DROP INDEX usage_by_day;
ALTER TABLE usage DROP COLUMN unix_day;
