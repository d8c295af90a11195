package terminal

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
)

// FileOps make, rename and remove files and folders of a session's home, as the
// workshop's editor actions do. Paths are relative to the home and never leave it (no
// "..", no symbolic link that points out of it); none of them is the home itself. Shells
// implement it; so does the dashboard host's relay to a session's terminals agent.
type FileOps interface {
	// MakeDir makes folder name and the folders above it; a folder already there is no
	// error. It returns ErrNoFile when name is not a path inside the home or a file is in
	// the way.
	MakeDir(ctx context.Context, name string) error
	// Rename moves the file or folder from to to, making the folders above to and
	// replacing a file at to. It returns ErrNoFile when from is not there or either path
	// is not inside the home.
	Rename(ctx context.Context, from, to string) error
	// Remove removes the file or folder name with all it holds (a symbolic link, not what
	// it points to). It returns ErrNoFile when name is not there.
	Remove(ctx context.Context, name string) error
}

var _ FileOps = (*Shells)(nil)

// inHome reports whether name is a path inside the home, other than the home itself.
func inHome(name string) bool { return filepath.IsLocal(name) && filepath.Clean(name) != "." }

// MakeDir makes a folder in the shells' home (see FileOps).
func (ts *Shells) MakeDir(_ context.Context, name string) error {
	if !inHome(name) {
		return ErrNoFile
	}
	root, err := ts.openHome()
	if err != nil {
		return err
	}
	defer root.Close()
	if err := root.MkdirAll(name, 0o755); err != nil {
		return fmt.Errorf("%w: %v", ErrNoFile, err)
	}
	return nil
}

// Rename moves a file or folder in the shells' home (see FileOps).
func (ts *Shells) Rename(_ context.Context, from, to string) error {
	if !inHome(from) || !inHome(to) {
		return ErrNoFile
	}
	root, err := ts.openHome()
	if err != nil {
		return err
	}
	defer root.Close()
	if _, err := root.Lstat(from); err != nil {
		return ErrNoFile
	}
	if dir := filepath.Dir(to); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			return fmt.Errorf("%w: %v", ErrNoFile, err)
		}
	}
	if err := root.Rename(from, to); err != nil {
		return fmt.Errorf("%w: %v", ErrNoFile, err)
	}
	return nil
}

// Remove removes a file or folder of the shells' home (see FileOps).
func (ts *Shells) Remove(_ context.Context, name string) error {
	if !inHome(name) {
		return ErrNoFile
	}
	root, err := ts.openHome()
	if err != nil {
		return err
	}
	defer root.Close()
	if _, err := root.Lstat(name); err != nil {
		return ErrNoFile
	}
	return root.RemoveAll(name)
}

// RenameRequest is the body of POST /rename.
type RenameRequest struct {
	From string `json:"from"`
	To   string `json:"to"`
}

// ServeFileOps serves f's operations: POST /folders/{path...} (MakeDir), POST /rename (a
// RenameRequest) and DELETE /files/{path...} (Remove), each answering 204 when done.
func ServeFileOps(f FileOps, log *slog.Logger, w http.ResponseWriter, r *http.Request) {
	var name string
	var err error
	switch {
	case r.Method == http.MethodDelete:
		name = r.PathValue("path")
		err = f.Remove(r.Context(), name)
	case r.Method == http.MethodPost && r.PathValue("path") != "":
		name = r.PathValue("path")
		err = f.MakeDir(r.Context(), name)
	case r.Method == http.MethodPost:
		var req RenameRequest
		if json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16)).Decode(&req) != nil {
			http.Error(w, "Expected {from, to} as JSON.", http.StatusBadRequest)
			return
		}
		name = req.From
		err = f.Rename(r.Context(), req.From, req.To)
	default:
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
		return
	}
	if err != nil {
		WriteFileError(w, log, name, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
