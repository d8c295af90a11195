package terminal

import (
	"context"
	"encoding/json"
	"io/fs"
	"log/slog"
	"net/http"
	"strings"
)

// FileEntry is one regular file, or one empty folder, of a session's home, as the
// editor's file tree lists it.
type FileEntry struct {
	Path    string `json:"path"`          // relative to the home, with forward slashes
	Size    int64  `json:"size"`          // bytes
	ModTime int64  `json:"mtime"`         // Unix milliseconds: a change shows as a new value
	Dir     bool   `json:"dir,omitempty"` // an empty folder (a folder with files shows in their paths)
}

// Lister lists the files of a session's home. Shells implement it; so does the dashboard
// host's relay to a session's terminals agent.
type Lister interface {
	// ListFiles returns the regular files and the empty folders of the home in lexical
	// order, leaving out hidden files and folders (a name starting with "."), at most
	// MaxTreeEntries of them; truncated is true when more were left out.
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
	var dir string // the last folder seen, while nothing has been seen inside it
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
		// Entries come in lexical order, a folder's right after it: the folder seen last
		// is empty when the next entry is not inside it.
		if dir != "" && !strings.HasPrefix(p, dir+"/") {
			if !add(&files, &truncated, FileEntry{Path: dir, Dir: true}) {
				return fs.SkipAll
			}
		}
		dir = ""
		if d.IsDir() {
			if p != "." {
				dir = p
			}
			return ctx.Err()
		}
		if !d.Type().IsRegular() {
			return ctx.Err()
		}
		fi, err := d.Info()
		if err != nil {
			return nil
		}
		if !add(&files, &truncated, FileEntry{Path: p, Size: fi.Size(), ModTime: fi.ModTime().UnixMilli()}) {
			return fs.SkipAll
		}
		return nil
	})
	if dir != "" && err == nil {
		add(&files, &truncated, FileEntry{Path: dir, Dir: true})
	}
	return files, truncated, err
}

// add appends e to files unless they are MaxTreeEntries already, which sets truncated.
func add(files *[]FileEntry, truncated *bool, e FileEntry) bool {
	if len(*files) == MaxTreeEntries {
		*truncated = true
		return false
	}
	*files = append(*files, e)
	return true
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
