-- What runs billed of usage is filed under its subscription's invoice owner, as every table
-- that grows with customers is: a distributed PostgreSQL keeps it with the subscription.
ALTER TABLE billed_usage ADD COLUMN owner text;
UPDATE billed_usage b SET owner = s.owner FROM subscriptions s WHERE s.id = b.subscription;
ALTER TABLE billed_usage ALTER COLUMN owner SET NOT NULL;
