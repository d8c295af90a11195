package loadtest

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal/internal/kubetest"
)

// TestLoadCountRequests: only the RequestReceived events of the portal's user agent count,
// by verb and by the phase their receipt falls in.
func TestLoadCountRequests(t *testing.T) {
	log := `{"kind":"Event","stage":"RequestReceived","verb":"list","userAgent":"portal","requestReceivedTimestamp":"2026-12-01T10:00:00.000001Z"}
{"kind":"Event","stage":"RequestReceived","verb":"watch","userAgent":"portal","requestReceivedTimestamp":"2026-12-01T10:00:00.5Z"}
{"kind":"Event","stage":"RequestReceived","verb":"create","userAgent":"portal","requestReceivedTimestamp":"2026-12-01T10:00:01Z"}
{"kind":"Event","stage":"ResponseComplete","verb":"create","userAgent":"portal","requestReceivedTimestamp":"2026-12-01T10:00:01Z"}
{"kind":"Event","stage":"RequestReceived","verb":"create","userAgent":"portal-loadtest","requestReceivedTimestamp":"2026-12-01T10:00:02Z"}
{"kind":"Event","stage":"RequestReceived","verb":"create","userAgent":"portal","requestReceivedTimestamp":"2026-12-01T10:00:03Z"}
{"kind":"Event","stage":"RequestReceived","verb":"delete","userAgent":"portal","requestReceivedTimestamp":"2026-12-01T10:00:09Z"}
`
	at := func(s string) time.Time {
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return tm
	}
	got, err := countRequests(strings.NewReader(log), "portal", at("2026-12-01T10:00:01Z"), at("2026-12-01T10:00:05Z"))
	if err != nil {
		t.Fatal(err)
	}
	want := requestCounts{Total: 5, Verbs: map[string]int{"list": 1, "watch": 1, "create": 2, "delete": 1},
		Phases: []int{2, 2, 1}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("counts (-want +got):\n%s", diff)
	}
	if _, err := countRequests(strings.NewReader("{\"stage\":\n"), "portal"); err == nil {
		t.Fatal("a malformed line was not reported")
	}
}

// TestLoadProvisionerSettings: a bad provisioner, kubernetes without a spawned portal, and
// missing control plane binaries each give an error that says what to do.
func TestLoadProvisionerSettings(t *testing.T) {
	t.Setenv(kubetest.BinEnv, t.TempDir())
	for _, tt := range []struct {
		name string
		cfg  Config
		want string
	}{
		{"unknown", Config{Scenario: ClassStart, Spawn: true, PortalBinary: "portal", Provisioner: "k8s"}, `--provisioner: expected local or kubernetes, got "k8s"`},
		{"not spawned", Config{Scenario: ClassStart, URL: "http://localhost:1", Provisioner: Kubernetes}, "--provisioner kubernetes needs --spawn"},
		{"no binaries", Config{Scenario: ClassStart, Spawn: true, PortalBinary: "portal", Provisioner: Kubernetes}, "scripts/kube-testenv-build.sh"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Run(context.Background(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run: %v, want an error with %q", err, tt.want)
			}
		})
	}
}

// TestLoadPeakRSS: the peak resident size is read, and is at least the current one.
func TestLoadPeakRSS(t *testing.T) {
	// Now first: the peak read after it cannot be lower, whatever the process does between.
	now := rssKB(os.Getpid())
	peak := peakRSSKB(os.Getpid())
	if peak <= 0 || peak < now {
		t.Fatalf("peak %d KiB, now %d KiB", peak, now)
	}
}
