package main

import (
	"io"
	"log/slog"
	"strings"
	"testing"
)

// TestParseServeStartConcurrency checks --start-concurrency and PORTAL_START_CONCURRENCY:
// a number is kept, nothing means the scheduler's default, and anything else is refused
// with an error that names the flag.
func TestParseServeStartConcurrency(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want int
		err  string
	}{
		{args: nil, want: 0},
		{args: []string{"--start-concurrency", "48"}, want: 48},
		{env: "12", want: 12},
		{args: []string{"--start-concurrency", "3"}, env: "12", want: 3},
		{args: []string{"--start-concurrency", "-1"}, err: "--start-concurrency"},
		{args: []string{"--start-concurrency", "many"}, err: "--start-concurrency"},
		{env: "1.5", err: "--start-concurrency"},
	} {
		t.Setenv("PORTAL_START_CONCURRENCY", tt.env)
		c, err := parseServe(tt.args, io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v env %q: err = %v, want one naming %s", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v env %q: %v", tt.args, tt.env, err)
		} else if c.StartConcurrency != tt.want {
			t.Errorf("%v env %q: StartConcurrency = %d, want %d", tt.args, tt.env, c.StartConcurrency, tt.want)
		}
	}
}

// TestParseServeSharedDashboards checks --shared-dashboards and PORTAL_SHARED_DASHBOARDS:
// on unless turned off, the flag over the variable, whether the operator set it (which
// decides how loudly a fallback is logged), and a value that is not a boolean refused with
// an error naming the variable.
func TestParseServeSharedDashboards(t *testing.T) {
	for _, tt := range []struct {
		args        []string
		env         string
		want, asked bool
		err         string
	}{
		{want: true, asked: false},
		{args: []string{"--shared-dashboards"}, want: true, asked: true},
		{args: []string{"--shared-dashboards=false"}, want: false, asked: true},
		{env: "true", want: true, asked: true},
		{env: "false", want: false, asked: true},
		{args: []string{"--shared-dashboards=false"}, env: "true", want: false, asked: true},
		{args: []string{"--shared-dashboards=true"}, env: "false", want: true, asked: true},
		{env: "sometimes", err: "PORTAL_SHARED_DASHBOARDS"},
	} {
		t.Setenv("PORTAL_SHARED_DASHBOARDS", tt.env)
		c, err := parseServe(tt.args, io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v env %q: err = %v, want one naming %s", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v env %q: %v", tt.args, tt.env, err)
			continue
		}
		if c.SharedDashboards != tt.want || c.SharedDashboardsAsked != tt.asked {
			t.Errorf("%v env %q: SharedDashboards = %v (asked %v), want %v (asked %v)", tt.args, tt.env,
				c.SharedDashboards, c.SharedDashboardsAsked, tt.want, tt.asked)
		}
	}
}

// fakeSharing stands for a provisioner that reports whether its sessions share a host.
type fakeSharing struct {
	shared bool
	note   string
}

func (f fakeSharing) SharedDashboards() (bool, string) { return f.shared, f.note }

// TestLogDashboardMode checks the startup line about the dashboard mode: one Info line
// when sessions share a host, when the default falls back (saying why), and when the
// operator turned sharing off; a Warn only when the operator asked for shared dashboards
// and the sessions cannot have them.
func TestLogDashboardMode(t *testing.T) {
	const why = "each session runs its own dashboard: sessions have egress"
	for _, tt := range []struct {
		name         string
		c            serveConfig
		lp           fakeSharing
		level        string
		msg, wantWhy string
	}{
		{"shared by default", serveConfig{SharedDashboards: true}, fakeSharing{true, "the sessions share"},
			"INFO", "shared dashboards: one dashboard process per environment", ""},
		{"default falls back", serveConfig{SharedDashboards: true}, fakeSharing{false, why},
			"INFO", "dashboard per session", "sessions have egress"},
		{"asked for and falls back", serveConfig{SharedDashboards: true, SharedDashboardsAsked: true}, fakeSharing{false, why},
			"WARN", "--shared-dashboards has no effect", "sessions have egress"},
		{"turned off", serveConfig{SharedDashboards: false, SharedDashboardsAsked: true},
			fakeSharing{false, "each session runs its own dashboard: shared dashboards are off"},
			"INFO", "dashboard per session", "--shared-dashboards=false"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var buf strings.Builder
			logDashboardMode(slog.New(slog.NewTextHandler(&buf, nil)), &tt.c, tt.lp)
			lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
			if len(lines) != 1 {
				t.Fatalf("logged %d lines, want one:\n%s", len(lines), buf.String())
			}
			if !strings.Contains(lines[0], "level="+tt.level) || !strings.Contains(lines[0], tt.msg) || !strings.Contains(lines[0], tt.wantWhy) {
				t.Errorf("logged %s\nwant level %s, %q and %q", lines[0], tt.level, tt.msg, tt.wantWhy)
			}
		})
	}
}

