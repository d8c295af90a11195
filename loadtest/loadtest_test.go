package loadtest

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
	"portal/scheduler"
	"portal/spec"
	"portal/sqlstore"
	"portal/ticket"
	"portal/web"
)

// dashboards is a provisioner whose workloads are in-process HTTP servers that act like a
// session's dashboard: a good ticket becomes a cookie, and the cookie admits.
type dashboards struct {
	mu      sync.Mutex
	servers map[string]*httptest.Server
	// dir is the data folder, where each dashboard's handle and address file are written
	// as the local provisioner writes them (with no process: its id is 0).
	dir string
	// paths counts the requests with a cookie per path.
	paths sync.Map // string → *atomic.Int64
}

var _ portal.Provisioner = (*dashboards)(nil)

func (d *dashboards) Start(ctx context.Context, r portal.StartRequest) ([]byte, error) {
	name, secret := r.Session.Name, r.Session.Secret
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if t := req.URL.Query().Get("ticket"); t != "" {
			if _, err := ticket.Verify(secret, ticket.Page, name, t, time.Now()); err != nil {
				http.Error(w, "bad ticket", http.StatusUnauthorized)
				return
			}
			http.SetCookie(w, &http.Cookie{Name: "dash", Value: name, Path: "/"})
			http.Redirect(w, req, req.URL.Path, http.StatusSeeOther)
			return
		}
		if c, err := req.Cookie("dash"); err != nil || c.Value != name {
			http.Error(w, "no cookie", http.StatusUnauthorized)
			return
		}
		n, _ := d.paths.LoadOrStore(req.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
		io.WriteString(w, "<h1>dashboard of "+name+"</h1>")
	}))
	d.mu.Lock()
	d.servers[name] = srv
	d.mu.Unlock()
	work := filepath.Join(d.dir, "sessions", name)
	if err := os.MkdirAll(work, 0o700); err != nil {
		return nil, err
	}
	h, _ := json.Marshal(map[string]any{"pid": 0, "workdir": work})
	// Written as the real provisioner writes it, whole or not at all: the tool reads
	// handles while sessions start.
	tmp := filepath.Join(work, ".handle.tmp")
	if err := os.WriteFile(tmp, h, 0o600); err != nil {
		return nil, err
	}
	if err := os.Rename(tmp, filepath.Join(work, ".handle")); err != nil {
		return nil, err
	}
	if err := os.WriteFile(filepath.Join(work, ".dashboard.addr"), []byte(srv.Listener.Addr().String()+"\n"), 0o600); err != nil {
		return nil, err
	}
	return []byte(name), nil
}

func (d *dashboards) Status(ctx context.Context, h []byte) (portal.WorkloadStatus, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if srv := d.servers[string(h)]; srv != nil {
		return portal.WorkloadStatus{Phase: portal.WorkloadReady, Endpoint: srv.URL}, nil
	}
	return portal.WorkloadStatus{Phase: portal.WorkloadGone}, nil
}

func (d *dashboards) Stop(ctx context.Context, h []byte) error {
	d.mu.Lock()
	srv := d.servers[string(h)]
	delete(d.servers, string(h))
	d.mu.Unlock()
	if srv != nil {
		srv.Close()
	}
	return nil
}

func (d *dashboards) running() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.servers)
}

