package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"portal"
	"portal/portalclient"
	"portal/scheduler"
	"portal/spec"
)

// workshopPortal is a portal run in this process that offers one workshop from an
// author's folder, with its data in a temporary folder and local sessions.
type workshopPortal struct {
	URL      string
	Workshop string // the Workshop's name
	Client   *portalclient.Client
	// Log is the portal's log file, in the temporary folder.
	Log string

	tmp  string
	stop context.CancelFunc
	done chan error
}

// oneWorkshopYAML is the portal of `portal workshop serve` and `test`: one session at a
// time that does not expire, for the author only. %s is the workshop's name.
const oneWorkshopYAML = `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: workshop
spec:
  portal:
    registration:
      type: one-step
      enabled: false
  workshops:
  - name: %s
    capacity: 1
    reserved: 0
    expires: 0s
    orphaned: 0s
`

// oneWorkshopConfig returns the configuration of a portal with the workshop of dir's
// resources/workshop.yaml (the first one when it holds several), its content the folder
// dir itself (whatever the definition says for a cluster), and the workshop's name. With
// author, its sessions' dashboards run in author mode (dashboard.Config.Author).
func oneWorkshopConfig(dir string, author bool) (*spec.Config, string, error) {
	file := filepath.Join(dir, "resources", "workshop.yaml")
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, "", fmt.Errorf("%w (a workshop folder has its Workshop resource there; `portal workshop new` makes one)", err)
	}
	ws, _, err := spec.ParseWorkshops(file, data)
	if err != nil {
		return nil, "", err
	}
	name := ws[0].Name
	// The workshop's own documents first, so that the lines of errors in them are right.
	conf, err := spec.Parse(file, append(append(data, "\n---\n"...), fmt.Sprintf(oneWorkshopYAML, name)...))
	if err != nil {
		return nil, "", err
	}
	w := conf.Workshops[name]
	w.ContentDir, w.Content = dir, nil
	conf.Workshops[name] = w
	if author {
		for i := range conf.Portal.Workshops {
			conf.Portal.Workshops[i].Env = append(conf.Portal.Workshops[i].Env, portal.EnvVar{Name: "DASHBOARD_AUTHOR", Value: "true"})
		}
	}
	return conf, name, nil
}

// startWorkshopPortal starts a portal offering the workshop in dir (its Workshop from
// resources/workshop.yaml, its content from dir) and returns once the portal serves. The
// caller must Close it.
func startWorkshopPortal(ctx context.Context, dir string) (*workshopPortal, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	conf, name, err := oneWorkshopConfig(abs, false)
	if err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp("", "portal-workshop-")
	if err != nil {
		return nil, err
	}
	logFile := filepath.Join(tmp, "portal.log")
	logw, err := os.Create(logFile)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	// The flags set everything that the PORTAL_* variables of a portal's operator could
	// point elsewhere (a database, a cluster, a public URL).
	c, err := parseServe([]string{"--addr", "127.0.0.1:0", "--data-dir", filepath.Join(tmp, "data"),
		"--database=", "--url=", "--ingress-domain=localhost", "--metrics-addr=", "--metrics-token=",
		"--provisioner=local", "--log-level=info", "--log-format=text"}, logw)
	if err != nil {
		os.RemoveAll(tmp)
		return nil, err
	}
	// An author's machine or CI may lack bubblewrap: the session is the author's own.
	c.AllowUnsandboxed = true
	type ready struct {
		url   string
		creds scheduler.Credentials
	}
	readyc := make(chan ready, 1)
	c.Ready = func(_ context.Context, sp servedPortal) error {
		readyc <- ready{sp.URL, sp.Creds}
		return nil
	}
	runCtx, stop := context.WithCancel(context.WithoutCancel(ctx))
	p := &workshopPortal{Workshop: name, Log: logFile, tmp: tmp, stop: stop, done: make(chan error, 1)}
	log, err := newLogger(c.LogLevel, c.LogFormat, logw)
	if err != nil {
		logw.Close()
		os.RemoveAll(tmp)
		return nil, err
	}
	go func() {
		err := servePortal(runCtx, c, conf, log, io.Discard)
		logw.Close()
		p.done <- err
	}()
	select {
	case r := <-readyc:
		p.URL = r.url
		p.Client, err = portalclient.New(r.url, portalclient.Credentials{ClientID: r.creds.RobotClientID,
			ClientSecret: r.creds.RobotClientSecret, Username: r.creds.RobotUsername, Password: r.creds.RobotPassword}, nil)
		if err != nil {
			p.Close()
			return nil, err
		}
		return p, nil
	case err := <-p.done:
		log, _ := os.ReadFile(logFile)
		os.RemoveAll(tmp)
		return nil, fmt.Errorf("the portal did not start: %v\n%s", err, log)
	case <-ctx.Done():
		p.Close()
		return nil, ctx.Err()
	}
}

