package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"portal/unixsock"
)

// learner is what happened to one learner.
type learner struct {
	requested time.Time
	granted   time.Time // the request's answer
	activated time.Time // the activation's answer
	framed    time.Time // the session page that framed the dashboard
	pages     int       // session pages loaded (the last one framed the dashboard)
	dashboard time.Time // zero when the dashboard never answered
	terminal  time.Time // with FirstTerminal: its first terminal's first output (zero: none)
	edited    bool      // with Editor: it used the editor, and the saved file read back
	grant     grant
	frame     string       // the dashboard URL the session page framed
	landing   string       // the dashboard page the frame led to
	browser   *http.Client // with the learner's cookies
	err       error
}

// learn plays one learner and the front end acting for it: request a session, follow the
// activation URL, load the session page until it frames the dashboard, load the
// dashboard, and list the user's sessions.
func (r *run) learn(ctx context.Context, i int, email string) learner {
	c := r.c
	l := learner{requested: time.Now(), browser: c.browser()}
	fail := func(err error) learner {
		l.err = fmt.Errorf("learner %d: %w", i, err)
		return l
	}
	err := c.timed(ctx, "request", func() (int, error) {
		var n int
		var err error
		l.grant, n, err = c.request(ctx, r.env.Name, "", email)
		return n, err
	})
	if err != nil {
		return fail(err)
	}
	l.granted = time.Now()
	g := l.grant
	if err := c.timed(ctx, "activate", func() (int, error) { return c.activate(ctx, l.browser, g) }); err != nil {
		return fail(err)
	}
	l.activated = time.Now()
	err = c.timed(ctx, "session-page", func() (int, error) {
		var n int
		var err error
		l.pages++
		l.frame, n, err = c.sessionPage(ctx, l.browser, g.Name)
		return n, err
	})
	if err != nil {
		return fail(err)
	}
	l.framed = time.Now()
	err = c.timed(ctx, "dashboard", func() (int, error) {
		var n int
		var err error
		l.landing, n, err = c.dashboard(ctx, l.browser, l.frame)
		return n, err
	})
	if err != nil {
		return fail(err)
	}
	l.dashboard = time.Now()
	c.rec.add("time-to-dashboard", l.dashboard.Sub(l.requested), 0, nil)
	if r.cfg.FirstTerminal {
		// As a browser does when the dashboard's page loads: open the first terminal and
		// wait for the shell's first output.
		conn, err := openTerminal(ctx, l, "1")
		if err != nil {
			return fail(err)
		}
		l.terminal = time.Now()
		conn.Close(websocket.StatusNormalClosure, "")
		c.rec.add("time-to-terminal", l.terminal.Sub(l.requested), 0, nil)
	}
	if r.cfg.Editor {
		if err := c.useEditor(ctx, l, fmt.Sprintf("edited by learner %d", i)); err != nil {
			return fail(err)
		}
		l.edited = true
	}
	err = c.timed(ctx, "user-sessions", func() (int, error) {
		names, n, err := c.userSessions(ctx, g.User)
		if err == nil && !slices.Contains(names, g.Name) {
			err = fmt.Errorf("the sessions of user %s are %v, without %s", g.User, names, g.Name)
		}
		return n, err
	})
	if err != nil {
		return fail(err)
	}
	return l
}

// terminateAll ends sessions with a few parallel calls, recording "terminate".
func (r *run) terminateAll(ctx context.Context, names []string) {
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for _, n := range names {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			r.c.timed(ctx, "terminate", func() (int, error) { return r.c.terminate(ctx, n) })
		})
	}
	wg.Wait()
}

