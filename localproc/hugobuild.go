package localproc

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"portal"
)

const (
	buildsRoot    = ".hugo-builds"     // in Dir: <environment>-<content hash> per environment
	sandboxBuilds = "/opt/hugo-builds" // an environment's builds, read-only in its sessions
	builderPoll   = 100 * time.Millisecond
	buildDone     = "done" // written last in a build's folder (dashboard.Build)
	// buildGroupPrefix starts the name of a build's cgroup, .hugo-build-<folder name>.
	buildGroupPrefix = ".hugo-build-"
)

// isHugoContent reports whether content holds a workshop of the Hugo layout: a workshop
// folder with neither workshop.yaml nor modules.yaml (as the dashboard decides).
func isHugoContent(content string) bool {
	if fi, err := os.Stat(filepath.Join(content, "workshop")); err != nil || !fi.IsDir() {
		return false
	}
	for _, name := range []string{"workshop.yaml", "modules.yaml"} {
		if _, err := os.Stat(filepath.Join(content, "workshop", name)); err == nil {
			return false
		}
	}
	return true
}

// hugoBuilds returns the folder of the builds of content for environment env's sessions
// that have dashboards of their own, starting its build (DASHBOARD_MODE=build) in a
// sandbox of its own when the environment has none yet: a session's sandbox (the
// dashboard's program as the sandbox's user, one or two layers), in a cgroup of its own
// with l, the content read-only and the folder, in place of a session's run folder, the
// only one it can write. The values of r's session that its environment's other sessions
// share are the build's; its per-session values stay placeholders. It returns "" when
// the sessions build for themselves: no environment, content that is not of the Hugo
// layout, or sessions that are not sandboxed (nothing could keep a session from writing
// the folder).
func (p *Provisioner) hugoBuilds(r portal.StartRequest, content string, l Limits) (string, error) {
	env := r.Session.Environment
	if p.sandbox == nil || content == "" || !validName(env) || env[0] == '.' || !isHugoContent(content) {
		return "", nil
	}
	sum := sha256.Sum256([]byte(content))
	name := env + "-" + hex.EncodeToString(sum[:6])
	root := filepath.Join(p.dir, buildsRoot)
	if err := p.mkwork(root); err != nil {
		return "", err
	}
	unlock, _, err := flock(filepath.Join(root, "."+name+".lock"), true)
	if err != nil {
		return "", fmt.Errorf("lock the Hugo builds of environment %s: %w", env, err)
	}
	defer unlock()
	dir := filepath.Join(root, name)
	out := filepath.Join(dir, "out")
	if b, err := os.ReadFile(filepath.Join(dir, handleFile)); err == nil {
		if _, err := os.Stat(filepath.Join(out, buildDone)); err == nil {
			return out, nil
		}
		if h, err := parseHandle(b); err == nil && alive(h) {
			return out, nil
		}
		// A builder that ended without a result (a portal stopped meanwhile) is replaced.
	}
	if err := p.mkwork(dir); err != nil {
		return "", err
	}
	if err := removeAll(out); err != nil {
		return "", err
	}
	home := filepath.Join(dir, homeDir)
	for _, d := range []string{out, home} {
		if err := p.mkdir(d); err != nil {
			return "", err
		}
	}
	first, err := firstSession(r, content)
	if err != nil {
		return "", err
	}
	path := os.Getenv("PATH")
	if path == "" {
		path = "/usr/local/bin:/usr/bin:/bin"
	}
	envv := []string{"PATH=" + path, "LANG=C.UTF-8", "HOME=" + sandboxHome, "DASHBOARD_MODE=build",
		"WORKSHOP_CONTENT=" + sandboxContent, "HUGO_BUILDS=" + sandboxRun, "FIRST_SESSION=" + first}
	// The session's sandbox, the output folder in place of its run folder.
	argv, cred := p.sandbox.command("hugo-build", home, out, content, l, p.command)
	var group string
	if p.groups != nil {
		group = buildGroupPrefix + name
		if err := p.groups.create(group, l); err != nil {
			return "", fmt.Errorf("create the cgroup of environment %s's Hugo build: %w", env, err)
		}
	}
	h, err := p.spawnAs(cred, argv, envv, dir, filepath.Join(dir, logFile), filepath.Join(dir, handleFile),
		handle{WorkDir: dir, Cgroup: group})
	if err != nil {
		return "", fmt.Errorf("start the Hugo build of environment %s: %w", env, err)
	}
	go p.endBuilder(h, out)
	p.log.Info("started the environment's Hugo build", "environment", env, "pid", h.PID, "dir", out)
	return out, nil
}

// endBuilder waits for the builder of h to end, then removes its cgroup and, when it left
// no result in out (it was killed, or did not start), writes one, so that no session
// waits for it.
func (p *Provisioner) endBuilder(h handle, out string) {
	for alive(h) {
		time.Sleep(builderPoll)
	}
	if h.Cgroup != "" {
		p.groups.remove(h.Cgroup)
	}
	done := filepath.Join(out, buildDone)
	if _, err := os.Stat(done); errors.Is(err, os.ErrNotExist) {
		p.log.Warn("the environment's Hugo build ended without a result", "dir", out, "log", fileTail(filepath.Dir(out), logFile))
		if err := os.WriteFile(done, []byte("the build ended without a result"), 0o644); err != nil {
			p.log.Warn("mark the Hugo build done", "dir", out, "err", err)
		}
	}
}
