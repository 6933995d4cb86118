-- What each subscription is billed through, in a narrow row of its own: a billing run moves
-- most watermarks, and an update of `subscriptions` wrote a new version of the whole row, the
-- subscription's JSON included, to the table and the write-ahead log. Half of each page is
-- left free so that a run's new versions fit beside the old ones and the key's index is not
-- touched (heap-only tuples). Filed under the subscription's invoice owner, as every table
-- that grows with customers; a subscription's row here is written with it.
CREATE TABLE subscription_watermarks (
    owner text NOT NULL,
    subscription text PRIMARY KEY,
    in_advance text,
    in_arrears text
) WITH (fillfactor = 50);
INSERT INTO subscription_watermarks (owner, subscription, in_advance, in_arrears)
    SELECT owner, id, billed_through_in_advance, billed_through_in_arrears FROM subscriptions;
ALTER TABLE subscriptions
    DROP COLUMN billed_through_in_advance,
    DROP COLUMN billed_through_in_arrears;