// classStart: Users learners send their requests spread evenly over one second, then each
// goes on to a working dashboard.
func (r *run) classStart(ctx context.Context) error {
	n := r.cfg.Users
	c := r.c
	c.deadline = time.Now().Add(r.cfg.Timeout)
	r.logf("class-start: %d learners within one second", n)

	// Watch the environment's allocation while the class starts.
	var maxAllocated atomic.Int64
	sctx, stopSampler := context.WithCancel(ctx)
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		for sctx.Err() == nil {
			if envs, _, err := c.catalog(sctx); err == nil {
				for _, e := range envs {
					if e.Name == r.env.Name && int64(e.Allocated) > maxAllocated.Load() {
						maxAllocated.Store(int64(e.Allocated))
					}
				}
			}
			select {
			case <-time.After(250 * time.Millisecond):
			case <-sctx.Done():
			}
		}
	}()

	start := time.Now()
	r.classBegan = start
	out := make([]learner, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			select {
			case <-time.After(time.Duration(i) * time.Second / time.Duration(n)):
			case <-ctx.Done():
			}
			out[i] = r.learn(ctx, i, fmt.Sprintf("learner-%d@loadtest.test", i))
		})
	}
	wg.Wait()
	measured := time.Since(start)
	stopSampler()
	<-sampled
	if r.kube != nil {
		r.podReady(out)
	}
	r.sessionMemory(ctx, out)

	granted, ready, terminals := 0, 0, 0
	sessions, users := map[string]bool{}, map[string]bool{}
	var first, last, lastTerminal time.Time
	var errs []error
	for _, l := range out {
		if first.IsZero() || l.requested.Before(first) {
			first = l.requested
		}
		if l.err != nil {
			errs = append(errs, l.err)
		}
		if l.grant.Name == "" {
			continue
		}
		granted++
		sessions[l.grant.Name] = true
		users[l.grant.User] = true
		if !l.dashboard.IsZero() {
			ready++
			if l.dashboard.After(last) {
				last = l.dashboard
			}
		}
		if !l.terminal.IsZero() {
			terminals++
			if l.terminal.After(lastTerminal) {
				lastTerminal = l.terminal
			}
		}
	}
	for i, err := range errs {
		if i == 5 {
			r.logf("… and %d more errors", len(errs)-5)
			break
		}
		r.logf("%v", err)
	}
	capacity := r.env.Capacity
	r.rep.check("every learner got a session", granted == n, "%d of %d", granted, n)
	r.rep.check("no session handed out twice", len(sessions) == granted && len(users) == granted,
		"%d grants, %d distinct sessions, %d distinct users", granted, len(sessions), len(users))
	r.rep.check("capacity never exceeded", (capacity == 0 || int(maxAllocated.Load()) <= capacity) &&
		(capacity == 0 || len(sessions) <= capacity),
		"capacity %d, most allocated seen %d, sessions granted %d", capacity, maxAllocated.Load(), len(sessions))
	r.rep.check("every dashboard answered", ready == n, "%d of %d", ready, n)
	if !last.IsZero() {
		r.rep.figure("first_request_to_last_dashboard_s", last.Sub(first).Seconds())
	}
	if r.cfg.FirstTerminal {
		r.rep.check("every first terminal answered", terminals == n, "%d of %d", terminals, n)
		if !lastTerminal.IsZero() {
			r.rep.figure("first_request_to_last_terminal_s", lastTerminal.Sub(first).Seconds())
		}
	}
	r.editorChecks(out)
	r.startOrder(out)
	if r.cfg.Timeline != "" {
		if err := writeTimeline(r.cfg.Timeline, out); err != nil {
			return fmt.Errorf("write the timeline: %w", err)
		}
	}

	names := make([]string, 0, len(sessions))
	var grants []grant
	for _, l := range out {
		if l.grant.Name != "" {
			names = append(names, l.grant.Name)
			grants = append(grants, l.grant)
		}
	}
	// The end of the class: every session terminated at once, then stopped by the portal.
	ended := time.Now()
	r.classEnded = ended
	r.terminateAll(ctx, names)
	st, left, err := r.waitStopped(ctx, grants, "class_end_stopped_ms")
	if err != nil {
		return err
	}
	r.rep.figure("class_end_ms", float64(time.Since(ended).Milliseconds()))
	r.rep.check("the class's sessions were stopped", st.Allocated == 0 && len(left) == 0,
		"allocated %d, %d processes of ended sessions", st.Allocated, len(left))
	r.settle(measured)
	return nil
}

