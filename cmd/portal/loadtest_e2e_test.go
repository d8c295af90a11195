package main

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"portal/browsertest"
	"portal/internal/ci"
	"portal/internal/kubetest"
	"portal/internal/pgtest"
	"portal/loadtest"
)

// TestLoadtestSpawnedEndToEnd runs `portal loadtest --spawn` with the real binary: the live
// scenario measures the sessions' memory over their processes, idle and with three
// terminals open over the dashboard's WebSocket, with a dashboard per session and with the
// portal's default (shared dashboards); the proxy scenario compares the portal's
// proxy with the bare one on the cheap path and on the landing page. Every check of both
// must hold, and nothing may be left running. It asserts no timings.
func TestLoadtestSpawnedEndToEnd(t *testing.T) {
	tmp := t.TempDir()
	// The spawned data folders are made in tmp: open it to the sessions' user, as an
	// operator's folders above the data folder are (else sessions run in two layers).
	openAbove(t, filepath.Join(tmp, "data"))
	runWith := func(t *testing.T, env []string, args ...string) *loadtest.Report {
		t.Helper()
		return spawnLoadtest(t, tmp, env, args...)
	}
	run := func(t *testing.T, args ...string) *loadtest.Report {
		t.Helper()
		return runWith(t, nil, args...)
	}
	t.Run("live-per-session", func(t *testing.T) {
		// Pinned to a dashboard per session: each session counted over its own processes.
		rep := runWith(t, []string{"PORTAL_SHARED_DASHBOARDS=false"}, "--scenario", "live", "--users", "2", "--concurrency", "2")
		f := rep.Figures
		if f["live_sessions"] != 2 || f["terminals_open"] != 6 || f["sessions"] != 2 || f["portal_rss_mb"] <= 0 ||
			f["portal_pss_mb"] <= 0 || f["idle_session_pss_mb_avg"] <= 0 || f["shared_sessions"] != 0 {
			t.Fatalf("figures = %v", f)
		}
		if _, ok := f["dashboard_hosts"]; ok {
			t.Fatalf("a dashboard host counted with a dashboard per session: %v", f)
		}
		// The shells of the open terminals are counted with their session.
		if f["session_processes"] <= f["idle_session_processes"] || f["session_pss_mb_avg"] <= f["idle_session_pss_mb_avg"] {
			t.Fatalf("terminals not counted: %v", f)
		}
	})
	t.Run("live-default", func(t *testing.T) {
		// The portal's default, shared dashboards: one host serves both sessions, each
		// counted with its part of the host; the terminals start each session's agent and
		// shells.
		if _, err := exec.LookPath("bwrap"); err != nil {
			browsertest.Missing(t, "bubblewrap", err)
		}
		rep := runWith(t, []string{"PORTAL_SHARED_DASHBOARDS="}, "--scenario", "live", "--users", "2", "--concurrency", "2")
		f := rep.Figures
		if f["live_sessions"] != 2 || f["terminals_open"] != 6 || f["sessions"] != 2 || f["shared_sessions"] != 2 ||
			f["idle_shared_sessions"] != 2 || f["idle_dashboard_hosts"] != 1 || f["dashboard_hosts"] != 1 ||
			f["portal_rss_mb"] <= 0 || f["idle_session_pss_mb_avg"] <= 0 || f["dashboard_host_pss_mb"] <= 0 {
			t.Fatalf("figures = %v", f)
		}
		if f["session_processes"] <= f["idle_session_processes"] || f["session_pss_mb_avg"] <= f["idle_session_pss_mb_avg"] {
			t.Fatalf("the terminals' agents and shells are not counted: %v", f)
		}
	})
	t.Run("class-start-first-terminal", func(t *testing.T) {
		// Each learner opens its first terminal as soon as its dashboard answers.
		rep := run(t, "--scenario", "class-start", "--users", "2", "--reserved", "0", "--terminals", "0",
			"--first-terminal")
		checkOpenAPIRan(t, rep)
		if o := rep.Op("time-to-terminal"); o == nil || o.Count != 2 || o.Errors != 0 {
			t.Fatalf("time-to-terminal = %+v", o)
		}
		if f := rep.Figures; f["first_request_to_last_terminal_s"] < f["first_request_to_last_dashboard_s"] ||
			f["first_request_to_last_dashboard_s"] <= 0 {
			t.Fatalf("figures = %v", f)
		}
	})
	t.Run("class-start-hugo-per-session", func(t *testing.T) {
		// The tool's Hugo sample, each session's own dashboard running hugo at its start
		// within the session's memory limit.
		if _, err := exec.LookPath("hugo"); err != nil {
			ci.Missing(t, "the hugo program (Debian package hugo)", err)
		}
		rep := runWith(t, []string{"PORTAL_SHARED_DASHBOARDS=false"}, "--scenario", "class-start", "--users", "2",
			"--reserved", "0", "--terminals", "1", "--layout", "hugo")
		f := rep.Figures
		if rep.Content != "hugo" || f["terminals_open"] != 2 || f["shared_sessions"] != 0 {
			t.Fatalf("content %q, figures = %v", rep.Content, f)
		}
		if f["sessions_by_cgroup"] > 0 && (f["memory_groups"] != 2 || f["session_memory_peak_mb_max"] <= 0 || f["oom_kills"] != 0) {
			t.Fatalf("memory groups not measured: %v", f)
		}
		if left, _ := filepath.Glob(filepath.Join(tmp, "portal-loadtest-hugo-*")); len(left) > 0 {
			t.Fatalf("the sample's folder is left: %v", left)
		}
	})
	t.Run("churn", func(t *testing.T) {
		// The webhook's marker session is requested after churn revoked the robot's token.
		rep := run(t, "--scenario", "churn", "--duration", "300ms", "--concurrency", "2", "--metrics")
		checkWebhookRan(t, rep)
		checkOpenAPIRan(t, rep)
	})
	t.Run("proxy", func(t *testing.T) {
		// With metrics, so that the webhook check also reads the failed attempts.
		rep := run(t, "--scenario", "proxy", "--duration", "400ms", "--concurrency", "2", "--metrics")
		checkWebhookRan(t, rep)
		checkOpenAPIRan(t, rep)
		if rep.Baseline == nil || rep.Baseline.Name != "bare-proxy" || rep.Ratio <= 0 || rep.P99Ratio <= 0 ||
			rep.Figures["landing_throughput_ratio"] <= 0 || rep.Op("bare-proxy-landing") == nil {
			t.Fatalf("report = %+v", rep)
		}
		if o := rep.Op("proxy"); o == nil || o.Bytes != rep.Baseline.Bytes {
			t.Fatalf("the portal's proxy and the bare one answered differently: %+v, %+v", o, rep.Baseline)
		}
	})
}

