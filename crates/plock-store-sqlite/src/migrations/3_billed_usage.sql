-- What billing runs billed of usage items in arrears, period by period: the latest of each
-- (subscription, product, period start). A later run bills usage that arrives for these
-- periods against it. The row is the core type as JSON.
CREATE TABLE billed_usage (
    subscription TEXT NOT NULL,
    product TEXT NOT NULL,
    period_start TEXT NOT NULL,
    row TEXT NOT NULL,
    PRIMARY KEY (subscription, product, period_start)
) STRICT, WITHOUT ROWID;
