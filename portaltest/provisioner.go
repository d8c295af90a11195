package portaltest

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/unixsock"
)

// Generous limits for the provisioner suite: a workload may be a pod that pulls an image.
const (
	provReadyDeadline = 2 * time.Minute
	provGoneDeadline  = time.Minute
	provPollEvery     = 100 * time.Millisecond
)

// ProvisionerSuite runs the tests that every portal.Provisioner must pass. req returns the
// request that starts a workload for the session with the given name; the workload must
// run a real dashboard (it is probed at Endpoint/healthz) and must be allowed to start
// several at once. reopen returns a second, newly created provisioner over the same
// backing as p (what a restarted portal would create): it must find, list and stop the
// workloads p started. Optional abilities (ActivityReader, Lister) are tested when p has
// them.
func ProvisionerSuite(t *testing.T, p portal.Provisioner, req func(name string) portal.StartRequest, reopen func(t *testing.T) portal.Provisioner) {
	t.Run("StartReadyStop", func(t *testing.T) {
		h := provStart(t, p, req("suite-w01-s001"))
		st := provWaitReady(t, p, h)
		if st.Endpoint == "" {
			t.Fatalf("ready workload has no endpoint")
		}
		provProbe(t, st.Endpoint+"/healthz")

		if a, ok := p.(portal.ActivityReader); ok {
			act, err := a.Activity(context.Background(), h)
			if err != nil {
				t.Errorf("Activity of a ready workload: %v", err)
			} else if act.IdleTime < 0 || act.LastView < 0 {
				t.Errorf("Activity = %+v, want figures >= 0", act)
			}
		}
		if l, ok := p.(portal.Lister); ok {
			handles, err := l.List(context.Background())
			if err != nil {
				t.Fatalf("List: %v", err)
			}
			if len(handles) == 0 {
				t.Errorf("List is empty while a workload runs")
			}
			for _, lh := range handles {
				if _, err := p.Status(context.Background(), lh); err != nil {
					t.Errorf("Status of listed handle %q: %v", lh, err)
				}
			}
		}

		provStop(t, p, h)
		provWaitGone(t, p, h)
		provStop(t, p, h) // idempotent
		if st := provStatus(t, p, h); st.Phase != portal.WorkloadGone {
			t.Errorf("Status after second Stop = %v, want gone", st.Phase)
		}
		if a, ok := p.(portal.ActivityReader); ok {
			if _, err := a.Activity(context.Background(), h); !errors.Is(err, portal.ErrGone) {
				t.Errorf("Activity of a stopped workload: %v, want portal.ErrGone", err)
			}
		}
	})

	t.Run("StopWhileStarting", func(t *testing.T) {
		h := provStart(t, p, req("suite-w01-s002"))
		provStop(t, p, h)
		provWaitGone(t, p, h)
	})

	t.Run("StopGoneWorkload", func(t *testing.T) {
		h := provStart(t, p, req("suite-w01-s003"))
		provWaitReady(t, p, h)
		provStop(t, p, h)
		provWaitGone(t, p, h)
		// The workload is gone now; stopping its handle again, twice, still succeeds.
		provStop(t, p, h)
		provStop(t, p, h)
	})

	t.Run("TwoWorkloads", func(t *testing.T) {
		h1 := provStart(t, p, req("suite-w01-s004"))
		h2 := provStart(t, p, req("suite-w01-s005"))
		st1, st2 := provWaitReady(t, p, h1), provWaitReady(t, p, h2)
		if st1.Endpoint == st2.Endpoint {
			t.Errorf("two workloads share the endpoint %s", st1.Endpoint)
		}
		provStop(t, p, h1)
		provWaitGone(t, p, h1)
		// Stopping one leaves the other alone.
		if st := provStatus(t, p, h2); st.Phase != portal.WorkloadReady {
			t.Errorf("other workload is %v after Stop, want ready", st.Phase)
		}
		provProbe(t, st2.Endpoint+"/healthz")
		provStop(t, p, h2)
		provWaitGone(t, p, h2)
	})

	t.Run("Reattach", func(t *testing.T) {
		if reopen == nil {
			t.Fatal("the suite needs reopen: every provisioner must find its workloads again after a restart")
		}
		h := provStart(t, p, req("suite-w01-s006"))
		st := provWaitReady(t, p, h)

		// A new instance over the same backing knows nothing of the start but the handle.
		p2 := reopen(t)
		st2 := provWaitReady(t, p2, h)
		if st2.Endpoint != st.Endpoint {
			t.Errorf("reopened provisioner: endpoint %q, want %q", st2.Endpoint, st.Endpoint)
		}
		provProbe(t, st2.Endpoint+"/healthz")
		if l, ok := p2.(portal.Lister); ok {
			provListed(t, p2, l, st.Endpoint)
		}

		provStop(t, p2, h)
		provWaitGone(t, p2, h)
		provWaitGone(t, p, h)
		provStop(t, p2, h) // idempotent there too
	})
}

