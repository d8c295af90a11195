package loadtest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// memory records, under names starting with prefix, the memory of the spawned portal
// (RSS and PSS) and of the learners' running sessions in the data folder: the PSS summed
// over all of a session's processes (see sessionHandle.pids), average and largest. A
// session that shares its environment's dashboard host is counted with its terminals
// agent and shells and its equal part of the host's PSS.
func (r *run) memory(prefix string, ls []learner) {
	if r.portal != nil {
		pid := r.portal.pid()
		r.rep.figure(prefix+"portal_rss_mb", float64(rssKB(pid))/1024)
		r.rep.figure(prefix+"portal_pss_mb", float64(memKB(pid, "Pss:"))/1024)
	}
	if r.dataDir == "" {
		return
	}
	procs, err := r.learnerProcs(ls)
	if err != nil || len(procs) == 0 {
		return
	}
	sum, top, nprocs, grouped, shared := 0, 0, 0, 0, 0
	hostPSS := map[int]int{} // a dashboard host's PSS in KiB, by its process id
	var acct memoryAccounting
	for _, p := range procs {
		acct.add(p.Handle, false)
		if p.Host != nil {
			acct.add(*p.Host, true)
		}
		var pids []int
		fromGroup := false
		if p.Handle.PID > 1 {
			pids, fromGroup = p.Handle.pids()
		}
		if fromGroup {
			grouped++
		}
		kb := pssKB(pids)
		nprocs += len(pids)
		if p.Host != nil && p.HostSessions > 0 {
			// A shared session's part of its environment's dashboard host.
			shared++
			if _, ok := hostPSS[p.Host.PID]; !ok {
				hpids, _ := p.Host.pids()
				hostPSS[p.Host.PID] = pssKB(hpids)
				nprocs += len(hpids)
			}
			kb += hostPSS[p.Host.PID] / p.HostSessions
		}
		sum += kb
		top = max(top, kb)
	}
	if len(hostPSS) > 0 {
		total := 0
		for _, kb := range hostPSS {
			total += kb
		}
		r.rep.figure(prefix+"dashboard_hosts", float64(len(hostPSS)))
		r.rep.figure(prefix+"dashboard_host_pss_mb", float64(total)/1024)
	}
	r.rep.figure(prefix+"sessions", float64(len(procs)))
	// How many of them share a dashboard host (the others run a dashboard of their own).
	r.rep.figure(prefix+"shared_sessions", float64(shared))
	r.rep.figure(prefix+"session_processes", float64(nprocs))
	// How many sessions were counted by their cgroup (the others by descent).
	r.rep.figure(prefix+"sessions_by_cgroup", float64(grouped))
	r.rep.figure(prefix+"session_pss_mb_avg", float64(sum)/float64(len(procs))/1024)
	r.rep.figure(prefix+"session_pss_mb_max", float64(top)/1024)
	acct.report(r.rep, prefix)
}

// memoryAccounting sums up the memory groups of sessions and dashboard hosts: their
// peak use and the processes killed in them for want of memory.
type memoryAccounting struct {
	seen                    map[string]bool // groups counted
	sessionPeak, hostPeak   int64           // bytes, the largest
	oomKills, groups, hosts int
}

func (a *memoryAccounting) add(h sessionHandle, host bool) {
	if h.Cgroup == "" || h.PID <= 1 || a.seen[h.Cgroup] {
		return
	}
	peak, kills, ok := cgroupMemory(h.PID, h.Cgroup)
	if !ok {
		return
	}
	if a.seen == nil {
		a.seen = map[string]bool{}
	}
	a.seen[h.Cgroup] = true
	a.groups++
	a.oomKills += kills
	if host {
		a.hosts++
		a.hostPeak = max(a.hostPeak, peak)
	} else {
		a.sessionPeak = max(a.sessionPeak, peak)
	}
}

// report records the figures (memory_groups, session_memory_peak_mb_max,
// dashboard_host_memory_peak_mb_max, oom_kills) and checks that no process was killed
// for want of memory.
func (a *memoryAccounting) report(rep *Report, prefix string) {
	if a.groups == 0 {
		return
	}
	rep.figure(prefix+"memory_groups", float64(a.groups))
	if a.groups > a.hosts {
		rep.figure(prefix+"session_memory_peak_mb_max", float64(a.sessionPeak)/(1<<20))
	}
	if a.hosts > 0 {
		rep.figure(prefix+"dashboard_host_memory_peak_mb_max", float64(a.hostPeak)/(1<<20))
	}
	rep.figure(prefix+"oom_kills", float64(a.oomKills))
	name := "no process of a session or dashboard host was killed for want of memory"
	if prefix != "" {
		name += " (" + strings.TrimSuffix(prefix, "_") + ")"
	}
	rep.check(name, a.oomKills == 0, "%d killed in %d memory groups", a.oomKills, a.groups)
}

