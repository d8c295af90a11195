package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"portal/portalclient"
)

// Exit statuses of the operator commands (environments, sessions, users, activate).
const (
	exitRefused     = 1 // the portal refused or failed the request
	exitUsage       = 2 // bad command line, or credentials missing
	exitNotFound    = 3 // no such environment or session
	exitCredentials = 4 // the portal refused the credentials, or the account may not do this
	exitUnreachable = 5 // no answer from the portal, or not a portal's answer
)

// exitError is a failure with the exit status the process ends with.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }

// exitCode is the process's exit status for an error run returned.
func exitCode(err error) int {
	var ee *exitError
	if errors.As(err, &ee) {
		return ee.code
	}
	return exitUsage
}

// usageError is a command-line mistake: the message, then a hint to see the flags.
func usageError(cmd, format string, args ...any) error {
	return &exitError{code: exitUsage, err: fmt.Errorf("%s: %s (see \"portal %s -h\")", cmd, fmt.Sprintf(format, args...), cmd)}
}

// portalError gives a client error the exit status of its kind.
func portalError(err error) error {
	code := exitRefused
	switch {
	case errors.Is(err, portalclient.ErrNotFound):
		code = exitNotFound
	case errors.Is(err, portalclient.ErrCredentials), errors.Is(err, portalclient.ErrForbidden):
		code = exitCredentials
	case errors.Is(err, portalclient.ErrUnreachable):
		code = exitUnreachable
	}
	return &exitError{code: code, err: err}
}

// operatorFlags are the flags every operator command takes: where the portal is, the
// account to log in with, and the output format.
type operatorFlags struct {
	url          string
	clientID     string
	clientSecret string
	username     string
	password     string
	dataDir      string
	database     string
	json         bool
}

func newOperatorFlags(name string, stderr io.Writer) (*flag.FlagSet, *operatorFlags) {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &operatorFlags{}
	fs.StringVar(&o.url, "url", envOr("PORTAL_URL", "http://localhost:8080"), "the portal's URL (env PORTAL_URL)")
	fs.StringVar(&o.clientID, "client-id", os.Getenv("PORTAL_CLIENT_ID"), "the robot client's id (env PORTAL_CLIENT_ID; default: read from --data-dir)")
	fs.StringVar(&o.clientSecret, "client-secret", "", "the robot client's secret (env PORTAL_CLIENT_SECRET, which keeps it out of the process list)")
	fs.StringVar(&o.username, "username", os.Getenv("PORTAL_USERNAME"), "the robot's or the admin's username (env PORTAL_USERNAME; default: the robot's, read from --data-dir)")
	fs.StringVar(&o.password, "password", "", "that account's password (env PORTAL_PASSWORD, which keeps it out of the process list)")
	fs.StringVar(&o.dataDir, "data-dir", envOr("PORTAL_DATA_DIR", "./portal-data"), "the portal's data folder, to read the robot's username and client id from, as portal credentials does (env PORTAL_DATA_DIR)")
	fs.StringVar(&o.database, "database", envOr("PORTAL_DATABASE", ""), "the portal's PostgreSQL database, to read them from instead of --data-dir (env PORTAL_DATABASE)")
	fs.BoolVar(&o.json, "json", false, "print JSON instead of a table")
	return fs, o
}

// parseArgs parses flags placed before, between or after the positional arguments, and
// returns the positional ones.
func parseArgs(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, &exitError{code: exitUsage, err: errUsage}
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}

// client returns a client of the portal with the flags' credentials, completed from the
// environment and the data folder.
func (o *operatorFlags) client(ctx context.Context, cmd string) (*portalclient.Client, error) {
	if o.clientSecret == "" {
		o.clientSecret = os.Getenv("PORTAL_CLIENT_SECRET")
	}
	if o.password == "" {
		o.password = os.Getenv("PORTAL_PASSWORD")
	}
	if o.username == "" || o.clientID == "" {
		n, err := readNames(ctx, o.database, o.dataDir)
		if err != nil {
			return nil, usageError(cmd, "need the robot's username and client id: --username and --client-id, or the portal's --data-dir or --database (%v)", err)
		}
		if o.username == "" {
			o.username = n.RobotUsername
		}
		if o.clientID == "" {
			o.clientID = n.RobotClientID
		}
	}
	var missing []string
	if o.password == "" {
		missing = append(missing, "--password (env PORTAL_PASSWORD)")
	}
	if o.clientSecret == "" {
		missing = append(missing, "--client-secret (env PORTAL_CLIENT_SECRET)")
	}
	if len(missing) > 0 {
		return nil, usageError(cmd, "need %s; the portal keeps only hashes of them, so it prints them when it makes them, and `portal credentials --reset` makes new ones",
			strings.Join(missing, " and "))
	}
	c, err := portalclient.New(o.url, portalclient.Credentials{ClientID: o.clientID, ClientSecret: o.clientSecret,
		Username: o.username, Password: o.password}, nil)
	if err != nil {
		return nil, usageError(cmd, "--url: %v", err)
	}
	return c, nil
}

// withClient runs fn with a logged-in client and revokes its token afterwards.
func (o *operatorFlags) withClient(ctx context.Context, cmd string, fn func(*portalclient.Client) error) error {
	c, err := o.client(ctx, cmd)
	if err != nil {
		return err
	}
	defer c.Logout(context.WithoutCancel(ctx))
	return fn(c)
}

// printJSON prints v as indented JSON.
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// printTable prints rows under a header, in aligned columns.
func printTable(w io.Writer, header []string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// utcTime formats an optional time in UTC to the second; "-" when absent.
func utcTime(t *time.Time) string {
	if t == nil {
		return "-"
	}
	return t.UTC().Format("2006-01-02 15:04:05 UTC")
}

// durationText formats a number of seconds as 1h, 1h05m, 30m, 29m59s or 59s; "-" when
// absent.
func durationText(seconds *int) string {
	if seconds == nil {
		return "-"
	}
	h, m, sec := *seconds/3600, *seconds/60%60, *seconds%60
	switch {
	case h > 0 && m == 0:
		return fmt.Sprintf("%dh", h)
	case h > 0:
		return fmt.Sprintf("%dh%02dm", h, m)
	case m > 0 && sec == 0:
		return fmt.Sprintf("%dm", m)
	case m > 0:
		return fmt.Sprintf("%dm%02ds", m, sec)
	}
	return fmt.Sprintf("%ds", sec)
}

// explained is an error told in a sentence of the command's own, keeping its kind.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

func explain(err error, format string, args ...any) error {
	return &explained{msg: fmt.Sprintf(format, args...), err: err}
}