// spawnLoadtest runs `portal loadtest --spawn` with args and the further environment env,
// its data folder in tmp, and returns its report. Every check of the report must hold,
// and no process may be left under tmp.
func spawnLoadtest(t *testing.T, tmp string, env []string, args ...string) *loadtest.Report {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(binary, append([]string{"loadtest", "--spawn", "--quiet", "--json", out}, args...)...)
	cmd.Env = append(append(os.Environ(), "TMPDIR="+tmp), env...) // TMPDIR: the spawned data folder
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loadtest %v: %v\n%s", args, err, b)
	}
	var rep loadtest.Report
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) == 0 || len(rep.Failed()) > 0 {
		t.Fatalf("checks: %+v\n%s", rep.Checks, b)
	}
	if left := sessionProcsUnder(tmp); len(left) > 0 {
		t.Fatalf("processes left under %s: %v", tmp, left)
	}
	return &rep
}

// TestLoadtestEditorEndToEnd runs `portal loadtest --spawn --editor --scenario live` with
// the real binary and the portal's default (shared dashboards): the spawned workshop
// enables the editor, and each of three learners lists its home, fetches Monaco's main
// script, appends a line by an editor action, saves and reads the file back through the
// portal's proxy, with its cookie; the editor checks hold and the sessions' memory is
// measured after that use, idle and with terminals. It asserts no timings.
func TestLoadtestEditorEndToEnd(t *testing.T) {
	if _, err := os.Stat(filepath.Join("..", "..", "dashboard", "assets", "dist", "monaco", "vs", "editor", "editor.main.js")); err != nil {
		ci.Missing(t, "the dashboard's editor assets (run `make assets`)", err)
	}
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	tmp := t.TempDir()
	openAbove(t, filepath.Join(tmp, "data"))
	rep := spawnLoadtest(t, tmp, []string{"PORTAL_SHARED_DASHBOARDS="}, "--editor", "--scenario", "live", "--users", "3",
		"--concurrency", "3", "--terminals", "1")
	if !rep.Editor {
		t.Errorf("the report does not say the editor was used")
	}
	for _, op := range []string{"editor-tree", "editor-script", "editor-edit", "editor-save", "editor-open"} {
		if o := rep.Op(op); o == nil || o.Count != 3 || o.Errors != 0 {
			t.Errorf("%s = %+v, want 3 without errors", op, o)
		}
	}
	// Monaco's main script, whole.
	if o := rep.Op("editor-script"); o != nil && o.Bytes < 1<<20 {
		t.Errorf("Monaco's main script: %d bytes", o.Bytes)
	}
	for _, name := range []string{"every editor request answered 2xx", "every saved file read back"} {
		if !slices.ContainsFunc(rep.Checks, func(c loadtest.Check) bool { return c.Name == name && c.OK }) {
			t.Errorf("no passed check %q: %+v", name, rep.Checks)
		}
	}
	f := rep.Figures
	if f["live_sessions"] != 3 || f["idle_sessions"] != 3 || f["idle_session_pss_mb_avg"] <= 0 || f["terminals_open"] != 3 ||
		f["session_pss_mb_avg"] <= 0 {
		t.Errorf("figures = %v", f)
	}
}