// learnerProcs returns the running sessions of the data folder that learners got.
func (r *run) learnerProcs(ls []learner) ([]sessionProc, error) {
	procs, err := liveSessionProcs(r.dataDir)
	mine := map[string]bool{}
	for _, l := range ls {
		mine[l.grant.Name] = true
	}
	return slices.DeleteFunc(procs, func(p sessionProc) bool { return !mine[p.Session] }), err
}

// terminalWait bounds the wait for a terminal's first output.
const terminalWait = 30 * time.Second

// errNoTerminal is a terminal the dashboard does not have (its workshop has fewer).
var errNoTerminal = errors.New("the dashboard has no such terminal")

// openTerminals opens Terminals terminals in the dashboard of every learner that has one,
// over the dashboard's terminal WebSocket as the browser does, and waits for each
// shell's first output. It returns how many answered, how many the dashboards do not have
// (their workshop's layout has fewer), and a function that closes them.
func (r *run) openTerminals(ctx context.Context, ls []learner) (int, int, func()) {
	var mu sync.Mutex
	var conns []*websocket.Conn
	var opened, missing int
	var firstErr error
	var wg sync.WaitGroup
	sem := make(chan struct{}, 16)
	for _, l := range ls {
		if l.landing == "" {
			continue
		}
		for id := 1; id <= r.cfg.Terminals; id++ {
			sem <- struct{}{}
			wg.Go(func() {
				defer func() { <-sem }()
				conn, err := openTerminal(ctx, l, strconv.Itoa(id))
				mu.Lock()
				defer mu.Unlock()
				if errors.Is(err, errNoTerminal) {
					missing++
					return
				}
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				conns = append(conns, conn)
				opened++
			})
		}
	}
	wg.Wait()
	if firstErr != nil {
		r.logf("terminals: %v", firstErr)
	}
	return opened, missing, func() {
		for _, c := range conns {
			c.Close(websocket.StatusNormalClosure, "")
		}
	}
}

// openTerminal connects to terminal id of a learner's dashboard and reads its first output.
func openTerminal(ctx context.Context, l learner, id string) (*websocket.Conn, error) {
	lu, err := url.Parse(l.landing)
	if err != nil {
		return nil, err
	}
	origin := lu.Scheme + "://" + lu.Host
	scheme := "ws"
	if lu.Scheme == "https" {
		scheme = "wss"
	}
	u := scheme + "://" + lu.Host + "/terminal/" + id
	dctx, cancel := context.WithTimeout(ctx, terminalWait)
	defer cancel()
	hc := *l.browser
	hc.Timeout = 0
	conn, resp, err := websocket.Dial(dctx, u, &websocket.DialOptions{HTTPClient: &hc,
		HTTPHeader: http.Header{"Origin": {origin}}})
	if err != nil && resp != nil && resp.StatusCode == http.StatusNotFound {
		return nil, errNoTerminal
	}
	if err != nil {
		return nil, fmt.Errorf("terminal %s of %s: %w", id, l.grant.Name, err)
	}
	conn.SetReadLimit(1 << 20)
	if _, _, err := conn.Read(dctx); err != nil {
		conn.CloseNow()
		return nil, fmt.Errorf("terminal %s of %s: no output: %w", id, l.grant.Name, err)
	}
	// Keep reading (and dropping) what the shell prints, as a browser would.
	go func() {
		for {
			if _, _, err := conn.Read(context.Background()); err != nil {
				return
			}
		}
	}()
	return conn, nil
}

// sessionMemory measures the sessions' memory idle (figures idle_…), then with Terminals
// terminals open in every learner's dashboard (figures without a prefix), and checks
// that every terminal answered.
func (r *run) sessionMemory(ctx context.Context, ls []learner) {
	r.memory("idle_", ls)
	if r.kube != nil {
		r.logf("sessions run in pods (their dashboards as local stand-ins): no session memory measured, no terminals opened")
		return
	}
	if r.cfg.Terminals <= 0 {
		return
	}
	if procs, _ := r.learnerProcs(ls); len(procs) == 0 {
		r.logf("no session processes found in the data folder: no terminals opened, no session memory measured")
		return
	}
	want := 0
	for _, l := range ls {
		if l.landing != "" {
			want += r.cfg.Terminals
		}
	}
	r.logf("opening %d terminals per learner (%d)", r.cfg.Terminals, want)
	opened, missing, closeAll := r.openTerminals(ctx, ls)
	defer closeAll()
	if missing > 0 {
		r.logf("%d terminals are not in the dashboards: the workshop has fewer (its session.applications.terminal.layout)", missing)
	}
	r.rep.figure("terminals_open", float64(opened))
	r.rep.check("every terminal answered", opened == want-missing && opened > 0, "%d of %d; %d not in the workshop's layout",
		opened, want, missing)
	r.memory("", ls)
}
