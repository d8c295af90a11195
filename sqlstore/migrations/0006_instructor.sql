-- The instructor role (portal.User.Instructor).
ALTER TABLE users ADD COLUMN instructor BOOLEAN NOT NULL DEFAULT FALSE;

-- What each session's dashboard last reported (portal.SessionActivity), for the
-- instructor view; removed with the session. updated is unix nanoseconds.
CREATE TABLE session_activity (
	session     TEXT PRIMARY KEY,
	page        TEXT NOT NULL,
	page_number INTEGER NOT NULL,
	pages_total INTEGER NOT NULL,
	furthest    INTEGER NOT NULL,
	examiner    TEXT NOT NULL,
	updated     BIGINT
);
