package loadtest

import (
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// The workshop layouts a spawned portal can run (Config.Layout).
const (
	Classic = "classic" // the dashboard's built-in sample workshop
	Hugo    = "hugo"    // the tool's own workshop of the Hugo layout, hugoSample
)

// hugoSample is a workshop of the Hugo layout of a realistic size: 13 pages in sections
// and a page bundle, parameters of config.yaml, the session's variables, the built-in
// shortcodes and two of its own, and clickable actions on every page.
//
//go:embed all:hugo-sample
var hugoSample embed.FS

// writeHugoSample writes hugoSample into a new folder that the portal's sandboxed
// dashboards, which run as nobody, can read, and returns the folder.
func writeHugoSample() (string, error) {
	dir, err := os.MkdirTemp("", "portal-loadtest-hugo-")
	if err != nil {
		return "", err
	}
	err = fs.WalkDir(hugoSample, "hugo-sample", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		dst := filepath.Join(dir, strings.TrimPrefix(p, "hugo-sample"))
		if d.IsDir() {
			return os.MkdirAll(dst, 0o755)
		}
		b, err := hugoSample.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, b, 0o644)
	})
	if err == nil {
		err = os.Chmod(dir, 0o755)
	}
	if err != nil {
		os.RemoveAll(dir)
		return "", fmt.Errorf("write the Hugo sample workshop: %w", err)
	}
	return dir, nil
}

// checkContent checks Layout and Content, and makes Content absolute.
func (c *Config) checkContent() error {
	switch c.Layout {
	case "", Classic, Hugo:
	default:
		return fmt.Errorf("--layout: expected %s or %s, got %q", Classic, Hugo, c.Layout)
	}
	if c.Layout == "" && c.Content == "" {
		return nil
	}
	if !c.Spawn {
		return errors.New("--layout and --content choose the workshop of a spawned portal: they need --spawn")
	}
	if c.Content == "" {
		return nil
	}
	if c.Layout == Hugo {
		return errors.New("give --layout hugo (the tool's sample) or --content DIR, not both")
	}
	abs, err := filepath.Abs(c.Content)
	if err != nil {
		return fmt.Errorf("--content: %w", err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return fmt.Errorf("--content: %w", err)
	}
	if !st.IsDir() {
		return fmt.Errorf("--content: %s is not a folder", abs)
	}
	c.Content = abs
	return nil
}
