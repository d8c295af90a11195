package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"portal/internal/ci"
	"portal/localproc"
)

// A new data folder is made for the owner only; an existing one, or a database in it, that
// other users can read stops the start with the command that fixes it.
func TestDataFolderIsPrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := prepareDataDir(dir); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o700 {
		t.Fatalf("new data folder has mode %v, want 0700", perm)
	}

	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	_, err = prepareDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
		t.Fatalf("loose data folder: err = %v, want the chmod that fixes it", err)
	}
	os.Chmod(dir, 0o700)

	db := filepath.Join(dir, "portal.db-wal")
	if err := os.WriteFile(db, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chmod(db, 0o644)
	_, err = prepareDataDir(dir)
	if err == nil || !strings.Contains(err.Error(), "chmod 600 "+filepath.Join(dir, "portal.db")) {
		t.Fatalf("loose database: err = %v, want the chmod that fixes it", err)
	}
	os.Chmod(db, 0o600)
	if _, err := prepareDataDir(dir); err != nil {
		t.Fatalf("private folder and database: %v", err)
	}
}

// A root portal opens its data folder to its sessions' group for search only (0710): that
// is accepted; the same mode for any other group is not.
func TestDataFolderOpenToSessions(t *testing.T) {
	if os.Geteuid() != 0 {
		ci.Missing(t, "root (the test changes a folder's group)", nil)
	}
	dir := filepath.Join(t.TempDir(), "data")
	if _, err := prepareDataDir(dir); err != nil {
		t.Fatal(err)
	}
	if err := localproc.OpenToSessions(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareDataDir(dir); err != nil {
		t.Errorf("data folder open to the sessions' group: %v", err)
	}
	if err := os.Chown(dir, -1, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := prepareDataDir(dir); err == nil || !strings.Contains(err.Error(), "chmod 700 "+dir) {
		t.Errorf("data folder searchable by group 0: err = %v, want the chmod that fixes it", err)
	}
}
