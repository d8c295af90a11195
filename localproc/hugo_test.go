package localproc

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/browsertest"
	"portal/ticket"
	"portal/unixsock"
)

// A sandboxed session's dashboard builds a workshop of the Hugo layout: the sandbox shows
// it the hugo program and a writable /tmp, and the build fits in the session's default
// memory limit.
func TestHugoWorkshopInSandbox(t *testing.T) {
	if _, err := exec.LookPath("hugo"); err != nil {
		browsertest.Missing(t, "the hugo program (Debian package hugo)", err)
	}
	content := filepath.Join(t.TempDir(), "lab")
	if err := os.CopyFS(content, os.DirFS("../dashboard/testdata/hugo-workshop")); err != nil {
		t.Fatal(err)
	}
	openToSessions(t, content)
	p := newProvisioner(t, t.TempDir(), SandboxRequired)
	const name = "hugo-w01-s001"
	r := request(name, "serve")
	r.Env = append(r.Env, portal.EnvVar{Name: "WORKSHOP_CONTENT", Value: content})
	b, _ := start(t, p, r)
	st := waitReady(t, p, b)
	sock, ok := strings.CutPrefix(st.Endpoint, "unix:")
	if !ok {
		t.Fatalf("endpoint %q is not a Unix socket", st.Endpoint)
	}
	client := &http.Client{Transport: unixsock.Transport(sock), Timeout: 30 * time.Second}
	cookie := ticket.CookieName + "=" + ticket.Sign("secret-"+name, ticket.Claims{Audience: ticket.Cookie,
		Session: name, User: "learner", Expires: time.Now().Add(time.Hour)})
	get := func(path string) (int, string) {
		req, _ := http.NewRequest(http.MethodGet, "http://dashboard.invalid"+path, nil)
		req.Header.Set("Cookie", cookie)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	if status, body := get("/workshop/content/b-intro/"); status != http.StatusOK || !strings.Contains(body, "session <strong>"+name+"</strong>") {
		t.Errorf("page: %d\n%s", status, body)
	}
	if status, body := get("/workshop/content/bundle/diagram.png"); status != http.StatusOK || !strings.HasPrefix(body, "\x89PNG") {
		t.Errorf("bundle image: %d", status)
	}
}

// A dashboard host is started with the first session's environment, its secrets' values
// left out, and the content's path in the sandbox.
func TestFirstSession(t *testing.T) {
	r := portal.StartRequest{Env: []portal.EnvVar{{Name: "SESSION_NAME", Value: "lab-w01-s001"},
		{Name: "SESSION_SECRET", Value: "s3"}, {Name: "CONFIG_PASSWORD", Value: "pw"},
		{Name: "INGRESS_DOMAIN", Value: "example.test"}, {Name: "EMPTY_TOKEN", Value: ""},
		{Name: "LISTEN", Value: "/x.sock"}}}
	got, err := firstSession(r, "/content")
	if err != nil {
		t.Fatal(err)
	}
	want := `{"CONFIG_PASSWORD":"-","EMPTY_TOKEN":"","INGRESS_DOMAIN":"example.test","SESSION_NAME":"lab-w01-s001","SESSION_SECRET":"-","WORKSHOP_CONTENT":"` + sandboxContent + `"}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
}

// Sessions with dashboards of their own in one environment take the environment's Hugo
// build, made once in a sandbox of its own, and cannot write it: each sees its folder
// read-only, and none runs hugo.
func TestHugoBuildPerEnvironment(t *testing.T) {
	if _, err := exec.LookPath("hugo"); err != nil {
		browsertest.Missing(t, "the hugo program (Debian package hugo)", err)
	}
	content := filepath.Join(t.TempDir(), "lab")
	if err := os.CopyFS(content, os.DirFS("../dashboard/testdata/hugo-workshop")); err != nil {
		t.Fatal(err)
	}
	openToSessions(t, content)
	for _, layers := range []int{1, 2} {
		t.Run(fmt.Sprintf("%d layers", layers), func(t *testing.T) {
			p := newProvisioner(t, t.TempDir(), SandboxRequired)
			if layers == 1 && !p.sandbox.oneLayer {
				t.Skip("one-layer sandboxes cannot run here")
			}
			p.sandbox.oneLayer = layers == 1
			buildPerEnvironment(t, p, content)
		})
	}
}

func buildPerEnvironment(t *testing.T, p *Provisioner, content string) {
	names := []string{"hugo-w01-s001", "hugo-w01-s002"}
	for _, name := range names {
		r := request(name, "shell")
		r.Session.Environment = "hugo-w01"
		r.Env = append(r.Env, portal.EnvVar{Name: "WORKSHOP_CONTENT", Value: content},
			portal.EnvVar{Name: "SHELL_SCRIPT", Value: `test -d /opt/hugo-builds && echo mounted; ` +
				`if touch /opt/hugo-builds/x 2>/dev/null; then echo writable; else echo read-only; fi`})
		b, h := start(t, p, r)
		st := waitReady(t, p, b)
		if out, err := readHome(p, h, "shell.out"); err != nil || strings.TrimSpace(string(out)) != "mounted\nread-only" {
			t.Errorf("%s: the builds folder: %q, %v", name, out, err)
		}
		sock, _ := strings.CutPrefix(st.Endpoint, "unix:")
		client := &http.Client{Transport: unixsock.Transport(sock), Timeout: 30 * time.Second}
		req, _ := http.NewRequest(http.MethodGet, "http://dashboard.invalid/workshop/content/b-intro/", nil)
		req.Header.Set("Cookie", ticket.CookieName+"="+ticket.Sign("secret-"+name, ticket.Claims{Audience: ticket.Cookie,
			Session: name, User: "learner", Expires: time.Now().Add(time.Hour)}))
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || !strings.Contains(string(body), "session <strong>"+name+"</strong>") {
			t.Errorf("%s's page: %d\n%s", name, resp.StatusCode, body)
		}
		if log := logTail(h.WorkDir); !strings.Contains(log, "took the environment's build") {
			t.Errorf("%s's dashboard built for itself:\n%s", name, log)
		}
	}
	logs, _ := filepath.Glob(filepath.Join(p.dir, buildsRoot, "hugo-w01-*", logFile))
	if len(logs) != 1 {
		t.Fatalf("build logs %v, want one", logs)
	}
	if log, _ := os.ReadFile(logs[0]); strings.Count(string(log), "stored the environment's build") != 1 {
		t.Errorf("the build's log:\n%s", log)
	}
	waitBuildGroupGone(t, p)
}

// waitBuildGroupGone waits until no Hugo builder's cgroup is left under p's parent: the
// builder's group is removed once endBuilder sees it ended, which it looks at every
// builderPoll, so it may outlive the sessions that took its build by that much.
func waitBuildGroupGone(t *testing.T, p *Provisioner) {
	t.Helper()
	if p.groups == nil {
		return
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		names, err := p.groups.list()
		if err != nil {
			t.Fatalf("list the cgroups: %v", err)
		}
		left := slices.ContainsFunc(names, func(n string) bool { return strings.HasPrefix(n, buildGroupPrefix) })
		if !left {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the Hugo builder's cgroup is still there: %v", names)
		}
		time.Sleep(builderPoll / 4)
	}
}

// A builder that ends without a result gets one written for it, so that no session waits
// for it; a result it wrote stays.
func TestEndBuilder(t *testing.T) {
	p := newProvisioner(t, t.TempDir(), SandboxDisabled)
	for _, c := range []struct {
		name, wrote, want string
	}{
		{"killed", "", "the build ended without a result"},
		{"done", "hugo failed", "hugo failed"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cmd := exec.Command("/bin/true")
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			st, err := procStat(cmd.Process.Pid)
			if err != nil {
				t.Fatal(err)
			}
			cmd.Wait()
			out := filepath.Join(t.TempDir(), "out")
			if err := os.Mkdir(out, 0o755); err != nil {
				t.Fatal(err)
			}
			if c.wrote != "" {
				if err := os.WriteFile(filepath.Join(out, buildDone), []byte(c.wrote), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			p.endBuilder(handle{PID: cmd.Process.Pid, Start: st.start}, out)
			if got, err := os.ReadFile(filepath.Join(out, buildDone)); err != nil || string(got) != c.want {
				t.Errorf("done %q, %v; want %q", got, err, c.want)
			}
		})
	}
}
