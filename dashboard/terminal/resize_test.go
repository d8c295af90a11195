package terminal

import (
	"log/slog"
	"sync"
	"testing"
)

// A browser's resize may arrive while the terminal closes (the session ends, the dashboard
// stops): run under -race, the two must not touch the PTY's file at the same time.
func TestResizeWhileClosing(t *testing.T) {
	for range 20 {
		ts := NewShells(1, []string{"/bin/sh"}, []string{"PATH=/usr/bin:/bin"}, t.TempDir(),
			slog.New(slog.DiscardHandler), func(string, map[string]any) {}, func() {})
		term, _ := ts.get("1")
		c, _, _, err := term.attach()
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				term.resize(80+i%40, 24)
			}
		})
		ts.Close()
		close(stop)
		wg.Wait()
		term.detach(c)
	}
}