// startOrder reports the worst start-order inversion among the learners and, when
// sessions started on demand (fewer reserved than learners), checks that no learner who
// asked later got a ready dashboard more than maxInversion before one who asked earlier.
func (r *run) startOrder(ls []learner) {
	asked, ready := make([]time.Time, len(ls)), make([]time.Time, len(ls))
	for i, l := range ls {
		asked[i], ready[i] = l.requested, l.dashboard
	}
	w := worstInversion(asked, ready)
	r.rep.figure("worst_start_order_inversion_s", w.By.Seconds())
	if r.env.Reserved >= len(ls) {
		return
	}
	detail := "every learner was served in the order asked"
	if w.By > 0 {
		detail = fmt.Sprintf("worst: learner %d asked %s after learner %d and had its dashboard %s sooner",
			w.Later, ls[w.Later].requested.Sub(ls[w.Earlier].requested).Round(time.Millisecond), w.Earlier,
			w.By.Round(time.Millisecond))
	}
	r.rep.check("sessions start in the order asked", w.By <= maxInversion, "%s (at most %s allowed)", detail, maxInversion)
}

// setupUsers gives each of n new users a session and activates it (the sessions run, as a
// front end's users' sessions do). The operations are not part of the report.
func (r *run) setupUsers(ctx context.Context, n int, prefix string) ([]grant, error) {
	c := r.c
	measured := c.rec
	c.rec = newRecorder()
	defer func() { c.rec = measured }()
	out := make([]grant, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			g, _, err := c.request(ctx, r.env.Name, "", fmt.Sprintf("%s-%d@loadtest.test", prefix, i))
			if err == nil {
				_, err = c.activate(ctx, c.browser(), g)
			}
			out[i], errs[i] = g, err
		})
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("set up %d users with a session: %w", n, err)
	}
	return out, nil
}

// compare runs the baseline with the body size of the compared operation and puts the
// ratio into the report.
func (r *run) compare(ctx context.Context, op string) error {
	o := r.rep.Op(op)
	if o == nil || o.Count == 0 {
		return nil
	}
	r.logf("baseline: a bare net/http handler answering %d bytes, %d clients, %s", o.Bytes, r.cfg.Concurrency, r.cfg.Duration)
	st, _, err := baseline(ctx, r.cfg.Concurrency, r.cfg.Duration, o.Bytes)
	if err != nil {
		return err
	}
	r.rep.Baseline, r.rep.Compared = &st, op
	if st.Throughput > 0 {
		r.rep.Ratio = o.Throughput / st.Throughput
	}
	return nil
}

// reacquire: Users users have a running session; Concurrency clients ask for it again and
// again for Duration.
func (r *run) reacquire(ctx context.Context) error {
	c := r.c
	c.deadline = time.Now().Add(r.cfg.Timeout + 2*r.cfg.Duration)
	users, err := r.setupUsers(ctx, r.cfg.Users, "reacquire")
	if err != nil {
		return err
	}
	r.logf("reacquire: %d users, %d clients, %s", len(users), r.cfg.Concurrency, r.cfg.Duration)
	var wrong atomic.Int64
	read := func(ctx context.Context, w, i int, op string) {
		u := users[(w+i*r.cfg.Concurrency)%len(users)]
		c.timed(ctx, op, func() (int, error) {
			g, n, err := c.request(ctx, r.env.Name, u.User, "")
			if err == nil && (g.Name != u.Name || g.User != u.User) {
				wrong.Add(1)
				err = fmt.Errorf("user %s reacquired %s, not its session %s", u.User, g.Name, u.Name)
			}
			return n, err
		})
	}
	elapsed := forDuration(ctx, r.cfg.Concurrency, r.cfg.Duration, func(ctx context.Context, w, i int) {
		read(ctx, w, i, "reacquire")
	})
	c.rec.setElapsed("reacquire", elapsed)
	r.withWrites(ctx, "reacquire", read)
	r.settle(elapsed)
	o := r.rep.Op("reacquire")
	r.rep.check("every reacquire answered with the user's own session", o != nil && o.Errors == 0 && wrong.Load() == 0,
		"%d errors, %d wrong sessions", opErrors(o), wrong.Load())
	r.writeChecks("reacquire")
	if err := r.compare(ctx, "reacquire"); err != nil {
		return err
	}
	r.compareWithWrites("reacquire")
	names := make([]string, len(users))
	for i, u := range users {
		names[i] = u.Name
	}
	c.rec = newRecorder()
	r.terminateAll(ctx, names)
	return nil
}