// TestLogDashboardModeUnsandboxed checks the line a real provisioner gets when the default
// (shared) cannot be had because sessions run unsandboxed: Info, with the reason.
func TestLogDashboardModeUnsandboxed(t *testing.T) {
	t.Setenv("PORTAL_SHARED_DASHBOARDS", "")
	c, err := parseServe([]string{"--allow-unsandboxed", "--bwrap", "/nonexistent/bwrap", "--session-limits=false"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	var buf strings.Builder
	data := privateDir(t)
	r, err := newLocalProvisioner(&c, data, t.TempDir(), slog.New(slog.NewTextHandler(&buf, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var line string
	for l := range strings.Lines(buf.String()) {
		if strings.Contains(l, "dashboard") && strings.Contains(l, "per session") {
			line = l
		}
	}
	if !strings.Contains(line, "level=INFO") || !strings.Contains(line, "sessions run unsandboxed") {
		t.Errorf("the dashboard mode line is %q, want an Info line saying sessions run unsandboxed; log:\n%s", line, buf.String())
	}
}

// TestParseServeImageRepository checks --image-repository and PORTAL_IMAGE_REPOSITORY:
// empty unless set, the flag over the variable.
func TestParseServeImageRepository(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		env, want string
	}{
		{want: ""},
		{env: "ghcr.io/org", want: "ghcr.io/org"},
		{args: []string{"--image-repository", "localhost:5001"}, env: "ghcr.io/org", want: "localhost:5001"},
	} {
		t.Setenv("PORTAL_IMAGE_REPOSITORY", tt.env)
		c, err := parseServe(tt.args, io.Discard)
		if err != nil {
			t.Fatalf("%v env %q: %v", tt.args, tt.env, err)
		}
		if c.ImageRepository != tt.want {
			t.Errorf("%v env %q: ImageRepository = %q, want %q", tt.args, tt.env, c.ImageRepository, tt.want)
		}
	}
}

// TestParseServeDatabase checks --database and PORTAL_DATABASE: a PostgreSQL URL is kept,
// nothing keeps SQLite, and anything else is refused naming the flag, without showing a
// password.
func TestParseServeDatabase(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want string
		err  string
	}{
		{want: ""},
		{args: []string{"--database", "postgres://p@db/portal"}, want: "postgres://p@db/portal"},
		{env: "postgresql://p@db/portal", want: "postgresql://p@db/portal"},
		{args: []string{"--database", "postgres://a@x/y"}, env: "postgres://b@x/y", want: "postgres://a@x/y"},
		{args: []string{"--database", "mysql://u:hunter2@db/portal"}, err: "--database"},
		{env: "portal.db", err: "--database"},
	} {
		t.Setenv("PORTAL_DATABASE", tt.env)
		c, err := parseServe(tt.args, io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) || strings.Contains(err.Error(), "hunter2") {
				t.Errorf("%v env %q: err = %v, want one naming %s without the password", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v env %q: %v", tt.args, tt.env, err)
		} else if c.Database != tt.want {
			t.Errorf("%v env %q: Database = %q, want %q", tt.args, tt.env, c.Database, tt.want)
		}
	}
}

// TestLogFormat checks --log-format: json writes one JSON object a line, text the default
// lines, and anything else is refused naming the flag.
func TestLogFormat(t *testing.T) {
	var b strings.Builder
	log, err := newLogger("info", "json", &b)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("portal ready", "url", "http://localhost:8080")
	if got := b.String(); !strings.HasPrefix(got, "{") || !strings.Contains(got, `"msg":"portal ready"`) || !strings.Contains(got, `"url":"http://localhost:8080"`) {
		t.Errorf("json line = %q", got)
	}
	b.Reset()
	if log, err = newLogger("info", "text", &b); err != nil {
		t.Fatal(err)
	}
	log.Info("portal ready")
	if got := b.String(); !strings.Contains(got, `msg="portal ready"`) {
		t.Errorf("text line = %q", got)
	}
	if _, err := newLogger("info", "yaml", io.Discard); err == nil || !strings.Contains(err.Error(), "--log-format") {
		t.Errorf("yaml: err = %v, want one naming --log-format", err)
	}
	c, err := parseServe([]string{"--log-format", "json", "--metrics-addr", "127.0.0.1:9100", "--metrics-token", "t"}, io.Discard)
	if err != nil || c.LogFormat != "json" || c.MetricsAddr != "127.0.0.1:9100" || c.MetricsToken != "t" {
		t.Errorf("parseServe = %+v, %v", c, err)
	}
}
