-- Indexes and counters for the hot paths (see docs/performance.md).

-- session_counts holds how many sessions each environment has per owned-or-not and
-- state, kept by triggers on sessions, so that the capacity counts of every allocation
-- and reconciler pass are a lookup of a few rows rather than a scan of every session.
-- The triggers are the dialect's own (see dialect.go).
CREATE TABLE session_counts (
	environment TEXT NOT NULL,
	owned       INTEGER NOT NULL, -- 1 when the session has an owner
	state       INTEGER NOT NULL,
	n           INTEGER NOT NULL,
	PRIMARY KEY (environment, owned, state)
);

INSERT INTO session_counts (environment, owned, state, n)
SELECT environment, CASE WHEN owner <> '' THEN 1 ELSE 0 END, state, COUNT(*)
FROM sessions GROUP BY environment, CASE WHEN owner <> '' THEN 1 ELSE 0 END, state;

{session_count_triggers}

-- The sessions whose workload was never ready: STARTING (1) or RUNNING (3) with no ready
-- time. The reconciler watches these every pass; the partial index keeps that proportional
-- to the sessions starting, not to all sessions.
CREATE INDEX sessions_unready ON sessions (created, name) WHERE ready IS NULL AND state IN (1, 3);

-- The ready sessions (WAITING (2) or RUNNING (3) with a ready time and a handle) whose
-- workloads the reconciler checks for having vanished: name, state and handle only, read
-- from the index alone.
CREATE INDEX sessions_watched ON sessions (name, state, handle, ready)
WHERE state IN (2, 3) AND ready IS NOT NULL AND handle IS NOT NULL;

-- The oldest spare of an environment in a state (ClaimReserved), without walking the
-- spares that stopped.
CREATE INDEX sessions_claim ON sessions (environment, owner, state, created, name);

-- A user's sessions, in list order (reacquire, the user's sessions endpoint).
CREATE INDEX sessions_owner_created ON sessions (owner, created, name);

-- Deleting a user removes its tokens and logins.
CREATE INDEX access_tokens_user ON access_tokens (user_name);
CREATE INDEX browser_sessions_user ON browser_sessions (user_name);
