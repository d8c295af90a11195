package terminal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
)

// Files are the files of a session's home as the workshop's file actions reach them:
// read for a download, written for an upload, as the session's user. Paths are relative
// to the home and never leave it (no "..", no symbolic link that points out of it).
// Shells implement it; so does the dashboard host's relay to a session's terminals agent.
type Files interface {
	// ReadFile returns the regular file at name, at most MaxFileSize bytes. It returns
	// ErrNoFile when the home has no such file, ErrFileTooLarge when it is larger.
	ReadFile(ctx context.Context, name string) ([]byte, error)
	// WriteFile writes r to name, creating its folders, replacing a file there. It returns
	// ErrFileTooLarge, leaving no file, when r has more than MaxFileSize bytes, and
	// ErrNoFile when name is not a path inside the home.
	WriteFile(ctx context.Context, name string, r io.Reader) error
}

// MaxFileSize bounds a file downloaded or uploaded by a file action.
const MaxFileSize = 32 << 20

// The Files errors.
var (
	ErrNoFile       = errors.New("no such file in the session's home")
	ErrFileTooLarge = fmt.Errorf("file larger than %d MiB", MaxFileSize>>20)
)

// openHome opens ts's home folder as a root that no path can leave.
func (ts *Shells) openHome() (*os.Root, error) {
	return os.OpenRoot(ts.dir)
}

// ReadFile reads name in the shells' home (see Files).
func (ts *Shells) ReadFile(_ context.Context, name string) ([]byte, error) {
	if !filepath.IsLocal(name) {
		return nil, ErrNoFile
	}
	root, err := ts.openHome()
	if err != nil {
		return nil, err
	}
	defer root.Close()
	f, err := root.Open(name)
	if err != nil {
		return nil, ErrNoFile
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil || !fi.Mode().IsRegular() {
		return nil, ErrNoFile
	}
	if fi.Size() > MaxFileSize {
		return nil, ErrFileTooLarge
	}
	b, err := io.ReadAll(io.LimitReader(f, MaxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxFileSize {
		return nil, ErrFileTooLarge
	}
	return b, nil
}

// WriteFile writes name in the shells' home (see Files).
func (ts *Shells) WriteFile(_ context.Context, name string, r io.Reader) error {
	if !filepath.IsLocal(name) {
		return ErrNoFile
	}
	root, err := ts.openHome()
	if err != nil {
		return err
	}
	defer root.Close()
	if dir := filepath.Dir(name); dir != "." {
		if err := root.MkdirAll(dir, 0o755); err != nil {
			// A file in the way, or a link out of the home.
			return fmt.Errorf("%w: %v", ErrNoFile, err)
		}
	}
	// Written next to its place, then renamed: a failed upload leaves the old file.
	tmp := filepath.Join(filepath.Dir(name), ".upload-"+strconv.FormatInt(int64(os.Getpid()), 36)+"-"+filepath.Base(name))
	f, err := root.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return ErrNoFile
	}
	n, err := io.Copy(f, io.LimitReader(r, MaxFileSize+1))
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil && n > MaxFileSize {
		err = ErrFileTooLarge
	}
	if err == nil {
		err = root.Rename(tmp, name)
	}
	if err != nil {
		root.Remove(tmp)
		return err
	}
	return nil
}

// fileStatus is the one table from Files errors to statuses and sentences.
func fileStatus(err error) (int, string) {
	var maxBytes *http.MaxBytesError
	switch {
	case errors.Is(err, ErrNoFile):
		return http.StatusNotFound, "The session has no such file."
	case errors.Is(err, ErrFileTooLarge), errors.As(err, &maxBytes):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("The file is larger than %d MiB.", MaxFileSize>>20)
	}
	return errorStatus(err)
}

// WriteFileError answers a file request that failed with err.
func WriteFileError(w http.ResponseWriter, log *slog.Logger, name string, err error) {
	status, sentence := fileStatus(err)
	if status == http.StatusInternalServerError {
		log.Error("file", "path", name, "err", err)
	}
	http.Error(w, sentence, status)
}

// ServeFiles serves GET /files/{path...} (the file's bytes) and PUT /files/{path...} (the
// body becomes the file) on f.
func ServeFiles(f Files, log *slog.Logger, w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("path")
	switch r.Method {
	case http.MethodGet:
		b, err := f.ReadFile(r.Context(), name)
		if err != nil {
			WriteFileError(w, log, name, err)
			return
		}
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Write(b)
	case http.MethodPut:
		if err := f.WriteFile(r.Context(), name, http.MaxBytesReader(w, r.Body, MaxFileSize)); err != nil {
			WriteFileError(w, log, name, err)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT")
		http.Error(w, "Method not allowed.", http.StatusMethodNotAllowed)
	}
}
