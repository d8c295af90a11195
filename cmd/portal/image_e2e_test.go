package main

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"portal/browsertest"
	"portal/workshopfiles/filestest"
)

// imageConfig is a portal with one workshop whose sessions run in the workshop image
// %s, and one whose image was never pushed (%s).
const imageConfig = `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: lab
spec:
  workshops:
  - name: lab-image
    capacity: 1
    reserved: 0
  - name: lab-no-image
    capacity: 1
    reserved: 0
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-image
spec:
  title: Image
  workshop:
    image: %s
  session:
    applications:
      terminal:
        enabled: true
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-no-image
spec:
  title: No image
  workshop:
    image: %s
`

// The portal binary runs a session of a workshop with an image in that image, pulled from
// a registry without a container daemon: the learner's terminal runs the image's tool and
// sees its files, not the host's. A workshop whose image is missing is listed as failed
// and refused with 503 and the reason.
func TestWorkshopImageEndToEnd(t *testing.T) {
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		t.Skip("the test's host-only file, /etc/debian_version, is missing here")
	}
	reg := filestest.Registry(t)
	ref := reg + "/lab-tools:1"
	filestest.PushImageConfig(t, ref, v1.Config{Env: []string{"PATH=/opt/tools/bin:/bin"}},
		filestest.HostShell(t),
		filestest.Files{
			"etc/image-marker":    "in-the-image\n",
			"opt/tools/bin/hello": "#!/bin/sh\necho hello-from-the-$1\n",
		})
	if _, err := exec.LookPath("bwrap"); err != nil {
		browsertest.Missing(t, "bubblewrap", err)
	}
	p := startPortal(t, t.TempDir(), fmt.Sprintf(imageConfig, ref, reg+"/never-pushed:1"))
	tok := p.token()
	env := p.envNamed(tok, "lab-image")

	var failed struct {
		Environments []struct{ Name, State, Failure string }
	}
	eventually(t, 30*time.Second, "the failure of the workshop without its image", func() bool {
		p.get(tok, "/workshops/catalog/environments/?state=STARTING", 200, &failed)
		return len(failed.Environments) == 1 && failed.Environments[0].Failure != ""
	})
	if e := failed.Environments[0]; !strings.Contains(e.Failure, "never-pushed:1") {
		t.Errorf("failed environment %+v, want its failure to name the image", e)
	}
	body := p.get(tok, "/workshops/environment/"+failed.Environments[0].Name+"/request/?index_url=https://hub.test/", 503, nil)
	if !strings.Contains(string(body), "never-pushed:1") {
		t.Errorf("request of the workshop without its image: %s", body)
	}

	eventually(t, 30*time.Second, "the workshop with its image to run", func() bool {
		return p.available(tok, env) >= 0
	})
	r, frame := learnerSession(t, p, tok, env, "https://hub.test/")
	term := openTerminal(t, p, r.Name, frame)
	if got := term.run(`hello image`, regexp.MustCompile(`hello-from-the-\w+`), 30*time.Second); got != "hello-from-the-image" {
		t.Errorf("the image's tool printed %q", got)
	}
	if got := term.run(`read m < /etc/image-marker; echo "m=$m"`, regexp.MustCompile(`m=([\w-]+)`), 10*time.Second); got != "in-the-image" {
		t.Errorf("the image's file reads %q", got)
	}
	if st := term.status("HOST", "[ -e /etc/debian_version ]", 10*time.Second); st == 0 {
		t.Errorf("the host's /etc/debian_version is visible in the session")
	}
}

// A root portal that gives sessions egress runs them in two bubblewrap layers (slirp4netns
// joins the sandbox's network namespace): a session of a workshop with an image runs in
// that image there too. The learner's terminal runs the image's tool and shell, does not
// see the host's files, and reaches a server outside through the session's egress.
func TestWorkshopImageWithEgress(t *testing.T) {
	if os.Geteuid() != 0 {
		browsertest.Missing(t, "root (to create the test's network namespace)", errors.New("not root"))
	}
	if _, err := os.Stat("/etc/debian_version"); err != nil {
		t.Skip("the test's host-only file, /etc/debian_version, is missing here")
	}
	for _, prog := range []string{"bwrap", "slirp4netns", "ip", "bash"} {
		if _, err := exec.LookPath(prog); err != nil {
			browsertest.Missing(t, prog, err)
		}
	}
	outside := startOutsideServer(t)
	outHost, outPort, _ := net.SplitHostPort(outside.addr)
	reg := filestest.Registry(t)
	ref := reg + "/lab-tools:1"
	filestest.PushImageConfig(t, ref, v1.Config{Env: []string{"PATH=/opt/tools/bin:/bin"}},
		filestest.HostProgram(t, "/bin/bash"),
		filestest.Files{
			"etc/image-marker":    "in-the-image\n",
			"opt/tools/bin/hello": "#!/bin/bash\necho hello-from-the-$1\n",
		})
	p := startPortalWith(t, t.TempDir(), fmt.Sprintf(imageConfig, ref, reg+"/never-pushed:1"),
		[]string{"PORTAL_SESSION_EGRESS=true"})
	tok := p.token()
	env := p.envNamed(tok, "lab-image")
	eventually(t, 30*time.Second, "the workshop with its image to run", func() bool {
		return p.available(tok, env) >= 0
	})
	r, frame := learnerSession(t, p, tok, env, "https://hub.test/")
	term := openTerminal(t, p, r.Name, frame)
	defer func() {
		if t.Failed() {
			out, _ := term.output()
			t.Logf("terminal output:\n%s", out)
		}
	}()
	if got := term.run(`hello image`, regexp.MustCompile(`hello-from-the-\w+`), 30*time.Second); got != "hello-from-the-image" {
		t.Errorf("the image's tool printed %q", got)
	}
	if got := term.run(`read m < /etc/image-marker; echo "m=$m"`, regexp.MustCompile(`m=([\w-]+)`), 10*time.Second); got != "in-the-image" {
		t.Errorf("the image's file reads %q", got)
	}
	if st := term.status("HOST", "[ -e /etc/debian_version ]", 10*time.Second); st == 0 {
		t.Errorf("the host's /etc/debian_version is visible in the session")
	}
	// The image has bash and nothing else: the request is bash's own.
	fetch := fmt.Sprintf(`(exec 3<>/dev/tcp/%s/%s && printf 'GET / HTTP/1.0\r\n\r\n' >&3 && while IFS= read -r l <&3; do case "$l" in *%s*) exit 0;; esac; done; exit 1)`,
		outHost, outPort, outside.marker)
	if st := term.status("E1", fetch, 20*time.Second); st != 0 {
		t.Errorf("with egress, the terminal did not reach the outside server %s (status %d)", outside.addr, st)
	}
}
