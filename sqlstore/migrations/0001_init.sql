-- The portal's schema. Type names in braces are replaced per dialect (see dialect.go):
-- {id} is an auto-assigned integer primary key whose values are never reused, {bytes} a
-- binary string. Times are unix nanoseconds; NULL is the zero time.

CREATE TABLE settings (
	name  TEXT PRIMARY KEY,
	value TEXT NOT NULL
);

CREATE TABLE environments (
	id       {id},
	name     TEXT UNIQUE, -- NULL only while CreateEnvironment runs
	state    INTEGER NOT NULL,
	position INTEGER NOT NULL,
	created  BIGINT,
	tally    INTEGER NOT NULL,
	used     BOOLEAN NOT NULL,
	workshop TEXT NOT NULL,
	settings TEXT NOT NULL
);

CREATE INDEX environments_state ON environments (state);

CREATE TABLE sessions (
	name            TEXT PRIMARY KEY,
	environment     TEXT NOT NULL,
	number          INTEGER NOT NULL,
	state           INTEGER NOT NULL,
	owner           TEXT NOT NULL,
	created         BIGINT,
	started         BIGINT,
	expires         BIGINT,
	ready           BIGINT,
	activated       BOOLEAN NOT NULL,
	rest            BOOLEAN NOT NULL,
	index_url       TEXT NOT NULL,
	analytics_url   TEXT NOT NULL,
	params          TEXT NOT NULL,
	secret          TEXT NOT NULL,
	config_password TEXT NOT NULL,
	handle          {bytes},
	endpoint        TEXT NOT NULL,
	reason          TEXT NOT NULL
);

CREATE INDEX sessions_environment_state ON sessions (environment, state);
CREATE INDEX sessions_owner_state ON sessions (owner, state);
CREATE INDEX sessions_state_expires ON sessions (state, expires);
CREATE INDEX sessions_created ON sessions (created, name);

CREATE TABLE activation_tokens (
	hash    TEXT PRIMARY KEY,
	session TEXT NOT NULL REFERENCES sessions (name) ON DELETE CASCADE,
	created BIGINT
);

CREATE INDEX activation_tokens_session ON activation_tokens (session);

CREATE TABLE users (
	name          TEXT PRIMARY KEY,
	email         TEXT NOT NULL,
	first_name    TEXT NOT NULL,
	last_name     TEXT NOT NULL,
	user_group    TEXT NOT NULL,
	staff         BOOLEAN NOT NULL,
	password_hash TEXT NOT NULL,
	created       BIGINT
);

CREATE TABLE access_tokens (
	access_hash     TEXT PRIMARY KEY,
	refresh_hash    TEXT UNIQUE,
	user_name       TEXT NOT NULL,
	client_id       TEXT NOT NULL,
	scope           TEXT NOT NULL,
	created         BIGINT,
	expires         BIGINT,
	refresh_expires BIGINT
);

CREATE TABLE browser_sessions (
	hash          TEXT PRIMARY KEY,
	user_name     TEXT NOT NULL,
	created       BIGINT,
	expires       BIGINT,
	access_passed BOOLEAN NOT NULL
);

CREATE INDEX browser_sessions_expires ON browser_sessions (expires);
