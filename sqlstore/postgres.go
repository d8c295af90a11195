package sqlstore

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
)

// Advisory lock keys of the store (any numbers no other program on the database uses).
const (
	// writeLockKey is held by each write transaction until it ends.
	writeLockKey = 0x706f7274 // "port"
	// migrateLockKey is held while a store applies migrations.
	migrateLockKey = 0x706f7275
	// keyedLockSpace is the first of the two keys of an UpdateKeyed's lock (the second
	// is the hash of its key).
	keyedLockSpace = 0x706f7276
)

// maxPostgresConns bounds the connections of one store: the writer's one at a time and
// the Views'.
const maxPostgresConns = 16

// postgresDialect is PostgreSQL through pgx's database/sql driver. A process runs its
// Updates one batch at a time, as on SQLite, and every write transaction first takes one
// transaction-scoped advisory lock, so the writes of all the processes sharing the
// database are serialised too: what an Update reads (capacity counts, the portal's
// maximum) stays true until it commits, in whichever replica it runs. Views are not
// blocked by it. Transactions are READ COMMITTED, so the statements after the lock see
// every write committed before it was granted.
var postgresDialect = &dialect{
	name: "postgres",
	types: strings.NewReplacer(
		"{id}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
		"{bytes}", "BYTEA",
		"{session_count_triggers}", postgresCountTriggers,
	),
	rebind:        dollarPlaceholders,
	claimLock:     " FOR UPDATE SKIP LOCKED",
	runLock:       " FOR UPDATE OF d",
	isUnique:      func(err error) bool { return pgCode(err) == "23505" },
	isForeignKey:  func(err error) bool { return pgCode(err) == "23503" },
	abortsOnError: true,
	writeLock:     "SELECT pg_advisory_xact_lock(" + strconv.Itoa(writeLockKey) + ")",
	shared:        true,
	commitNote:    "SELECT pg_notify('" + commitChannel + "', '')",
	activityNote:  "SELECT pg_notify('" + commitChannel + "', '" + activityPayload + "')",
}

// commitChannel is the notification channel of the commits that wrote something.
const commitChannel = "portal_commits"

// activityPayload is the payload of the notification of a commit that wrote sessions'
// activity and nothing else that moves Version.
const activityPayload = "activity"

// postgresCountTriggers keep session_counts (migration 0002) in step with sessions, as
// sqliteCountTriggers do.
const postgresCountTriggers = `
CREATE FUNCTION session_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP IN ('UPDATE', 'DELETE') THEN
		UPDATE session_counts SET n = n - 1
		WHERE environment = OLD.environment
			AND owned = CASE WHEN OLD.owner <> '' THEN 1 ELSE 0 END AND state = OLD.state;
	END IF;
	IF TG_OP IN ('UPDATE', 'INSERT') THEN
		INSERT INTO session_counts (environment, owned, state, n)
		VALUES (NEW.environment, CASE WHEN NEW.owner <> '' THEN 1 ELSE 0 END, NEW.state, 1)
		ON CONFLICT (environment, owned, state) DO UPDATE SET n = session_counts.n + 1;
	END IF;
	RETURN NULL;
END
$$;

CREATE TRIGGER session_counts_insert_delete AFTER INSERT OR DELETE ON sessions
FOR EACH ROW EXECUTE FUNCTION session_counts_change();

CREATE TRIGGER session_counts_update AFTER UPDATE OF environment, owner, state ON sessions
FOR EACH ROW
WHEN (OLD.environment <> NEW.environment OR (OLD.owner <> '') <> (NEW.owner <> '') OR OLD.state <> NEW.state)
EXECUTE FUNCTION session_counts_change();
`

func pgCode(err error) string {
	var e *pgconn.PgError
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// dollarPlaceholders turns the ? placeholders of q into $1, $2, …, leaving string
// literals alone.
func dollarPlaceholders(q string) string {
	if !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	n, quoted := 0, false
	for i := 0; i < len(q); i++ {
		c := q[i]
		switch {
		case c == '\'':
			quoted = !quoted
		case c == '?' && !quoted:
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}

// OpenPostgres opens the PostgreSQL database at url (postgres://…, or the key=value form
// libpq takes) and applies migrations; processes opening the same database apply them one
// at a time. Several stores, in one process or in several, may share the database: their
// Updates are serialised by an advisory lock (see postgresDialect).
func OpenPostgres(ctx context.Context, url string) (*DB, error) {
	pool, err := sql.Open("pgx", url)
	if err != nil {
		return nil, fmt.Errorf("sqlstore: open PostgreSQL: %w", err)
	}
	pool.SetMaxOpenConns(maxPostgresConns)
	pool.SetMaxIdleConns(maxPostgresConns)
	if err := migratePostgres(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("sqlstore: open PostgreSQL: %w", err)
	}
	db := newDB(pool, pool, postgresDialect)
	db.listen(url, time.Second)
	return db, nil
}

// listen moves Version at each commit that wrote something in any process sharing the
// database, and ActivityVersion at each that wrote sessions' activity, as PostgreSQL
// notifies them on commitChannel, so that what this process keeps in memory by version is
// read again. Until it listens (at the start, and after the
// connection was lost, retried every retry), Version changes at every call: nothing is
// kept.
func (db *DB) listen(url string, retry time.Duration) {
	db.stopWatch = make(chan struct{})
	db.watchDone = make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-db.stopWatch
		cancel()
	}()
	go func() {
		defer close(db.watchDone)
		for {
			_ = db.listenOnce(ctx, url) // the loss of the connection is all that matters
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
		}
	}()
}

// listenOnce listens on one connection until it fails or ctx ends.
func (db *DB) listenOnce(ctx context.Context, url string) error {
	c, err := pgx.Connect(ctx, url)
	if err != nil {
		return err
	}
	defer c.Close(context.Background())
	if _, err := c.Exec(ctx, "LISTEN "+commitChannel); err != nil {
		return err
	}
	db.listening.Store(true)
	defer db.listening.Store(false)
	// What was committed before the LISTEN took effect was not notified.
	db.w.commits.Add(1)
	for {
		n, err := c.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		db.w.counted(n.Payload != activityPayload, n.Payload == activityPayload)
	}
}

// migratePostgres applies the migrations holding migrateLockKey.
func migratePostgres(ctx context.Context, pool *sql.DB) error {
	ms, err := loadMigrations(migrationFiles, "migrations")
	if err != nil {
		return err
	}
	c, err := pool.Conn(ctx)
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, migrateLockKey); err != nil {
		return fmt.Errorf("lock for migrations: %w", err)
	}
	err = migrate(ctx, c, postgresDialect, ms)
	if _, uerr := c.ExecContext(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, migrateLockKey); uerr != nil {
		// The lock goes with the connection, which must not return to the pool.
		c.Raw(func(any) error { return driver.ErrBadConn })
		err = errors.Join(err, uerr)
	}
	return err
}