// provListed checks that l lists a handle of a ready workload at endpoint.
func provListed(t *testing.T, p portal.Provisioner, l portal.Lister, endpoint string) {
	t.Helper()
	handles, err := l.List(context.Background())
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, lh := range handles {
		if st := provStatus(t, p, lh); st.Phase == portal.WorkloadReady && st.Endpoint == endpoint {
			return
		}
	}
	t.Errorf("List of the reopened provisioner has no ready workload at %s (%d handles: %q)", endpoint, len(handles), handles)
}

func provStart(t *testing.T, p portal.Provisioner, r portal.StartRequest) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), provReadyDeadline)
	defer cancel()
	h, err := p.Start(ctx, r)
	if err != nil {
		t.Fatalf("Start %s: %v", r.Session.Name, err)
	}
	if len(h) == 0 {
		t.Fatalf("Start %s returned an empty handle", r.Session.Name)
	}
	t.Cleanup(func() { p.Stop(context.Background(), h) })
	return h
}

func provStop(t *testing.T, p portal.Provisioner, h []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), provGoneDeadline)
	defer cancel()
	if err := p.Stop(ctx, h); err != nil {
		t.Fatalf("Stop: %v", err)
	}
}

func provStatus(t *testing.T, p portal.Provisioner, h []byte) portal.WorkloadStatus {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := p.Status(ctx, h)
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	return st
}

// provWaitReady polls Status until the workload is ready; failed or gone ends the test.
func provWaitReady(t *testing.T, p portal.Provisioner, h []byte) portal.WorkloadStatus {
	t.Helper()
	deadline := time.Now().Add(provReadyDeadline)
	for {
		st := provStatus(t, p, h)
		switch st.Phase {
		case portal.WorkloadReady:
			return st
		case portal.WorkloadFailed, portal.WorkloadGone:
			t.Fatalf("workload is %v before it was ready: %s", st.Phase, st.Message)
		}
		if time.Now().After(deadline) {
			t.Fatalf("workload not ready after %v", provReadyDeadline)
		}
		time.Sleep(provPollEvery)
	}
}

// provWaitGone polls Status until the workload is gone.
func provWaitGone(t *testing.T, p portal.Provisioner, h []byte) {
	t.Helper()
	deadline := time.Now().Add(provGoneDeadline)
	for {
		st := provStatus(t, p, h)
		if st.Phase == portal.WorkloadGone {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("workload is %v %v after Stop, want gone", st.Phase, provGoneDeadline)
		}
		time.Sleep(provPollEvery)
	}
}

// provProbe checks that url answers 200.
func provProbe(t *testing.T, url string) {
	t.Helper()
	c := &http.Client{Timeout: 10 * time.Second}
	// A dashboard on a Unix socket: "unix:<path>/healthz".
	if sock, ok := strings.CutPrefix(url, "unix:"); ok {
		c.Transport = unixsock.Transport(strings.TrimSuffix(sock, "/healthz"))
		url = "http://dashboard.invalid/healthz"
	}
	resp, err := c.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s, want 200", url, resp.Status)
	}
}
