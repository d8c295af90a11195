package dashboard

import (
	"bufio"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// In author mode the dashboard reads its content again when a file changes and says so
// on GET /workshop/changes: "changed" with the new text served, "failed" when the changed
// content does not load, the last good text staying.
func TestAuthorModeReloads(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"workshop/workshop.yaml":     "modules: {}\n",
		"workshop/content/a-page.md": "# A page\n\nThe first text.\n",
	})
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir, c.Author = dir, true })
	c := login(t, s, clock.Now())
	if _, body := get(t, s, c, "/workshop/content/a-page"); !strings.Contains(body, "The first text.") || !strings.Contains(body, `data-author="true"`) {
		t.Fatalf("the page in author mode lacks its text or data-author:\n%s", body)
	}

	srv := httptest.NewServer(s)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/workshop/changes", nil)
	req.AddCookie(c)
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("GET /workshop/changes: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	lines := bufio.NewScanner(resp.Body)
	next := func() string {
		t.Helper()
		for lines.Scan() {
			if ev, ok := strings.CutPrefix(lines.Text(), "event: "); ok {
				return ev
			}
		}
		t.Fatalf("the stream ended: %v", lines.Err())
		return ""
	}
	lines.Scan() // the opening comment: the stream is subscribed

	write := func(name, text string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "workshop", name), []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("content/a-page.md", "# A page\n\nThe second text.\n")
	if ev := next(); ev != "changed" {
		t.Fatalf("event %q after a page changed, want changed", ev)
	}
	if _, body := get(t, s, c, "/workshop/content/a-page"); !strings.Contains(body, "The second text.") {
		t.Fatalf("after the change the page still lacks the new text:\n%s", body)
	}

	write("workshop.yaml", "modules: [\n")
	if ev := next(); ev != "failed" {
		t.Fatalf("event %q after the content broke, want failed", ev)
	}
	if _, body := get(t, s, c, "/workshop/content/a-page"); !strings.Contains(body, "The second text.") {
		t.Fatalf("with broken content the page lost the last good text:\n%s", body)
	}
}

// Without author mode there is no stream of changes, and pages do not ask for one.
func TestNoAuthorMode(t *testing.T) {
	dir := writeFiles(t, map[string]string{
		"workshop/workshop.yaml":     "modules: {}\n",
		"workshop/content/a-page.md": "# A page\n\nThe first text.\n",
	})
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir = dir })
	c := login(t, s, clock.Now())
	if status, _ := get(t, s, c, "/workshop/changes"); status != http.StatusNotFound {
		t.Fatalf("GET /workshop/changes without author mode: %d, want 404", status)
	}
	status, body := get(t, s, c, "/workshop/content/a-page")
	if status != http.StatusOK || !strings.Contains(body, "The first text.") || strings.Contains(body, "data-author") {
		t.Fatalf("a page without author mode: status %d, or it asks for the stream of changes:\n%s", status, body)
	}
}
