package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"portal/portalclient"
)

// opResult is the outcome of one run of the portal binary.
type opResult struct {
	code           int
	stdout, stderr string
}

// operator runs `portal args...` with env added to the test's environment.
func operator(t *testing.T, env []string, args ...string) opResult {
	t.Helper()
	cmd := exec.Command(binary, args...)
	cmd.Env = append(cmd.Environ(), env...)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return opResult{code: cmd.ProcessState.ExitCode(), stdout: out.String(), stderr: errOut.String()}
}

// want checks the exit status and that stdout (or, on failure, stderr) says each of says.
func (r opResult) want(t *testing.T, code int, says ...string) {
	t.Helper()
	text := r.stdout
	if code != 0 {
		text = r.stderr
	}
	if r.code != code {
		t.Fatalf("exit status %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	for _, s := range says {
		if !strings.Contains(text, s) {
			t.Errorf("output does not say %q:\n%s", s, text)
		}
	}
}

func decodeJSON[T any](t *testing.T, r opResult) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.stdout), &v); err != nil {
		t.Fatalf("--json output: %v\n%s", err, r.stdout)
	}
	return v
}

// Each operator command, run as the real binary against a running portal: tables, JSON,
// the activation URL that opens the session, and the exit status of every kind of failure.
func TestOperatorCommands(t *testing.T) {
	dataDir := t.TempDir()
	p := startPortal(t, dataDir, e2eConfig)
	// The username and client id come from the data folder; the password and secret,
	// kept only as hashes there, from the environment.
	env := []string{"PORTAL_URL=" + p.url, "PORTAL_DATA_DIR=" + dataDir,
		"PORTAL_PASSWORD=" + p.creds["robotpw"], "PORTAL_CLIENT_SECRET=" + p.creds["secret"]}

	operator(t, env, "environments").want(t, 0,
		"NAME     STATE    WORKSHOP             CAPACITY  RESERVED  ALLOCATED  AVAILABLE  DURATION",
		"lab-w01  RUNNING  lab-markdown-sample  3         1         0", "30m",
		"lab-w02  RUNNING  lab-small            1         0         0          0          -")
	cat := decodeJSON[portalclient.Catalog](t, operator(t, env, "environments", "--json"))
	if cat.Portal.Name != "lab" || len(cat.Environments) != 2 || cat.Environments[0].Capacity != 3 {
		t.Errorf("environments --json = %+v", cat)
	}

	r := operator(t, env, "activate", "--environment", "lab-w01", "--user", "alice")
	r.want(t, 0, p.url+"/workshops/session/lab-w01-s001/activate/?token=")
	// The portal gives a user it does not know an id of its own, and the command says so.
	if !strings.Contains(r.stderr, `knew no user "alice"`) {
		t.Errorf("stderr does not name the user the portal made: %q", r.stderr)
	}
	resp, err := p.client(nil, false).Get(strings.TrimSpace(r.stdout))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/workshops/session/lab-w01-s001/" {
		t.Errorf("activation URL answered %d to %q", resp.StatusCode, resp.Header.Get("Location"))
	}
	a := decodeJSON[portalclient.Allocation](t, operator(t, env, "activate", "--json", "--environment", "lab-w02", "--user", "bob"))
	if a.Name != "lab-w02-s001" || a.Environment != "lab-w02" || !strings.HasPrefix(a.ActivationURL, p.url+"/") {
		t.Errorf("activate --json = %+v", a)
	}
	// lab-w02 has one seat, bob's.
	operator(t, env, "activate", "--environment", "lab-w02", "--user", "dave").want(t, exitRefused,
		"No session available: the portal cannot give \"dave\" a session of lab-w02 now")

	operator(t, env, "sessions", "list").want(t, 0,
		"NAME          ENVIRONMENT  STATE    USER", "lab-w01-s001  lab-w01      RUNNING", "(reserved)", "lab-w02-s001  lab-w02      WAITING")
	list := decodeJSON[[]portalclient.Session](t, operator(t, env, "sessions", "list", "--environment", "lab-w02", "--json"))
	if len(list) != 1 || list[0].Name != "lab-w02-s001" || list[0].User != a.User {
		t.Errorf("sessions list --environment lab-w02 --json = %+v", list)
	}

	operator(t, env, "users").want(t, 0, "NAME", "ROLE", "robot@educates", "robot", "educates", "admin", a.User, "anonymous")
	users := decodeJSON[[]portalclient.User](t, operator(t, env, "users", "--json"))
	if len(users) != 4 {
		t.Errorf("users --json = %+v", users)
	}

	// A session with all its time left is not extended (the deadline is its expiry): the
	// command says why and exits 1; with --json it still prints the answer.
	operator(t, env, "sessions", "extend", "lab-w01-s001").want(t, exitRefused, "lab-w01-s001 was not extended")
	r = operator(t, env, "sessions", "extend", "lab-w01-s001", "--json")
	if x := decodeJSON[portalclient.Extension](t, r); r.code != exitRefused || x.Extended || x.Status != "RUNNING" {
		t.Errorf("sessions extend --json: %d %+v", r.code, x)
	}
	operator(t, env, "sessions", "terminate", "lab-w01-s001").want(t, 0, "Session lab-w01-s001 is stopping.")
	term := decodeJSON[portalclient.Termination](t, operator(t, env, "sessions", "terminate", "--json", "lab-w02-s001"))
	if term.Expires == nil {
		t.Errorf("sessions terminate --json = %+v", term)
	}

	// The admin account, named on the command line, lists users but may not request sessions.
	admin := []string{"--username", p.creds["admin"], "--password", p.creds["adminpw"]}
	operator(t, env, append([]string{"users"}, admin...)...).want(t, 0, "robot@educates")
	operator(t, env, append([]string{"activate", "--environment", "lab-w01", "--user", "carol"}, admin...)...).
		want(t, exitCredentials, "needs the robot account")

	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gone := "http://" + l.Addr().String()
	l.Close()
	noDir := append(env, "PORTAL_DATA_DIR="+t.TempDir())
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		says string
	}{
		{"unknown environment", env, []string{"activate", "--environment", "lab-w99", "--user", "x"}, exitNotFound, `no environment "lab-w99"`},
		{"unknown environment in sessions", env, []string{"sessions", "list", "--environment", "lab-w99"}, exitNotFound, "portal environments"},
		{"unknown session", env, []string{"sessions", "terminate", "lab-w01-s999"}, exitNotFound, `no live session "lab-w01-s999"`},
		{"wrong password", env, []string{"users", "--password", "wrong"}, exitCredentials, "--password"},
		{"wrong client secret", env, []string{"environments", "--client-secret", "wrong"}, exitCredentials, "--client-secret"},
		{"unreachable", env, []string{"environments", "--url", gone}, exitUnreachable, "cannot reach the portal at " + gone},
		{"no command", env, []string{"sessions"}, exitUsage, "Usage: portal sessions"},
		{"unknown command", env, []string{"sessions", "stop"}, exitUsage, `unknown command "stop"`},
		{"unknown flag", env, []string{"users", "--colour"}, exitUsage, "-colour"},
		{"no session name", env, []string{"sessions", "extend"}, exitUsage, "want one session name"},
		{"no user", env, []string{"activate", "--environment", "lab-w01"}, exitUsage, "need --user"},
		{"no password", []string{"PORTAL_URL=" + p.url, "PORTAL_DATA_DIR=" + dataDir}, []string{"users"}, exitUsage, "need --password (env PORTAL_PASSWORD) and --client-secret"},
		{"no data folder", noDir, []string{"users"}, exitUsage, "need the robot's username and client id"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			operator(t, tc.env, tc.args...).want(t, tc.code, tc.says)
		})
	}
}
