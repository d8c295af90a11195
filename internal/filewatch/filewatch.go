// Package filewatch tells when the files under a folder change, by polling their sizes
// and modification times: it needs nothing of the kernel, works on any file system, and
// is cheap for a workshop's few hundred files.
package filewatch

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"
)

// Stamp returns a digest of the names, sizes, modes and modification times of the files
// and folders under root: it differs whenever one of them is added, removed or written.
// A missing root has the stamp "".
func Stamp(root string) string {
	h := sha256.New()
	found := false
	filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // gone meanwhile, or unreadable: the next pass sees it
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		found = true
		fmt.Fprintf(h, "%s\x00%d\x00%o\x00%d\n", path, fi.Size(), fi.Mode(), fi.ModTime().UnixNano())
		return nil
	})
	if !found {
		return ""
	}
	return hex.EncodeToString(h.Sum(nil))
}

// Watcher calls Changed once after each burst of changes under Root.
type Watcher struct {
	Root string
	// Every is the time between two looks (default 250ms). A burst of saves ends when a
	// look finds nothing changed since the one before.
	Every   time.Duration
	Changed func()

	last, seen string // the stamp Changed was last called for, and the last one seen
}

// Start records the files' current state, the one later changes are measured from.
func (w *Watcher) Start() { w.last = Stamp(w.Root); w.seen = w.last }

// Poll looks once and reports whether Changed was called: when the files differ from
// those Changed was last called for (or Start saw) and have not changed since the last
// look.
func (w *Watcher) Poll() bool {
	now := Stamp(w.Root)
	settled := now == w.seen
	w.seen = now
	if !settled || now == w.last {
		return false
	}
	w.last = now
	w.Changed()
	return true
}

// Run calls Start, then Poll every w.Every until ctx ends.
func (w *Watcher) Run(ctx context.Context) {
	every := w.Every
	if every <= 0 {
		every = 250 * time.Millisecond
	}
	w.Start()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			w.Poll()
		}
	}
}
