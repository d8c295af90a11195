package terminal

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
)

// FileEntry is one regular file of a session's home, as the editor's file tree lists it.
type FileEntry struct {
	Path    string `json:"path"`  // relative to the home, with forward slashes
	Size    int64  `json:"size"`  // bytes
	ModTime int64  `json:"mtime"` // Unix milliseconds: a change shows as a new value
}

// Lister lists the files of a session's home. Shells implement it; so does the dashboard
// host's relay to a session's terminals agent.
type Lister interface {
	// ListFiles returns the regular files of the home in lexical order, leaving out
	// hidden files and folders (a name starting with "."), at most MaxTreeEntries of
	// them; truncated is true when more were left out.
	ListFiles(ctx context.Context) (files []FileEntry, truncated bool, err error)
}

// MaxTreeEntries bounds the files ListFiles returns.
const MaxTreeEntries = 2000

// ListFiles lists the shells' home (see Lister).
func (ts *Shells) ListFiles(ctx context.Context) ([]FileEntry, bool, error) {
	root, err := ts.openHome()
	if err != nil {
		return nil, false, err
	}
	defer root.Close()
	files := []FileEntry{}
	truncated := false
	err = fs.WalkDir(root.FS(), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // an unreadable folder is left out
		}
		if p != "." && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return fs.SkipDir
			}
			return nil
		}
		if !d.Type().IsRegular() {
			return ctx.Err()
		}
		if len(files) == MaxTreeEntries {
			truncated = true
			return fs.SkipAll
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		files = append(files, FileEntry{Path: p, Size: fi.Size(), ModTime: fi.ModTime().UnixMilli()})
		return nil
	})
	return files, truncated, err
}

// Tree is the answer of GET /tree.
type Tree struct {
	Files     []FileEntry `json:"files"`
	Truncated bool        `json:"truncated,omitempty"`
}

// ServeTree serves GET /tree: l's files as a Tree.
func ServeTree(l Lister, log *slog.Logger, w http.ResponseWriter, r *http.Request) {
	files, truncated, err := l.ListFiles(r.Context())
	if err != nil {
		WriteFileError(w, log, "", err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(Tree{Files: files, Truncated: truncated})
}
