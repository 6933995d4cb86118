-- What each subscription is billed through, in a narrow table of its own: a billing run
-- moves most subscriptions' watermarks, and in `subscriptions` each update rewrote a row
-- holding the items' JSON (the whole table at each run). One row per subscription.
CREATE TABLE subscription_watermarks (
    subscription TEXT PRIMARY KEY NOT NULL
        REFERENCES subscriptions (id) DEFERRABLE INITIALLY DEFERRED,
    in_advance TEXT,
    in_arrears TEXT
) STRICT, WITHOUT ROWID;
INSERT INTO subscription_watermarks (subscription, in_advance, in_arrears)
    SELECT id, billed_through_in_advance, billed_through_in_arrears FROM subscriptions;
ALTER TABLE subscriptions DROP COLUMN billed_through_in_advance;
ALTER TABLE subscriptions DROP COLUMN billed_through_in_arrears;