// Close stops the portal and removes its temporary folder. Sessions still running are
// left to their own end: stop them first (endSession).
func (p *workshopPortal) Close() error {
	p.stop()
	err := <-p.done
	os.RemoveAll(p.tmp)
	return err
}

// hostClient returns an HTTP client that sends every host (the portal's and its sessions'
// <name>.localhost hosts) to the portal's listener, as a browser resolves *.localhost.
func (p *workshopPortal) hostClient(jar http.CookieJar) *http.Client {
	u, _ := url.Parse(p.URL)
	addr := net.JoinHostPort("127.0.0.1", u.Port())
	dialer := &net.Dialer{Timeout: 5 * time.Second}
	return &http.Client{Jar: jar, Timeout: 2 * time.Minute, Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, _ string) (net.Conn, error) {
			return dialer.DialContext(ctx, network, addr)
		}}}
}

// frameSrc is the dashboard's address in the session page once the session is ready.
var frameSrc = regexp.MustCompile(`<iframe src="([^"]+)"`)

// openSession requests a session of the workshop for a user, follows its activation URL
// and the session page as a browser would, and returns the session's name, the
// dashboard's base URL and a client holding the dashboard's cookie. It gives up at ctx's
// end; the name is set once the session exists, with an error too.
func (p *workshopPortal) openSession(ctx context.Context) (name, base string, client *http.Client, err error) {
	var env string
	for env == "" {
		cat, err := p.Client.Environments(ctx)
		if err != nil {
			return "", "", nil, err
		}
		for _, e := range cat.Environments {
			if e.Workshop.Name != p.Workshop {
				continue
			}
			if e.Failure != "" {
				return "", "", nil, fmt.Errorf("the workshop's environment cannot start: %s", e.Failure)
			}
			if strings.EqualFold(e.State, "running") {
				env = e.Name
			}
		}
		if env == "" {
			if err := pause(ctx, 200*time.Millisecond); err != nil {
				return "", "", nil, fmt.Errorf("the workshop's environment did not start: %w", err)
			}
		}
	}
	var a *portalclient.Allocation
	for {
		a, err = p.Client.Request(ctx, env, portalclient.Request{User: "author", IndexURL: p.URL + "/"})
		var busy *portalclient.Error
		if err == nil {
			break
		}
		if !errors.As(err, &busy) || busy.Status != http.StatusServiceUnavailable {
			return "", "", nil, fmt.Errorf("request a session: %w", err)
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return "", "", nil, fmt.Errorf("request a session: %w", err)
		}
	}
	jar, _ := cookiejar.New(nil)
	client = p.hostClient(jar)
	page := a.ActivationURL
	for {
		// The session page shows the dashboard in a frame once the session is ready.
		req, _ := http.NewRequestWithContext(ctx, "GET", page, nil)
		resp, err := client.Do(req)
		if err != nil {
			return a.Name, "", nil, fmt.Errorf("the session page: %w", err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		page = resp.Request.URL.String()
		if m := frameSrc.FindSubmatch(b); m != nil {
			frame := strings.ReplaceAll(string(m[1]), "&amp;", "&")
			fu, err := resp.Request.URL.Parse(frame)
			if err != nil {
				return a.Name, "", nil, fmt.Errorf("the session page's frame %q: %w", frame, err)
			}
			req, _ := http.NewRequestWithContext(ctx, "GET", fu.String(), nil)
			resp, err := client.Do(req)
			if err != nil {
				return a.Name, "", nil, fmt.Errorf("the dashboard: %w", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				return a.Name, "", nil, fmt.Errorf("the dashboard answered %s", resp.Status)
			}
			return a.Name, resp.Request.URL.Scheme + "://" + resp.Request.URL.Host, client, nil
		}
		if err := pause(ctx, 250*time.Millisecond); err != nil {
			return a.Name, "", nil, fmt.Errorf("session %s did not become ready: %w", a.Name, err)
		}
	}
}

// endSession terminates the session and waits until the portal has stopped it.
func (p *workshopPortal) endSession(ctx context.Context, name string) error {
	if _, err := p.Client.Terminate(ctx, name); err != nil && !errors.Is(err, portalclient.ErrNotFound) {
		return err
	}
	for {
		list, err := p.Client.Sessions(ctx, "")
		if err != nil {
			return err
		}
		live := false
		for _, s := range list {
			live = live || s.Name == name
		}
		if !live {
			return nil
		}
		if err := pause(ctx, 200*time.Millisecond); err != nil {
			return fmt.Errorf("session %s did not stop: %w", name, err)
		}
	}
}

// pause waits for d, or returns ctx's error when it ends first.
func pause(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
