-- The webhook outbox (portal.Outbox, portal.Dispatch): one row per event and webhook,
-- added in the transaction of the change that caused the event, removed once sent.
-- Times are unix nanoseconds; claim_until 0 is no claim.
CREATE TABLE deliveries (
	id           {id},
	event        TEXT NOT NULL,
	name         TEXT NOT NULL,
	url          TEXT NOT NULL,
	body         {bytes} NOT NULL,
	created      BIGINT NOT NULL,
	attempts     INTEGER NOT NULL,
	next_attempt BIGINT NOT NULL,
	last_error   TEXT NOT NULL,
	failed       BOOLEAN NOT NULL,
	claim        TEXT NOT NULL,
	claim_until  BIGINT NOT NULL
);

-- The oldest delivery of each URL that is not failed, and the failures page.
CREATE INDEX deliveries_url ON deliveries (failed, url, id);
CREATE INDEX deliveries_attempts ON deliveries (attempts, id);
