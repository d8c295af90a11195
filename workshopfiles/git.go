package workshopfiles

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// git fetches one commit of a repository (ref: a branch, tag or commit; "" = the default
// branch; a leading "origin/" as in the reference's examples is dropped), without its
// history, into <Dir>/git-<commit>, leaving out the .git folder. Only the file, git,
// http, https and ssh transports are allowed.
func (f *Fetcher) git(ctx context.Context, url, ref string) (unpacked, error) {
	ref = strings.TrimPrefix(ref, "origin/")
	if ref == "" {
		ref = "HEAD"
	}
	if strings.HasPrefix(ref, "-") || strings.HasPrefix(url, "-") {
		return unpacked{}, fmt.Errorf("refused: git ref or URL starting with -")
	}
	if err := os.MkdirAll(f.Dir, 0o755); err != nil {
		return unpacked{}, err
	}
	work, err := os.MkdirTemp(f.Dir, ".git-")
	if err != nil {
		return unpacked{}, err
	}
	defer os.RemoveAll(work)
	run := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, f.gitProg(), append([]string{"-C", work, "-c", "core.symlinks=false", "-c", "advice.detachedHead=false"}, args...)...)
		cmd.Env = append(os.Environ(), "GIT_TERMINAL_PROMPT=0", "GIT_ALLOW_PROTOCOL=file:git:http:https:ssh",
			"GIT_CONFIG_NOSYSTEM=1", "GIT_ASKPASS=true")
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			msg := strings.TrimSpace(stderr.String())
			if len(msg) > 500 {
				msg = msg[:500]
			}
			return "", fmt.Errorf("git %s: %v: %s", args[0], err, msg)
		}
		return strings.TrimSpace(out.String()), nil
	}
	if _, err := run("init", "-q"); err != nil {
		return unpacked{}, err
	}
	if _, err := run("fetch", "-q", "--depth", "1", "--no-tags", "--", url, ref); err != nil {
		return unpacked{}, err
	}
	commit, err := run("rev-parse", "--verify", "FETCH_HEAD^{commit}")
	if err != nil {
		return unpacked{}, err
	}
	u := unpacked{Digest: "git:" + commit, Dir: filepath.Join(f.Dir, "git-"+commit)}
	if _, err := os.Stat(u.Dir); err == nil {
		return u, nil
	}
	_, err = f.publish(u.Dir, func(dir string) error {
		// git archive writes the commit's tree as a tar: the same checks as for every
		// archive apply to its names and links.
		cmd := exec.CommandContext(ctx, f.gitProg(), "-C", work, "archive", "--format=tar", commit)
		pipe, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		w := &writer{dir: dir, maxBytes: f.maxBytes(), maxFiles: f.maxFiles()}
		werr := w.tar(pipe, false)
		if werr != nil {
			cmd.Process.Kill()
		}
		if err := cmd.Wait(); werr == nil && err != nil {
			werr = fmt.Errorf("git archive: %v: %s", err, strings.TrimSpace(stderr.String()))
		}
		return werr
	})
	return u, err
}

func (f *Fetcher) gitProg() string {
	if f.Git != "" {
		return f.Git
	}
	return "git"
}