func opErrors(o *OpStats) int {
	if o == nil {
		return 0
	}
	return o.Errors
}

// catalog: Concurrency clients read the catalog for Duration.
func (r *run) catalog(ctx context.Context) error {
	c := r.c
	r.logf("catalog: %d clients, %s", r.cfg.Concurrency, r.cfg.Duration)
	c.deadline = time.Now().Add(r.cfg.Timeout + 2*r.cfg.Duration)
	read := func(ctx context.Context, w, i int, op string) {
		c.timed(ctx, op, func() (int, error) {
			envs, n, err := c.catalog(ctx)
			if err == nil && !slices.ContainsFunc(envs, func(e catalogEnv) bool { return e.Name == r.env.Name }) {
				err = fmt.Errorf("environment %s missing from the catalog", r.env.Name)
			}
			return n, err
		})
	}
	elapsed := forDuration(ctx, r.cfg.Concurrency, r.cfg.Duration, func(ctx context.Context, w, i int) {
		read(ctx, w, i, "catalog")
	})
	c.rec.setElapsed("catalog", elapsed)
	r.withWrites(ctx, "catalog", read)
	r.settle(elapsed)
	o := r.rep.Op("catalog")
	r.rep.check("every catalog read answered", o != nil && o.Errors == 0, "%d errors", opErrors(o))
	r.writeChecks("catalog")
	if err := r.compare(ctx, "catalog"); err != nil {
		return err
	}
	r.compareWithWrites("catalog")
	return nil
}

// writeChecks checks, when op was measured again under writes, that every read and every
// write of that phase succeeded.
func (r *run) writeChecks(op string) {
	if r.cfg.WriteRate <= 0 {
		return
	}
	for _, name := range []string{op + "-with-writes", "write-request", "write-activate", "write-terminate"} {
		o := r.rep.Op(name)
		r.rep.check("every "+name+" succeeded", o != nil && o.Errors == 0 && o.Count > 0, "%d errors", opErrors(o))
	}
}

// compareWithWrites puts the throughput of op under writes over the baseline's into the
// figure ratio_with_writes.
func (r *run) compareWithWrites(op string) {
	o := r.rep.Op(op + "-with-writes")
	if o == nil || r.rep.Baseline == nil {
		return
	}
	r.rep.figure("ratio_with_writes", ratio(o.Throughput, r.rep.Baseline.Throughput))
}

// churn: Concurrency workers request a session for a new user, activate it and terminate
// it, in a loop for Duration; then nothing may be left behind.
func (r *run) churn(ctx context.Context) error {
	c := r.c
	c.deadline = time.Now().Add(r.cfg.Timeout + r.cfg.Duration)
	r.logf("churn: %d workers, %s", r.cfg.Concurrency, r.cfg.Duration)
	var mu sync.Mutex
	var grants []grant
	elapsed := forDuration(ctx, r.cfg.Concurrency, r.cfg.Duration, func(ctx context.Context, w, i int) {
		var g grant
		err := c.timed(ctx, "request", func() (int, error) {
			var n int
			var err error
			g, n, err = c.request(ctx, r.env.Name, "", fmt.Sprintf("churn-%d-%d@loadtest.test", w, i))
			return n, err
		})
		if err != nil {
			return
		}
		mu.Lock()
		grants = append(grants, g)
		mu.Unlock()
		c.timed(ctx, "activate", func() (int, error) { return c.activate(ctx, c.browser(), g) })
		c.timed(ctx, "terminate", func() (int, error) { return c.terminate(ctx, g.Name) })
	})
	r.settle(elapsed)
	r.rep.figure("sessions_churned", float64(len(grants)))
	for _, name := range []string{"request", "activate", "terminate"} {
		o := r.rep.Op(name)
		r.rep.check("every "+name+" succeeded", o != nil && o.Errors == 0 && o.Count > 0,
			"%d errors", opErrors(o))
	}
	r.logf("churn: %d sessions; waiting for the portal to stop them", len(grants))
	return r.leakCheck(ctx, grants)
}