// testPortal runs the portal in-process (real store, scheduler and web server) with one
// workshop of the given capacity and reserved sessions.
func testPortal(t *testing.T, capacity, reserved int) (Config, *dashboards) {
	t.Helper()
	dir := t.TempDir()
	ctx := t.Context()
	db, err := sqlstore.Open(ctx, filepath.Join(dir, "portal.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ts := httptest.NewUnstartedServer(nil)
	portalURL := "http://localhost:" + strings.Split(ts.Listener.Addr().String(), ":")[1]
	p := &portal.PortalSettings{Name: "load", Title: "Load", RegistrationType: portal.RegistrationOneStep,
		UnknownUser: portal.UnknownUserNew, RobotUsername: "robot@test", RobotPassword: "robot-password",
		RobotClientID: "client", RobotClientSecret: "client-secret",
		Workshops: []portal.EnvironmentSettings{{Name: "lab", Resource: "lab", Capacity: capacity,
			Reserved: reserved, Initial: reserved, Expires: time.Hour}}}
	prov := &dashboards{servers: map[string]*httptest.Server{}, dir: dir}
	t.Cleanup(func() {
		for _, s := range prov.servers {
			s.Close()
		}
	})
	log := slog.New(slog.DiscardHandler)
	sched, err := scheduler.New(scheduler.Config{Store: db, Provisioner: prov, Logger: log, Portal: p,
		Workshops: map[string]portal.Workshop{"lab": {Name: "lab", Title: "Lab"}}, PortalURL: portalURL,
		IngressDomain: "localhost", IngressProtocol: "http", Tick: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if err := sched.Open(ctx); err != nil {
		t.Fatal(err)
	}
	loopCtx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { sched.Run(loopCtx); close(done) }()
	h, err := web.New(web.Config{Scheduler: sched, Store: db, Logger: log, PortalURL: portalURL, IngressDomain: "localhost"})
	if err != nil {
		t.Fatal(err)
	}
	ts.Config.Handler = h
	ts.Start()
	t.Cleanup(func() { ts.Close(); stop(); <-done })
	return Config{URL: portalURL, ClientID: "client", ClientSecret: "client-secret", Username: "robot@test",
		Password: "robot-password", DataDir: dir, Concurrency: 2, Duration: 150 * time.Millisecond,
		Timeout: 10 * time.Second, Terminals: -1}, prov
}

// TestLoadScenarios runs every scenario with a few users against an in-process portal and
// checks that the report is produced, holds the expected operations, passes its checks and
// survives a JSON round trip. It asserts no timings.
func TestLoadScenarios(t *testing.T) {
	tests := []struct {
		name     string
		scenario string
		capacity int
		reserved int
		users    int
		ops      []string
		baseline string
		writes   float64
	}{
		{"class-start-warm", ClassStart, 3, 3, 3, []string{"request", "activate", "session-page", "dashboard", "time-to-dashboard", "user-sessions", "terminate"}, "", 0},
		{"class-start-on-demand", ClassStart, 3, 0, 3, []string{"request", "activate", "session-page", "dashboard", "time-to-dashboard", "user-sessions", "terminate"}, "", 0},
		{Reacquire, Reacquire, 2, 0, 2, []string{"reacquire"}, "baseline", 0},
		{"reacquire-with-writes", Reacquire, 12, 0, 2, []string{"reacquire", "reacquire-with-writes", "write-request", "write-activate", "write-terminate"}, "baseline", 20},
		{Catalog, Catalog, 2, 1, 0, []string{"catalog"}, "baseline", 0},
		{"catalog-with-writes", Catalog, 12, 1, 0, []string{"catalog", "catalog-with-writes", "write-request", "write-activate", "write-terminate"}, "baseline", 20},
		{Churn, Churn, 20, 0, 0, []string{"request", "activate", "terminate"}, "", 0},
		{Proxy, Proxy, 1, 1, 0, []string{"proxy", "proxy-landing", "bare-proxy-landing"}, "bare-proxy", 0},
		{Live, Live, 3, 0, 3, []string{"request", "activate", "session-page", "dashboard", "user-sessions"}, "", 0},
		{Baseline, Baseline, 0, 0, 0, []string{"baseline"}, "", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel() // each has its own portal; nothing is timed
			var cfg Config
			var prov *dashboards
			if tt.scenario != Baseline {
				cfg, prov = testPortal(t, tt.capacity, tt.reserved)
			} else {
				cfg = Config{Concurrency: 2, Duration: 200 * time.Millisecond}
			}
			cfg.Scenario, cfg.Users, cfg.WriteRate = tt.scenario, tt.users, tt.writes
			rep, err := Run(t.Context(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			if failed := rep.Failed(); len(failed) > 0 || len(rep.Checks) == 0 {
				t.Fatalf("checks = %+v", rep.Checks)
			}
			for _, name := range tt.ops {
				o := rep.Op(name)
				if o == nil || o.Count == 0 || o.Errors != 0 {
					t.Fatalf("operation %s = %+v in %+v", name, o, rep.Operations)
				}
				if o.P50 > o.P95 || o.P95 > o.P99 || o.P99 > o.Max || o.Throughput <= 0 {
					t.Fatalf("operation %s has inconsistent figures: %+v", name, o)
				}
			}
			if tt.scenario != Baseline && rep.Figures["openapi_answers_validated"] <= 0 {
				t.Fatalf("no REST answer validated against /openapi.json: %v", rep.Figures)
			}
			if tt.scenario == ClassStart {
				if got := rep.Op("request").Count; got != tt.users {
					t.Fatalf("%d requests, want %d", got, tt.users)
				}
				if rep.Figures["first_request_to_last_dashboard_s"] <= 0 {
					t.Fatalf("figures = %v", rep.Figures)
				}
			}
			if tt.baseline != "" {
				if rep.Baseline == nil || rep.Baseline.Name != tt.baseline || rep.Baseline.Count == 0 || rep.Ratio <= 0 {
					t.Fatalf("baseline = %+v, ratio %v", rep.Baseline, rep.Ratio)
				}
			}
			if tt.writes > 0 && rep.Figures["ratio_with_writes"] <= 0 {
				t.Fatalf("figures = %v", rep.Figures)
			}
			if tt.scenario == Proxy {
				// The cheap path is what the proxy figure measures, by default.
				n, _ := prov.paths.Load(DefaultProxyPath)
				if n == nil || n.(*atomic.Int64).Load() < int64(rep.Op("proxy").Count) {
					t.Fatalf("%s requested %v times, proxy count %d", DefaultProxyPath, n, rep.Op("proxy").Count)
				}
			}
			if tt.scenario == Proxy && (rep.P99Ratio <= 0 || rep.Figures["landing_throughput_ratio"] <= 0 || rep.Figures["landing_p99_ratio"] <= 0) {
				t.Fatalf("p99 ratio %v, figures %v", rep.P99Ratio, rep.Figures)
			}
			if tt.scenario == Churn && prov.running() != 0 {
				t.Fatalf("%d dashboards still running after churn", prov.running())
			}

			var text strings.Builder
			if err := rep.WriteText(&text); err != nil {
				t.Fatal(err)
			}
			for _, name := range tt.ops {
				if !strings.Contains(text.String(), "\n"+name+" ") {
					t.Fatalf("text report lacks %s:\n%s", name, text.String())
				}
			}
			path := filepath.Join(t.TempDir(), "report.json")
			if err := rep.WriteJSON(path); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			var back Report
			if err := json.Unmarshal(b, &back); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(rep, &back); diff != "" {
				t.Fatalf("JSON round trip (-want +got):\n%s", diff)
			}
		})
	}
}

// TestLoadChurnFindsLeak checks that the leak check fails when a session is left: a session
// the tool did not make stays allocated.
func TestLoadChurnFindsLeak(t *testing.T) {
	cfg, _ := testPortal(t, 20, 0)
	c := newClient([]string{cfg.URL}, 1, newRecorder())
	if err := c.login(t.Context(), cfg.ClientID, cfg.ClientSecret, cfg.Username, cfg.Password); err != nil {
		t.Fatal(err)
	}
	if _, _, err := c.request(t.Context(), "load-w01", "", "stays@loadtest.test"); err != nil {
		t.Fatal(err)
	}
	cfg.Scenario, cfg.Timeout = Churn, time.Second
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range rep.Failed() {
		names = append(names, f.Name)
	}
	want := []string{"no allocated session left", "no live session record left"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Fatalf("failed checks (-want +got):\n%s", diff)
	}
}

func TestLoadQuantile(t *testing.T) {
	var lat []time.Duration
	for i := 1; i <= 100; i++ {
		lat = append(lat, time.Duration(i)*time.Millisecond)
	}
	for _, tt := range []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.95, 95 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}} {
		if got := quantile(lat, tt.q); got != tt.want {
			t.Errorf("quantile(%v) = %v, want %v", tt.q, got, tt.want)
		}
	}
	if got := quantile([]time.Duration{7}, 0.99); got != 7 {
		t.Errorf("quantile of one = %v", got)
	}
}

// TestLoadPortalConfigs: the generated configuration and the example ones load, with the
// capacity and reserved sessions they promise.
func TestLoadPortalConfigs(t *testing.T) {
	gen := filepath.Join(t.TempDir(), "gen.yaml")
	if err := os.WriteFile(gen, []byte(PortalConfig(7, 3, "", false, "robot@x", "pw", "id", "secret")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		path               string
		capacity, reserved int
	}{
		{gen, 7, 3},
		{"testdata/class-start-warm.yaml", 200, 200},
		{"testdata/class-start-on-demand.yaml", 200, 0},
	} {
		c, err := spec.Load(tt.path)
		if err != nil {
			t.Fatalf("%s: %v", tt.path, err)
		}
		w := c.Portal.Workshops
		if len(w) != 1 || w[0].Capacity != tt.capacity || w[0].Reserved != tt.reserved {
			t.Errorf("%s: workshops = %+v, want capacity %d, reserved %d", tt.path, w, tt.capacity, tt.reserved)
		}
	}
}

// TestLoadCredentialsFromDataDir: the robot's username and client id missing from the
// configuration are read from the portal's data folder.
func TestLoadCredentialsFromDataDir(t *testing.T) {
	cfg, _ := testPortal(t, 2, 1)
	cfg.Scenario, cfg.ClientID, cfg.Username = Catalog, "", ""
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if failed := rep.Failed(); len(failed) > 0 {
		t.Fatalf("failed checks: %+v", failed)
	}
	cfg.DataDir = t.TempDir()
	if _, err := Run(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "no portal data") {
		t.Fatalf("a folder without portal data: %v", err)
	}
}
