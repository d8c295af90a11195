package loadtest

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portal/spec"
	"portal/webhook"
)

// TestLoadWebhookReceiver: the tool's receiver verifies signatures made as the portal
// makes them (webhook.Sign) and refuses a changed body, another secret or none; it finds
// an event id posted twice, records Session/Pending by session, and measures the lag from
// the event's timestamp.
func TestLoadWebhookReceiver(t *testing.T) {
	const secret = "s3cret"
	h := newReceiver(secret)
	at := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	h.now = func() time.Time { return at.Add(250 * time.Millisecond) }
	body := func(name, session string) []byte {
		return []byte(`{"portal":{"name":"load"},"event":{"name":"` + name + `","timestamp":"` +
			webhook.Timestamp(at) + `","user":"u1","session":"` + session + `","data":{}}}`)
	}
	post := func(id string, b []byte, sig string) {
		t.Helper()
		req := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(string(b)))
		req.Header.Set(webhook.EventHeader, id)
		if sig != "" {
			req.Header.Set(webhook.SignatureHeader, sig)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusNoContent {
			t.Fatalf("post %s: status %d", id, rec.Code)
		}
	}
	created, pending := body("Session/Created", "s1"), body("Session/Pending", "s1")
	post("e1", created, webhook.Sign(secret, at, created))
	post("e2", pending, webhook.Sign(secret, at, pending))
	if h.badSig != 0 || h.posts != 2 {
		t.Fatalf("signed posts: %d bad of %d (%s)", h.badSig, h.posts, h.firstSig)
	}
	if d := h.duplicates(); len(d) != 0 {
		t.Fatalf("duplicates = %v, want none", d)
	}
	if !h.pending["s1"] {
		t.Fatalf("Session/Pending of s1 not recorded: %v", h.pending)
	}
	if want := []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}; !slices.Equal(h.lags, want) {
		t.Fatalf("lags = %v, want %v", h.lags, want)
	}

	post("e1", created, webhook.Sign(secret, at, created))
	if d := h.duplicates(); !slices.Equal(d, []string{"e1"}) {
		t.Fatalf("duplicates = %v, want [e1]", d)
	}
	if len(h.lags) != 2 {
		t.Fatalf("a repeated event measured again: %v", h.lags)
	}

	for _, tt := range []struct{ name, sig string }{
		{"changed body", webhook.Sign(secret, at, created)},
		{"other secret", webhook.Sign("other", at, pending)},
		{"other time", strings.Replace(webhook.Sign(secret, at, pending), "t=", "t=1", 1)},
		{"not hex", "t=1,v1=zz"},
		{"no signature", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			before := h.badSig
			post("e3", pending, tt.sig)
			if h.badSig != before+1 {
				t.Fatalf("signature %q accepted", tt.sig)
			}
		})
	}
}

// TestLoadWebhookConfig: the configuration with the tool's webhook loads, with the
// webhook, its secret and the marker workshop after the measured one.
func TestLoadWebhookConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "gen.yaml")
	config := withWebhook(PortalConfig(7, 3, "", false, "robot@x", "pw", "id", "secret"), "http://127.0.0.1:9/hook", "s3cret")
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := spec.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	p := c.Portal
	if p.AnalyticsWebhookURL != "http://127.0.0.1:9/hook" || p.AnalyticsWebhookSecret != "s3cret" {
		t.Errorf("webhook %q, secret %q", p.AnalyticsWebhookURL, p.AnalyticsWebhookSecret)
	}
	w := p.Workshops
	if len(w) != 2 || w[0].Capacity != 7 || w[0].Reserved != 3 || w[1].Name != markerWorkshop || w[1].Capacity != 1 || w[1].Reserved != 0 {
		t.Errorf("workshops = %+v", w)
	}
}