// leakCheck waits (up to Timeout) for every churned session to be stopped, then checks
// that no session, session process or usable token is left. It learns what is left from
// the REST API (the environment's allocated sessions) and, with a data folder, from the
// session handles there.
func (r *run) leakCheck(ctx context.Context, grants []grant) error {
	c := r.c
	st, leakedProcs, err := r.waitStopped(ctx, grants, "teardown_ms")
	if err != nil {
		return err
	}
	r.rep.check("no allocated session left", st.Allocated == 0, "allocated %d", st.Allocated)
	r.rep.check("no live session record left", listed(st) == 0, "%d sessions with an owner not stopped", listed(st))
	if r.dataDir != "" {
		r.rep.check("no session process left", len(leakedProcs) == 0, "%d processes of ended sessions: %v",
			len(leakedProcs), leakedProcs[:min(len(leakedProcs), 5)])
	}
	// The users have no sessions, and their activation links no longer work.
	var withSessions, usableLinks int
	for _, g := range grants {
		names, _, err := c.userSessions(ctx, g.User)
		if err != nil {
			return fmt.Errorf("sessions of user %s: %w", g.User, err)
		}
		if len(names) > 0 {
			withSessions++
		}
		if _, err := c.activate(ctx, c.browser(), g); err == nil {
			usableLinks++
		}
	}
	r.rep.check("no user has a session left", withSessions == 0, "%d of %d users", withSessions, len(grants))
	r.rep.check("no activation link still works", usableLinks == 0, "%d of %d links", usableLinks, len(grants))
	// The robot token, revoked, no longer works.
	if err := c.revoke(ctx, r.cfg.ClientID, r.cfg.ClientSecret); err != nil {
		return err
	}
	_, err = c.getJSON(ctx, "/workshops/catalog/environments/", nil)
	var se *statusError
	r.rep.check("the revoked robot token is refused", errors.As(err, &se) && se.status == http.StatusUnauthorized,
		"%v", err)
	// A new token for the checks that follow the scenario (the webhook's marker session).
	return c.login(ctx, r.cfg.ClientID, r.cfg.ClientSecret, r.cfg.Username, r.cfg.Password)
}

// listed is the number of sessions an environment status lists: those with an owner that
// are not stopped.
func listed(st catalogEnv) int {
	if st.Sessions == nil {
		return 0
	}
	return len(*st.Sessions)
}

// waitStopped waits (up to Timeout) until the environment has no allocated session or
// session listed and none of grants' sessions has a process left, and records how long
// that took, from now, as figure; it returns what is left at the end.
func (r *run) waitStopped(ctx context.Context, grants []grant, figure string) (catalogEnv, []string, error) {
	began := time.Now()
	deadline := began.Add(r.cfg.Timeout)
	for {
		st, err := r.c.envStatus(ctx, r.env.Name)
		if err != nil {
			return st, nil, fmt.Errorf("environment status: %w", err)
		}
		left, err := r.leftRunning(grants)
		if err != nil {
			return st, nil, err
		}
		if (st.Allocated == 0 && listed(st) == 0 && len(left) == 0) || time.Now().After(deadline) {
			r.rep.figure(figure, float64(time.Since(began).Milliseconds()))
			return st, left, nil
		}
		select {
		case <-time.After(100 * time.Millisecond):
		case <-ctx.Done():
			return st, left, ctx.Err()
		}
	}
}

