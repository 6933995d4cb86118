-- An account's payment terms in days; NULL is the default (30 days).
ALTER TABLE accounts ADD COLUMN payment_terms_days integer;
