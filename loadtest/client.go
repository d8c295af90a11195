package loadtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// client talks to a portal as its front end and its learners do. Every *.localhost host
// (the sessions' own hosts) is dialled at the portal's address, as a browser resolves
// *.localhost to this machine. A portal of several replicas is given as each replica's
// URL: the client sends its portal requests to them in turn (round-robin), with no load
// balancer in between; a learner's cookies for the portal go to every replica, as the
// replicas share one host name.
type client struct {
	base      string   // the first replica's URL without trailing slash
	bases     []string // every replica's URL without trailing slash
	turn      atomic.Uint64
	transport *http.Transport
	api       *http.Client // no cookies, no redirects
	token     string
	indexURL  string
	rec       *recorder
	deadline  time.Time // retries of 503 stop here
	clock     clock
	// oa keeps a sample of the REST answers for the check against /openapi.json (nil: off).
	oa *apiCheck
}

// clock is the time source of a client's measurements and its waits for Retry-After;
// tests replace it.
type clock interface {
	Now() time.Time
	// Sleep waits d, or until ctx ends (then it returns ctx's error).
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// newTransport returns a transport that keeps up to conns connections per host and sends
// *.localhost to 127.0.0.1 on the URL's port. With several replicas (their host:port,
// the first being the portal's public address, which every replica is started with as its
// --url), each new connection to a session host (<name>.localhost) at the public port goes
// to the next replica in turn, as a load balancer in front of them would spread them.
func newTransport(conns int, replicas []string) *http.Transport {
	dialer := &net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}
	var turn atomic.Uint64
	publicPort := ""
	if len(replicas) > 1 {
		_, publicPort, _ = net.SplitHostPort(replicas[0])
	}
	return &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err == nil && (host == "localhost" || strings.HasSuffix(host, ".localhost")) {
				if publicPort != "" && host != "localhost" && port == publicPort {
					_, port, _ = net.SplitHostPort(replicas[(turn.Add(1)-1)%uint64(len(replicas))])
				}
				addr = net.JoinHostPort("127.0.0.1", port)
			}
			return dialer.DialContext(ctx, network, addr)
		},
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: max(conns, 2),
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}
}

func noRedirect(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

// newClient returns a client of the portal whose replicas answer at bases (at least one).
func newClient(bases []string, conns int, rec *recorder) *client {
	var trimmed, addrs []string
	for _, b := range bases {
		trimmed = append(trimmed, strings.TrimSuffix(b, "/"))
		if u, err := url.Parse(b); err == nil {
			addrs = append(addrs, u.Host)
		}
	}
	tr := newTransport(conns, addrs)
	return &client{base: trimmed[0], bases: trimmed, transport: tr, rec: rec, indexURL: trimmed[0] + "/", clock: realClock{},
		api: &http.Client{Transport: tr, CheckRedirect: noRedirect, Timeout: 60 * time.Second}}
}

// url returns path on the next replica in turn.
func (c *client) url(path string) string {
	return c.bases[(c.turn.Add(1)-1)%uint64(len(c.bases))] + path
}

// browser returns an HTTP client with its own cookie jar (one learner's browser).
func (c *client) browser() *http.Client {
	jar, _ := cookiejar.New(nil)
	return &http.Client{Transport: c.transport, Jar: jar, CheckRedirect: noRedirect, Timeout: 60 * time.Second}
}

// statusError is an unexpected HTTP status.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string {
	b := e.body
	if len(b) > 200 {
		b = b[:200] + "…"
	}
	return fmt.Sprintf("status %d: %s", e.status, strings.TrimSpace(b))
}

// retryAfter is a 503 with the delay its Retry-After asked for.
type retryAfter struct{ wait time.Duration }

func (e *retryAfter) Error() string { return fmt.Sprintf("503, retry after %s", e.wait) }

// do sends a request and reads the whole body. A 503 comes back as *retryAfter.
func do(ctx context.Context, hc *http.Client, method, u, token string, body io.Reader, hdr http.Header) (*http.Response, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return resp, nil, err
	}
	if resp.StatusCode == http.StatusServiceUnavailable {
		wait := time.Second
		if s, err := strconv.Atoi(resp.Header.Get("Retry-After")); err == nil && s >= 0 {
			wait = time.Duration(s) * time.Second
		}
		return resp, b, &retryAfter{wait}
	}
	return resp, b, nil
}

