package filewatch

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// A change is reported once, at the first look that finds the files as they were at the
// look before (the end of a burst of saves); looks without a change report nothing.
func TestPollDebounces(t *testing.T) {
	dir := t.TempDir()
	page := filepath.Join(dir, "content", "page.md")
	if err := os.MkdirAll(filepath.Dir(page), 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(text string, mtime time.Time) {
		t.Helper()
		if err := os.WriteFile(page, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(page, mtime, mtime); err != nil {
			t.Fatal(err)
		}
	}
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	write("one", base)
	calls := 0
	w := &Watcher{Root: dir, Changed: func() { calls++ }}
	w.Start()
	if w.Poll() || calls != 0 {
		t.Fatalf("no change: Poll called Changed (%d calls)", calls)
	}
	write("two", base.Add(time.Second))
	if w.Poll() {
		t.Fatal("Poll reported a change in the middle of a burst")
	}
	write("three", base.Add(2*time.Second))
	if w.Poll() {
		t.Fatal("Poll reported a change in the middle of a burst")
	}
	if !w.Poll() || calls != 1 {
		t.Fatalf("after the burst: %d calls, want 1", calls)
	}
	if w.Poll() || calls != 1 {
		t.Fatalf("no further change: %d calls, want 1", calls)
	}
	// A new file counts as a change; so does a removed one.
	other := filepath.Join(dir, "content", "other.md")
	if err := os.WriteFile(other, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	w.Poll()
	if !w.Poll() || calls != 2 {
		t.Fatalf("after a new file: %d calls, want 2", calls)
	}
	os.Remove(other)
	w.Poll()
	if !w.Poll() || calls != 3 {
		t.Fatalf("after a removed file: %d calls, want 3", calls)
	}
}

func TestStampOfMissingFolder(t *testing.T) {
	if got := Stamp(filepath.Join(t.TempDir(), "none")); got != "" {
		t.Fatalf("Stamp of a missing folder = %q, want \"\"", got)
	}
}
