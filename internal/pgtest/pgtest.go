// Package pgtest runs a throwaway PostgreSQL cluster for tests: initdb in a temporary
// folder, listening on a Unix socket in that folder and a free loopback port, with
// durability switched off. A test binary starts at most one cluster, the first time a test
// asks for a database, and each test gets a database of its own, dropped when it ends.
//
// The server comes from Debian's PostgreSQL packages (initdb and pg_ctl in $PORTAL_PGTEST_BIN,
// else on PATH or under /usr/lib/postgresql/*/bin). Without them, Need skips the test locally and fails it in CI.
// As root, the cluster runs as the user postgres, since initdb refuses to run as root.
package pgtest

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver

	"portal/internal/ci"
)

// ErrMissing says the PostgreSQL server programs are not installed.
var ErrMissing = errors.New("PostgreSQL server programs (initdb, pg_ctl) not found")

// Cluster is a running throwaway PostgreSQL server.
type Cluster struct {
	dir   string // data folder, also the socket folder
	port  int
	bin   string // folder of initdb and pg_ctl
	runAs string // user that owns dir and runs the server; "" for this process's user
	admin *sql.DB
	n     atomic.Int64 // databases created
	// halted is set while the server is stopped by Halt.
	halted atomic.Bool
}

// BinEnv names the folder of initdb and pg_ctl, instead of looking for them.
const BinEnv = "PORTAL_PGTEST_BIN"

// binDir returns the folder holding initdb and pg_ctl.
func binDir() (string, error) {
	if d := os.Getenv(BinEnv); d != "" {
		for _, name := range []string{"initdb", "pg_ctl"} {
			if _, err := os.Stat(filepath.Join(d, name)); err != nil {
				return "", fmt.Errorf("%w in %s (%s)", ErrMissing, d, BinEnv)
			}
		}
		return d, nil
	}
	if p, err := exec.LookPath("pg_ctl"); err == nil {
		if _, err := exec.LookPath("initdb"); err == nil {
			return filepath.Dir(p), nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Sort(sort.Reverse(sort.StringSlice(dirs))) // the newest version first (by name)
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", ErrMissing
}

// Start initialises and starts a cluster. Stop it with Stop.
func Start() (*Cluster, error) {
	bin, err := binDir()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "pgtest-")
	if err != nil {
		return nil, err
	}
	c := &Cluster{dir: dir, bin: bin}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			os.RemoveAll(dir)
			return nil, fmt.Errorf("running as root needs the user postgres to run the server: %w", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			os.RemoveAll(dir)
			return nil, err
		}
		c.runAs = "postgres"
	}
	if c.port, err = freePort(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	data := filepath.Join(dir, "data")
	if out, err := c.command("initdb", "-D", data, "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("initdb: %w\n%s", err, out)
	}
	if err := c.Resume(); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c.admin, err = sql.Open("pgx", c.DSN("postgres"))
	if err == nil {
		err = c.admin.Ping()
	}
	if err != nil {
		c.Stop()
		return nil, fmt.Errorf("connect to the test cluster: %w", err)
	}
	return c, nil
}

// Resume starts the server of a cluster that Halt stopped (Start runs it too) and returns
// once it accepts connections.
func (c *Cluster) Resume() error {
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "+
		"-c full_page_writes=off -c max_connections=300", c.port, c.dir)
	logPath := filepath.Join(c.dir, "server.log")
	if out, err := c.command("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-o", opts, "-l", logPath, "-w", "start").CombinedOutput(); err != nil {
		log, _ := os.ReadFile(logPath)
		return fmt.Errorf("pg_ctl start: %w\n%s\n%s", err, out, log)
	}
	c.halted.Store(false)
	return nil
}

// Halt stops the server as an operator's fast shutdown does (pg_ctl stop -m fast): open
// connections are ended, new ones are refused. The data stays; Resume starts it again on
// the same port and socket.
func (c *Cluster) Halt() error {
	if out, err := c.command("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "fast", "-w", "stop").CombinedOutput(); err != nil {
		return fmt.Errorf("pg_ctl stop: %w\n%s", err, out)
	}
	c.halted.Store(true)
	return nil
}

