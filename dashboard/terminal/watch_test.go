package terminal

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"
)

// A watcher gets the scrollback and then the output as it comes, never starts a shell nor
// creates a named terminal, and stops when its context ends.
func TestWatch(t *testing.T) {
	ts := NewShells(1, []string{"/bin/sh"}, []string{"PATH=/usr/bin:/bin", "PS1=$ "}, t.TempDir(),
		slog.New(slog.DiscardHandler), func(string, map[string]any) {}, func() {})
	t.Cleanup(ts.Close)
	if err := ts.Watch(t.Context(), "later", func([]byte) error { return nil }); !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("Watch of a named terminal that does not exist: %v, want ErrNoTerminal", err)
	}
	if err := ts.Watch(t.Context(), "9", func([]byte) error { return nil }); !errors.Is(err, ErrNoTerminal) {
		t.Fatalf("Watch(9): %v, want ErrNoTerminal", err)
	}
	if err := ts.Input(t.Context(), "1", Request{Text: "echo before-$((40+2))", Enter: true}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	chunks := make(chan []byte, 100)
	done := make(chan error, 1)
	go func() { done <- ts.Watch(ctx, "1", func(p []byte) error { chunks <- p; return nil }) }()
	seen := waitOutput(t, chunks, nil, "before-42")
	if err := ts.Input(t.Context(), "1", Request{Text: "echo after-$((6*7))", Enter: true}); err != nil {
		t.Fatal(err)
	}
	waitOutput(t, chunks, seen, "after-42")
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Watch after its context ended: %v", err)
	}
	ts.namedMu.Lock()
	defer ts.namedMu.Unlock()
	if len(ts.named) != 0 {
		t.Errorf("watching created named terminals: %v", ts.named)
	}
}

// waitOutput collects chunks until their text holds want, polling a real shell.
func waitOutput(t *testing.T, chunks <-chan []byte, seen []byte, want string) []byte {
	t.Helper()
	timeout := time.After(15 * time.Second)
	for !bytes.Contains(seen, []byte(want)) {
		select {
		case p := <-chunks:
			seen = append(seen, p...)
		case <-timeout:
			t.Fatalf("no %q in the watched output %q", want, seen)
		}
	}
	return seen
}