// timed runs one operation, retrying it after a 503 for as long as its Retry-After says
// (until the client's deadline), and records its latency: from the start of its first
// attempt to its final answer, the waits included, as a learner sees it. Each wait counts
// as a retry.
func (c *client) timed(ctx context.Context, op string, fn func() (int, error)) error {
	start := c.clock.Now()
	for {
		n, err := fn()
		var ra *retryAfter
		if errors.As(err, &ra) && !c.deadline.IsZero() && c.clock.Now().Add(ra.wait).Before(c.deadline) {
			c.rec.retry(op)
			if err = c.clock.Sleep(ctx, ra.wait); err == nil {
				continue
			}
		}
		c.rec.add(op, c.clock.Now().Sub(start), n, err)
		if err != nil {
			return fmt.Errorf("%s: %w", op, err)
		}
		return nil
	}
}

// getJSON GETs an API path with the robot token and decodes a 200 answer into out.
func (c *client) getJSON(ctx context.Context, path string, out any) (int, error) {
	resp, b, err := do(ctx, c.api, http.MethodGet, c.url(path), c.token, nil, nil)
	if resp != nil && b != nil {
		c.oa.keep(http.MethodGet, path, resp.StatusCode, resp.Header, b)
	}
	if err != nil {
		return 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return 0, &statusError{resp.StatusCode, string(b)}
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return 0, fmt.Errorf("decode %s: %w", path, err)
		}
	}
	return len(b), nil
}