// leftRunning returns, when the data folder is known, the ended sessions among grants
// whose process still runs.
func (r *run) leftRunning(grants []grant) ([]string, error) {
	if r.dataDir == "" {
		return nil, nil
	}
	procs, err := liveSessionProcs(r.dataDir)
	if err != nil {
		return nil, err
	}
	ended := map[string]bool{}
	for _, g := range grants {
		ended[g.Name] = true
	}
	var leaked []string
	for _, p := range procs {
		if ended[p.Session] {
			leaked = append(leaked, p.Session)
		}
	}
	return leaked, nil
}

// proxy: one learner's dashboard is requested by Concurrency clients for Duration through
// the portal's session host, on a cheap path (Path, default DefaultProxyPath) and then on
// the page the dashboard's landing leads to; with a data folder (where the dashboard's
// address is), each also through a bare httputil.ReverseProxy in front of the same
// dashboard process, with a transport tuned as the portal's, right after.
func (r *run) proxy(ctx context.Context) error {
	c := r.c
	c.deadline = time.Now().Add(r.cfg.Timeout)
	measured := c.rec
	c.rec = newRecorder()
	l := r.learn(ctx, 0, "proxy@loadtest.test")
	c.rec = measured
	if l.err != nil {
		return l.err
	}
	defer r.terminateAll(ctx, []string{l.grant.Name})
	lu, err := url.Parse(l.landing)
	if err != nil {
		return err
	}
	host := &url.URL{Scheme: lu.Scheme, Host: lu.Host}
	cheap := cmpOr(r.cfg.Path, DefaultProxyPath)
	landing := lu.RequestURI()

	var bare *bareProxy
	if r.dataDir != "" {
		endpoint, err := func() (string, error) {
			h, err := readHandle(r.dataDir, l.grant.Name)
			if err != nil {
				return "", err
			}
			return h.endpoint()
		}()
		if err != nil {
			// Not a local session (another provisioner), or not in this folder.
			r.logf("proxy: no dashboard address in the data folder (%v), so no bare proxy to compare with", err)
		} else {
			if bare, err = startBareProxy(endpoint, l.grant.Name); err != nil {
				return err
			}
			defer bare.close()
			r.logf("proxy: compared with a bare httputil.ReverseProxy to %s", endpoint)
		}
	} else {
		r.logf("proxy: no data folder, so no bare proxy to compare with")
	}
	var cookies []string
	for _, ck := range l.browser.Jar.Cookies(host) {
		cookies = append(cookies, ck.Name+"="+ck.Value)
	}
	hdr := http.Header{"Cookie": {strings.Join(cookies, "; ")}}
	get := func(hc *http.Client, u string, hdr http.Header) func() (int, error) {
		return func() (int, error) {
			resp, b, err := do(ctx, hc, http.MethodGet, u, "", nil, hdr)
			if err == nil && resp.StatusCode != http.StatusOK {
				err = &statusError{resp.StatusCode, string(b)}
			}
			return len(b), err
		}
	}
	var bc *client
	if bare != nil {
		bc = newClient([]string{bare.url}, r.cfg.Concurrency, newRecorder())
	}
	// The portal's proxy and the bare one take turns in slices, so that what else the
	// machine does weighs on both alike.
	const turns = 4
	slice := max(r.cfg.Duration/turns, time.Millisecond)
	var elapsed time.Duration
	for _, phase := range []struct{ op, path string }{{"proxy", cheap}, {"proxy-landing", landing}} {
		r.logf("proxy: %d clients on %s%s for %s", r.cfg.Concurrency, host, phase.path, r.cfg.Duration)
		var pe, be time.Duration
		for range turns {
			pe += forDuration(ctx, r.cfg.Concurrency, slice, func(ctx context.Context, w, i int) {
				c.timed(ctx, phase.op, get(l.browser, host.String()+phase.path, nil))
			})
			if bc != nil {
				be += forDuration(ctx, r.cfg.Concurrency, slice, func(ctx context.Context, w, i int) {
					bc.timed(ctx, "bare-"+phase.op, get(bc.api, bc.base+phase.path, hdr))
				})
			}
		}
		c.rec.setElapsed(phase.op, pe)
		if bc != nil {
			bc.rec.setElapsed("bare-"+phase.op, be)
		}
		elapsed += pe
	}
	r.settle(elapsed)
	for _, op := range []string{"proxy", "proxy-landing"} {
		o := r.rep.Op(op)
		r.rep.check("every request through the portal's proxy answered ("+op+")", o != nil && o.Errors == 0 && o.Count > 0,
			"%d errors", opErrors(o))
	}
	if bc == nil {
		return nil
	}
	bst := bc.rec.stats(elapsed)
	for _, b := range bst {
		r.rep.check("every request through the bare proxy answered ("+b.Name+")", b.Errors == 0 && b.Count > 0,
			"%d errors", b.Errors)
	}
	o, ol := r.rep.Op("proxy"), r.rep.Op("proxy-landing")
	if o == nil || ol == nil || len(bst) == 0 {
		return nil
	}
	r.rep.Baseline, r.rep.Compared = &bst[0], "proxy"
	r.rep.Ratio, r.rep.P99Ratio = ratio(o.Throughput, bst[0].Throughput), ratio(o.P99, bst[0].P99)
	if len(bst) > 1 {
		r.rep.Operations = append(r.rep.Operations, bst[1])
		r.rep.figure("landing_throughput_ratio", ratio(ol.Throughput, bst[1].Throughput))
		r.rep.figure("landing_p99_ratio", ratio(ol.P99, bst[1].P99))
	}
	return nil
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// bareProxy is an httputil.ReverseProxy in front of a dashboard, set up as the portal's
// session proxy is (web/proxy.go): its idle connections, the X-Forwarded headers, and the
// header that names the session to a dashboard serving several.
type bareProxy struct {
	srv *http.Server
	url string
}

func startBareProxy(endpoint, session string) (*bareProxy, error) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 64
	t.IdleConnTimeout = 90 * time.Second
	target, err := url.Parse(endpoint)
	if sock, ok := strings.CutPrefix(endpoint, "unix:"); ok {
		target, err = &url.URL{Scheme: "http", Host: "dashboard.invalid"}, nil
		t.Proxy = nil
		t.DialContext = func(ctx context.Context, _, _ string) (net.Conn, error) { return unixsock.Dial(ctx, sock) }
	}
	if err != nil || target.Host == "" {
		return nil, fmt.Errorf("session endpoint %q is not a URL", endpoint)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.SetXForwarded()
			pr.Out.Header.Set("X-Portal-Session", session)
		},
		Transport: t,
	}
	b := &bareProxy{srv: &http.Server{Handler: rp}, url: "http://" + ln.Addr().String()}
	go b.srv.Serve(ln)
	return b, nil
}