func (c *Cluster) command(name string, args ...string) *exec.Cmd {
	prog := filepath.Join(c.bin, name)
	if c.runAs != "" {
		return exec.Command("runuser", append([]string{"-u", c.runAs, "--", prog}, args...)...)
	}
	return exec.Command(prog, args...)
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// DSN returns the URL of database name on the cluster, through its Unix socket.
func (c *Cluster) DSN(name string) string {
	q := url.Values{"host": {c.dir}, "port": {strconv.Itoa(c.port)}}
	return (&url.URL{Scheme: "postgres", User: url.User("postgres"), Path: "/" + name, RawQuery: q.Encode()}).String()
}

// CreateDatabase creates an empty database and returns its URL.
func (c *Cluster) CreateDatabase(ctx context.Context) (string, error) {
	name := fmt.Sprintf("test_%d", c.n.Add(1))
	if _, err := c.admin.ExecContext(ctx, `CREATE DATABASE `+name); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	return c.DSN(name), nil
}

// DropDatabase drops the database of dsn, ending its connections.
func (c *Cluster) DropDatabase(ctx context.Context, dsn string) error {
	name, err := dbName(dsn)
	if err != nil {
		return err
	}
	_, err = c.admin.ExecContext(ctx, `DROP DATABASE IF EXISTS `+name+` WITH (FORCE)`)
	return err
}

// dbName returns the database name in dsn.
func dbName(dsn string) (string, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(u.Path, "/"), nil
}

// Stop stops the server at once and removes its folder.
func (c *Cluster) Stop() error {
	if c.admin != nil {
		c.admin.Close()
	}
	var err error
	if !c.halted.Load() {
		out, serr := c.command("pg_ctl", "-D", filepath.Join(c.dir, "data"), "-m", "immediate", "-w", "stop").CombinedOutput()
		if serr != nil {
			err = fmt.Errorf("pg_ctl stop: %w\n%s", serr, out)
		}
	}
	return errors.Join(err, os.RemoveAll(c.dir))
}

var (
	once    sync.Once
	shared  *Cluster
	sharedE error
	inMain  bool
)

// Main runs the tests of a package that uses Need and stops the cluster, if one was
// started, when they are done: in TestMain, os.Exit(pgtest.Main(m.Run)).
func Main(run func() int) int {
	inMain = true
	defer func() {
		if shared != nil {
			if err := shared.Stop(); err != nil {
				fmt.Fprintln(os.Stderr, "pgtest:", err)
			}
		}
	}()
	return run()
}

// Need returns the URL of a new empty database, dropped when t ends. Without the
// PostgreSQL programs it skips t with the reason, or fails it in CI.
func Need(t testing.TB) string {
	t.Helper()
	if !inMain {
		t.Fatal("pgtest: the package's TestMain must run its tests through pgtest.Main")
	}
	once.Do(func() { shared, sharedE = Start() })
	if sharedE != nil {
		if errors.Is(sharedE, ErrMissing) {
			ci.Missing(t, "PostgreSQL", sharedE)
		}
		t.Fatalf("PostgreSQL test cluster: %v", sharedE)
	}
	dsn, err := shared.CreateDatabase(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := shared.DropDatabase(context.Background(), dsn); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return dsn
}

// NeedCluster starts a cluster of t's own, stopped when t ends, for a test that stops and
// starts its server (Halt, Resume) and so must not share it. Without the PostgreSQL
// programs it skips t with the reason, or fails it in CI.
func NeedCluster(t testing.TB) *Cluster {
	t.Helper()
	c, err := Start()
	if errors.Is(err, ErrMissing) {
		ci.Missing(t, "PostgreSQL", err)
	}
	if err != nil {
		t.Fatalf("PostgreSQL test cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Stop(); err != nil {
			t.Errorf("pgtest: %v", err)
		}
	})
	return c
}