// checkOpenAPIRan fails unless the report has the check of the REST answers against the
// portal's /openapi.json, passed, over some answers.
func checkOpenAPIRan(t *testing.T, rep *loadtest.Report) {
	t.Helper()
	const name = "REST answers match /openapi.json"
	if !slices.ContainsFunc(rep.Checks, func(c loadtest.Check) bool { return c.Name == name && c.OK }) {
		t.Errorf("no passed check %q: %+v", name, rep.Checks)
	}
	if n := rep.Figures["openapi_answers_validated"]; n <= 0 {
		t.Errorf("%v answers validated against /openapi.json", n)
	}
}

// checkWebhookRan fails unless the report has the tool's webhook checks, passed, and its
// figures: the proxy scenario's reserved session and the marker's were created.
func checkWebhookRan(t *testing.T, rep *loadtest.Report) {
	t.Helper()
	want := []string{"webhook: every delivery arrived", "webhook: signatures verify", "webhook: no event twice",
		"webhook: no delivery attempt failed (none given up)"}
	for _, name := range want {
		found := false
		for _, c := range rep.Checks {
			if c.Name == name {
				found = true
				if !c.OK {
					t.Errorf("check %q failed: %s", name, c.Detail)
				}
			}
		}
		if !found {
			t.Errorf("no check %q in %+v", name, rep.Checks)
		}
	}
	f := rep.Figures
	if f["webhook_events_Session/Created"] < 2 || f["webhook_events_Session/Pending"] < 1 || f["webhook_lag_p99_ms"] < f["webhook_lag_p50_ms"] {
		t.Errorf("webhook figures: %v", f)
	}
}

// TestLoadtestReplicasEndToEnd runs `portal loadtest --spawn --database … --replicas 3`
// with the real binary on PostgreSQL: the reacquire scenario's requests go round-robin to
// three portal processes, each at its own address, sharing the database and the data
// folder; the report names the
// store and the replicas, every check holds (the users' own sessions every time), and
// nothing is left running. It asserts no timings.
func TestLoadtestReplicasEndToEnd(t *testing.T) {
	dsn := pgtest.Need(t)
	tmp := t.TempDir()
	openAbove(t, filepath.Join(tmp, "data"))
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(binary, "loadtest", "--spawn", "--quiet", "--json", out, "--database", dsn, "--replicas", "3",
		"--scenario", "reacquire", "--users", "8", "--concurrency", "8", "--duration", "2s")
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep loadtest.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Store != "postgresql" || rep.Replicas != 3 || !strings.Contains(string(b), "store postgresql  replicas 3") {
		t.Fatalf("report: store %q, replicas %d\n%s", rep.Store, rep.Replicas, b)
	}
	// Each replica is reached at its own address, not at the portal's URL they share.
	if u := rep.ReplicaURLs; len(u) != 3 || u[0] == u[1] || u[1] == u[2] || u[0] == u[2] {
		t.Fatalf("the requests went to %v, not to three replicas", u)
	}
	if len(rep.Checks) == 0 || len(rep.Failed()) > 0 {
		t.Fatalf("checks: %+v\n%s", rep.Checks, b)
	}
	if o := rep.Op("reacquire"); o == nil || o.Count == 0 || o.Errors != 0 {
		t.Fatalf("reacquire = %+v", o)
	}
	if rep.Figures["replica2_peak_rss_mb"] <= 0 || rep.Figures["replica3_peak_rss_mb"] <= 0 {
		t.Fatalf("figures = %v", rep.Figures)
	}
	if left := sessionProcsUnder(tmp); len(left) > 0 {
		t.Fatalf("processes left under %s: %v", tmp, left)
	}
}

