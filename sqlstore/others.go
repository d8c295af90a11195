package sqlstore

import (
	"context"
	"time"
)

// othersPoll is how often a store looks for commits made to its database file by other
// processes (e.g. `portal credentials --reset` beside a running portal).
const othersPoll = time.Second

// watchOthers moves Version, every interval at most, when another process committed to the
// database file, so that what this process keeps in memory by version (sessions, logins,
// catalog answers) is read again. It asks the writer connection for SQLite's data_version,
// which changes only with commits of other connections; this process writes on that
// connection alone, so its own commits (counted by the writer) are not counted twice.
func (db *DB) watchOthers(interval time.Duration) {
	db.stopWatch = make(chan struct{})
	db.watchDone = make(chan struct{})
	go func() {
		defer close(db.watchDone)
		t := time.NewTicker(interval)
		defer t.Stop()
		last, ok := db.dataVersion()
		for {
			select {
			case <-db.stopWatch:
				return
			case <-t.C:
			}
			v, read := db.dataVersion()
			if !read {
				continue // tried again at the next tick
			}
			if ok && v != last {
				db.w.commits.Add(1)
			}
			last, ok = v, true
			db.polls.Add(1)
		}
	}()
}

// stopWatching ends watchOthers, if it runs, and waits for it.
func (db *DB) stopWatching() {
	if db.stopWatch != nil {
		close(db.stopWatch)
		<-db.watchDone
		db.stopWatch, db.watchDone = nil, nil
	}
}

// dataVersion reads SQLite's data_version on the writer connection; ok is false when it
// could not be read (the database is closing, or busy for longer than a poll).
func (db *DB) dataVersion() (v int64, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), othersPoll)
	defer cancel()
	if err := db.write.QueryRowContext(ctx, `PRAGMA data_version`).Scan(&v); err != nil {
		return 0, false
	}
	return v, true
}
