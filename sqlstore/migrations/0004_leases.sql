-- Leases choose one holder among the portals sharing the database (portal.Leaser).
-- expires is unix nanoseconds; token grows each time the lease changes hands.
CREATE TABLE leases (
	name TEXT PRIMARY KEY,
	holder TEXT NOT NULL,
	token BIGINT NOT NULL,
	expires BIGINT NOT NULL
);
