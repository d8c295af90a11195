package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"portal/dashboard/terminal"
)

// observerCount reads the learner's count of open mirrors.
func observerCount(t *testing.T, s *Server, c *http.Cookie) int {
	t.Helper()
	w := do(s, withCookie(httptest.NewRequest("GET", "/session/observers", nil), c))
	var doc struct{ Count int }
	if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &doc) != nil {
		t.Fatalf("observers: %d %q", w.Code, w.Body)
	}
	return doc.Count
}

// The portal's watch of a terminal streams its output; while it is open the learner's
// count of observers is 1, and 0 again once it closes. The watch has no input: a POST to
// it is refused and the shell sees nothing of it.
func TestTerminalWatch(t *testing.T) {
	s, clock := newTestServer(t, nil)
	c := login(t, s, clock.Now())
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	if n := observerCount(t, s, c); n != 0 {
		t.Fatalf("observers before any watch = %d", n)
	}
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/terminal/1/watch", nil)
	req.Header.Set("Authorization", "Bearer "+testSecret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("watch: status %d", resp.StatusCode)
	}
	if n := observerCount(t, s, c); n != 1 {
		t.Fatalf("observers while watched = %d, want 1", n)
	}
	post, _ := http.NewRequest("POST", srv.URL+"/terminal/1/watch", bytes.NewReader([]byte("echo typed\n")))
	post.Header.Set("Authorization", "Bearer "+testSecret)
	if pr, err := http.DefaultClient.Do(post); err != nil || pr.StatusCode == http.StatusOK {
		t.Fatalf("POST to the watch: %v %v", err, pr)
	}
	if err := s.terms.Input(t.Context(), "1", terminal.Request{Text: "echo seen-$((2+3))", Enter: true}); err != nil {
		t.Fatal(err)
	}
	var got []byte
	buf := make([]byte, 4096)
	deadline := time.Now().Add(15 * time.Second)
	for !bytes.Contains(got, []byte("seen-5")) {
		if time.Now().After(deadline) {
			t.Fatalf("no output in the watch: %q", got)
		}
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil && err != io.EOF {
			t.Fatalf("watch read: %v (%q)", err, got)
		}
	}
	if bytes.Contains(got, []byte("typed")) {
		t.Errorf("the watch's POST reached the shell: %q", got)
	}
	cancel()
	resp.Body.Close()
	for observerCount(t, s, c) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("observers did not go back to 0 after the watch closed")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