// login gets an access token for the robot account with the password grant.
func (c *client) login(ctx context.Context, clientID, secret, user, password string) error {
	form := url.Values{"grant_type": {"password"}, "username": {user}, "password": {password}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/oauth2/token/"),
		strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := c.api.Do(req)
	if err != nil {
		return fmt.Errorf("get a robot token: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil {
		c.oa.keep(http.MethodPost, "/oauth2/token/", resp.StatusCode, resp.Header, b)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get a robot token: %w", &statusError{resp.StatusCode, string(b)})
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(b, &tok); err != nil || tok.AccessToken == "" {
		return fmt.Errorf("get a robot token: no access_token in %s", b)
	}
	c.token = tok.AccessToken
	return nil
}

// revoke revokes the robot's access token.
func (c *client) revoke(ctx context.Context, clientID, secret string) error {
	form := url.Values{"token": {c.token}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url("/oauth2/revoke-token/"),
		strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(clientID, secret)
	resp, err := c.api.Do(req)
	if err != nil {
		return err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err == nil {
		c.oa.keep(http.MethodPost, "/oauth2/revoke-token/", resp.StatusCode, resp.Header, b)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("revoke token: status %d", resp.StatusCode)
	}
	return nil
}

// catalogEnv is what the tool reads of a catalog entry.
type catalogEnv struct {
	Name     string `json:"name"`
	State    string `json:"state"`
	Workshop struct {
		Name string `json:"name"`
	} `json:"workshop"`
	Capacity  int `json:"capacity"`
	Reserved  int `json:"reserved"`
	Allocated int `json:"allocated"`
	Available int `json:"available"`
	Sessions  *[]struct {
		Name string `json:"name"`
		User string `json:"user"`
	} `json:"sessions"`
}

func (c *client) catalog(ctx context.Context) ([]catalogEnv, int, error) {
	var out struct {
		Environments []catalogEnv `json:"environments"`
	}
	n, err := c.getJSON(ctx, "/workshops/catalog/environments/", &out)
	return out.Environments, n, err
}

// envStatus reads one environment with its allocated sessions.
func (c *client) envStatus(ctx context.Context, env string) (catalogEnv, error) {
	var out catalogEnv
	_, err := c.getJSON(ctx, "/workshops/environment/"+url.PathEscape(env)+"/status/?sessions=true", &out)
	return out, err
}

// grant is the answer to a session request.
type grant struct {
	Name string `json:"name"`
	User string `json:"user"`
	URL  string `json:"url"`
}

// request asks for a session of env: for a new user with this email, or for an existing
// user id (a reacquire).
func (c *client) request(ctx context.Context, env, user, email string) (grant, int, error) {
	q := url.Values{"index_url": {c.indexURL}}
	if user != "" {
		q.Set("user", user)
	}
	if email != "" {
		q.Set("email", email)
	}
	var g grant
	n, err := c.getJSON(ctx, "/workshops/environment/"+url.PathEscape(env)+"/request/?"+q.Encode(), &g)
	if err == nil && (g.Name == "" || g.URL == "" || g.User == "") {
		err = fmt.Errorf("incomplete session grant %+v", g)
	}
	return g, n, err
}

func (c *client) terminate(ctx context.Context, session string) (int, error) {
	return c.getJSON(ctx, "/workshops/session/"+url.PathEscape(session)+"/terminate/", nil)
}

// userSessions returns the names of a user's sessions.
func (c *client) userSessions(ctx context.Context, user string) ([]string, int, error) {
	var out struct {
		Sessions []struct {
			Name string `json:"name"`
		} `json:"sessions"`
	}
	n, err := c.getJSON(ctx, "/workshops/user/"+url.PathEscape(user)+"/sessions/", &out)
	var names []string
	for _, s := range out.Sessions {
		names = append(names, s.Name)
	}
	return names, n, err
}

// activate follows an activation URL in a learner's browser: it must log the browser in
// and redirect to the session page.
func (c *client) activate(ctx context.Context, br *http.Client, g grant) (int, error) {
	resp, b, err := do(ctx, br, http.MethodGet, c.url(g.URL), "", nil, nil)
	if err != nil {
		return 0, err
	}
	want := "/workshops/session/" + g.Name + "/"
	if resp.StatusCode != http.StatusFound || !strings.HasSuffix(resp.Header.Get("Location"), want) {
		return 0, fmt.Errorf("activation answered %d to %q, want 302 to %s: %w", resp.StatusCode,
			resp.Header.Get("Location"), want, &statusError{resp.StatusCode, string(b)})
	}
	return len(b), nil
}

var iframeSrc = regexp.MustCompile(`<iframe src="([^"]+)"`)

// errStarting is a session page that still says the session is starting.
var errStarting = &retryAfter{time.Second}

// sessionPage loads the session page; it returns the dashboard's URL (with its ticket)
// once the session is ready, or errStarting while the page reloads itself.
func (c *client) sessionPage(ctx context.Context, br *http.Client, session string) (string, int, error) {
	resp, b, err := do(ctx, br, http.MethodGet, c.url("/workshops/session/"+session+"/"), "", nil, nil)
	if err != nil {
		return "", 0, err
	}
	if resp.StatusCode != http.StatusOK {
		return "", 0, &statusError{resp.StatusCode, string(b)}
	}
	m := iframeSrc.FindSubmatch(b)
	if m == nil {
		if strings.Contains(string(b), `http-equiv="refresh"`) {
			return "", len(b), errStarting
		}
		return "", 0, fmt.Errorf("session page without a dashboard frame or reload: %.200s", b)
	}
	return html.UnescapeString(string(m[1])), len(b), nil
}

// dashboard loads the dashboard at u as a browser would: the ticket is exchanged for a
// cookie and the redirects followed; it returns the URL of the page it landed on. A
// session host still starting answers 503.
func (c *client) dashboard(ctx context.Context, br *http.Client, u string) (string, int, error) {
	for range 5 {
		resp, b, err := do(ctx, br, http.MethodGet, u, "", nil, nil)
		if err != nil {
			return "", 0, err
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			return u, len(b), nil
		case resp.StatusCode >= 300 && resp.StatusCode < 400:
			next, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil {
				return "", 0, err
			}
			if next.Host != resp.Request.URL.Host {
				return "", 0, fmt.Errorf("dashboard redirected away to %s", next)
			}
			u = next.String()
		default:
			return "", 0, &statusError{resp.StatusCode, string(b)}
		}
	}
	return "", 0, errors.New("dashboard: too many redirects")
}