func (b *bareProxy) close() { b.srv.Close() }

// live: Users learners each get a session and open its dashboard, Concurrency at a time,
// until every session is live; then the memory of the portal and of the sessions is
// measured idle and with Terminals terminals open in every dashboard. The sessions are
// terminated at the end.
func (r *run) live(ctx context.Context) error {
	n := r.cfg.Users
	c := r.c
	c.deadline = time.Now().Add(r.cfg.Timeout)
	r.logf("live: %d sessions, %d at a time", n, r.cfg.Concurrency)
	start := time.Now()
	out := make([]learner, n)
	var wg sync.WaitGroup
	sem := make(chan struct{}, r.cfg.Concurrency)
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			out[i] = r.learn(ctx, i, fmt.Sprintf("live-%d@loadtest.test", i))
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	ready := 0
	var names []string
	var firstErr error
	for _, l := range out {
		if l.grant.Name != "" {
			names = append(names, l.grant.Name)
		}
		if !l.dashboard.IsZero() {
			ready++
		} else if firstErr == nil {
			firstErr = l.err
		}
	}
	if firstErr != nil {
		r.logf("%v", firstErr)
	}
	r.rep.check("every session live", ready == n, "%d of %d dashboards answered", ready, n)
	r.editorChecks(out)
	r.rep.figure("live_sessions", float64(ready))
	r.rep.figure("seconds_to_all_live", elapsed.Seconds())
	r.sessionMemory(ctx, out)
	r.settle(elapsed)
	r.terminateAll(ctx, names)
	return nil
}