// sessionProcsUnder returns the processes whose command line or working folder is under dir.
func sessionProcsUnder(dir string) []string {
	var out []string
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		cmdline, _ := os.ReadFile(filepath.Join(p, "cmdline"))
		cwd, _ := os.Readlink(filepath.Join(p, "cwd"))
		if strings.Contains(string(cmdline), dir) || strings.HasPrefix(cwd+"/", dir+"/") {
			out = append(out, filepath.Base(p)+" "+strings.ReplaceAll(string(cmdline), "\x00", " "))
		}
	}
	return out
}

// TestLoadtestKubernetes runs `portal loadtest --spawn --provisioner kubernetes` with the
// real binary: the tool starts the test control plane, the stand-in for the pods'
// dashboards and the portal on it, and a class of three (one reserved session, the rest on
// demand) gets its sessions' pods Ready and its dashboards. The report has the time to
// each pod's readiness, the requests the API server saw from the portal, before, during
// and after the class, and the portal's peak memory; every check holds and nothing is
// left running. It asserts no timings.
func TestLoadtestKubernetes(t *testing.T) {
	if err := kubetest.CheckBinaries(""); err != nil {
		ci.Missing(t, "the Kubernetes test control plane", err)
	}
	tmp := t.TempDir()
	out := filepath.Join(t.TempDir(), "report.json")
	cmd := exec.Command(binary, "loadtest", "--spawn", "--provisioner", "kubernetes", "--scenario", "class-start",
		"--users", "3", "--reserved", "1", "--json", out)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp) // the control plane's, the stand-in's and the portal's folders
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("loadtest: %v\n%s", err, b)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep loadtest.Report
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if len(rep.Checks) == 0 || len(rep.Failed()) > 0 {
		t.Fatalf("checks: %+v\n%s", rep.Checks, b)
	}
	for _, op := range []string{"time-to-pod-ready", "time-to-dashboard"} {
		if o := rep.Op(op); o == nil || o.Count != 3 || o.Errors != 0 {
			t.Errorf("%s = %+v", op, o)
		}
	}
	f := rep.Figures
	if f["pods_ready_before_request"] < 1 || f["pods_ready_before_request"] > 3 {
		t.Errorf("pods Ready before their request: %v, want the reserved one at least", f["pods_ready_before_request"])
	}
	// Namespaces, pods and the rest created, watched, and deleted at the class's end.
	if f["kube_api_requests_create"] <= 0 || f["kube_api_requests_watch"] <= 0 || f["kube_api_requests_delete"] <= 0 ||
		f["kube_api_requests_before_class"] <= 0 || f["kube_api_requests_class"] <= 0 || f["kube_api_requests_after_class"] <= 0 ||
		f["kube_api_requests"] != f["kube_api_requests_before_class"]+f["kube_api_requests_class"]+f["kube_api_requests_after_class"] {
		t.Errorf("API requests: %v", f)
	}
	if f["portal_peak_rss_mb"] <= 0 {
		t.Errorf("portal_peak_rss_mb = %v", f["portal_peak_rss_mb"])
	}
	if left := sessionProcsUnder(tmp); len(left) > 0 {
		t.Fatalf("processes left under %s: %v", tmp, left)
	}
}
