package dashboard

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"
)

// A folder of prebuilt builds (HUGO_BUILDS) holds the builds of a workshop of the Hugo
// layout that the portal made once for an environment (DASHBOARD_MODE=build), for its
// sessions' own dashboards: <key hash>/public, what hugo published, and <key hash>/build.json
// (storedBuild); and prebuiltDone, written last, once the folder holds all it will hold.
// Builds hold placeholders for every per-session value, never a session's value.
const (
	prebuiltDone = "done"
	prebuiltMeta = "build.json"
)

// prebuiltPoll is how often a dashboard looks for prebuiltDone while the build runs.
const prebuiltPoll = 50 * time.Millisecond

// storedBuild describes a stored build.
type storedBuild struct {
	Key   string     `json:"key"`   // as buildKey computes it
	Tag   string     `json:"tag"`   // the placeholders' prefix
	Names []string   `json:"names"` // the values rendered as placeholders, in token order
	Pages []hugoPage `json:"pages"`
}

// storedTag matches a placeholders' prefix as newTokens makes it.
var storedTag = regexp.MustCompile(`^zq[0-9a-f]{16}$`)

func prebuiltDir(root, key string) string {
	sum := sha256.Sum256([]byte(key))
	return filepath.Join(root, hex.EncodeToString(sum[:16]))
}

// BuildConfig is what DASHBOARD_MODE=build needs.
type BuildConfig struct {
	ContentDir string // WORKSHOP_CONTENT: a workshop of the Hugo layout
	Out        string // HUGO_BUILDS: the folder the build is stored in, empty at the start
	// FirstSession is the environment of one of the sessions the build is for, as
	// HostConfig.FirstSession (FIRST_SESSION, as JSON).
	FirstSession map[string]string
}

// BuildConfigFromEnv reads a BuildConfig from environment variables; all three are required.
func BuildConfigFromEnv(getenv func(string) string) (BuildConfig, error) {
	for _, name := range []string{"WORKSHOP_CONTENT", "HUGO_BUILDS", "FIRST_SESSION"} {
		if getenv(name) == "" {
			return BuildConfig{}, fmt.Errorf("dashboard: build: environment variable %s is not set", name)
		}
	}
	cfg := BuildConfig{ContentDir: getenv("WORKSHOP_CONTENT"), Out: getenv("HUGO_BUILDS")}
	if err := json.Unmarshal([]byte(getenv("FIRST_SESSION")), &cfg.FirstSession); err != nil {
		return BuildConfig{}, fmt.Errorf("dashboard: build: environment variable FIRST_SESSION: expected a JSON object of strings: %w", err)
	}
	return cfg, nil
}

// Build builds cfg's workshop once for the values the sessions of cfg.FirstSession's
// environment share, and stores the build in cfg.Out, unless its output depends on a
// per-session value. It writes prebuiltDone last, also when it fails.
func Build(cfg BuildConfig) (err error) {
	defer func() {
		msg := ""
		if err != nil {
			msg = err.Error()
		}
		if werr := os.WriteFile(filepath.Join(cfg.Out, prebuiltDone), []byte(msg), 0o644); werr != nil && err == nil {
			err = fmt.Errorf("dashboard: build: %w", werr)
		}
	}()
	h, err := loadHugo(cfg.ContentDir)
	if err != nil {
		return fmt.Errorf("dashboard: build: %w", err)
	}
	defer h.close()
	sv := h.values(HostConfig{FirstSession: cfg.FirstSession}.firstVars(), nil)
	key, _, names := buildKey(sv, true)
	b := h.cachedBuild(sv, true)
	if b.err != nil {
		return fmt.Errorf("dashboard: build: %w", b.err)
	}
	if b.dependent {
		slog.Info("the workshop's pages depend on a per-session value: each session builds its own")
		return nil
	}
	dir := prebuiltDir(cfg.Out, key)
	tmp := dir + ".tmp"
	if err := os.CopyFS(filepath.Join(tmp, "public"), os.DirFS(b.site.public)); err != nil {
		return fmt.Errorf("dashboard: build: store: %w", err)
	}
	sb := storedBuild{Key: key, Tag: strings.TrimSuffix(b.tokens.find.String(), `p[0-9]+qz`),
		Names: names, Pages: b.site.pages}
	for i, n := range names {
		if b.tokens.source[n] != sb.Tag+"p"+fmt.Sprint(i)+"qz" {
			return errors.New("dashboard: build: placeholders not in token order")
		}
	}
	meta, err := json.Marshal(sb)
	if err != nil {
		return fmt.Errorf("dashboard: build: %w", err)
	}
	if err := os.WriteFile(filepath.Join(tmp, prebuiltMeta), meta, 0o644); err != nil {
		return fmt.Errorf("dashboard: build: store: %w", err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		return fmt.Errorf("dashboard: build: store: %w", err)
	}
	slog.Info("stored the environment's build", "dir", dir, "placeholders", len(names))
	return nil
}

// takePrebuilt returns the stored build for sv's shared values and placeholder names, or
// nil when the folder has none. It waits (up to hugoTimeout) for the folder's build to
// finish.
func (h *hugoSource) takePrebuilt(sv siteValues) *hugoBuild {
	key, _, _ := buildKey(sv, true)
	h.mu.Lock()
	b, ok := h.builds[key]
	h.mu.Unlock()
	if ok {
		<-b.done
		if b.err == nil {
			return b
		}
	}
	deadline := time.Now().Add(hugoTimeout)
	for {
		if _, err := os.Stat(filepath.Join(h.prebuilt, prebuiltDone)); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return nil
		}
		time.Sleep(prebuiltPoll)
	}
	dir := prebuiltDir(h.prebuilt, key)
	raw, err := os.ReadFile(filepath.Join(dir, prebuiltMeta))
	if err != nil {
		return nil
	}
	var sb storedBuild
	if json.Unmarshal(raw, &sb) != nil || sb.Key != key || !storedTag.MatchString(sb.Tag) {
		return nil
	}
	b = &hugoBuild{done: make(chan struct{}), tokens: tokensWith(sb.Tag, sb.Names),
		site: hugoSite{public: filepath.Join(dir, "public"), pages: sb.Pages}}
	close(b.done)
	h.mu.Lock()
	h.builds[key] = b
	h.mu.Unlock()
	slog.Info("took the environment's build of the workshop", "dir", dir)
	return b
}
