package portal

import "time"

// EnvCounts are one environment's session counts (reference §3.3).
type EnvCounts struct {
	Available int // no owner, WAITING
	Starting  int // no owner, STARTING (reserved sessions on their way)
	Allocated int // owner set, not STOPPED (incl. pending and stopping)
	Active    int // not STOPPED
}

// PortalCounts are the portal-wide session counts (reference §3.3).
type PortalCounts struct {
	Available int // no owner, STARTING or WAITING
	Allocated int // owner set, not STOPPED
	Active    int // not STOPPED
}

// UserLimit returns the number of live sessions the user may hold at once (0 = no limit).
// Staff are never limited; users in the anonymous group (REST and anonymous web users)
// use the anonymous cap, everyone else the registered cap.
func UserLimit(p *PortalSettings, u *User) int {
	if u.Staff {
		return 0
	}
	if u.Group == GroupAnonymous {
		return p.SessionsAnonymous
	}
	return p.SessionsRegistered
}

// CreateDecision is what the capacity rules allow when no reserved session is available.
type CreateDecision int

const (
	CreateRefused CreateDecision = iota // no room: the request gets no session
	CreateNow                           // room: create a new session
	CreateEvict                         // create after evicting the oldest spare session
)

// DecideCreate applies the on-demand creation rules of reference §3.5 step 5.
func DecideCreate(maximum int, env EnvCounts, capacity int, portal PortalCounts) CreateDecision {
	if env.Active >= capacity {
		return CreateRefused
	}
	if maximum == 0 {
		return CreateNow
	}
	if portal.Allocated >= maximum {
		return CreateRefused
	}
	if portal.Active < maximum {
		return CreateNow
	}
	return CreateEvict
}

// ReservedDeficit returns how many reserved sessions a running environment should start now
// (reference §3.7 top-up). portalSpare is maximum − portal.active and is ignored when
// maximum is 0. spareCount includes reserved sessions still starting.
func ReservedDeficit(e *Environment, env EnvCounts, maximum int, portalSpare int) int {
	if e.State != EnvRunning || e.Reserved <= 0 {
		return 0
	}
	if e.Initial == 0 && !e.Used {
		return 0
	}
	n := e.Reserved - (env.Available + env.Starting)
	if room := e.Capacity - env.Active; room < n {
		n = room
	}
	if maximum > 0 && portalSpare < n {
		n = portalSpare
	}
	if n < 0 {
		return 0
	}
	return n
}

// InitialSessions returns how many reserved sessions to create when an environment starts
// running: min(initial, room), room = initial without a portal maximum, else the portal's
// spare seats.
func InitialSessions(e *Environment, maximum int, portal PortalCounts) int {
	n := e.Initial
	if maximum > 0 {
		if room := maximum - portal.Active; room < n {
			n = room
		}
	}
	if room := e.Capacity; room < n {
		n = room
	}
	if n < 0 {
		return 0
	}
	return n
}

// ReservedExcess returns how many reserved sessions of an environment are surplus and
// should be stopped (reference §3.7 trim). When initial > reserved the extras from initial
// are kept for users.
func ReservedExcess(e *Environment, env EnvCounts) int {
	if e.State != EnvRunning {
		return env.Available + env.Starting
	}
	if e.Initial > e.Reserved {
		return 0
	}
	n := env.Available + env.Starting - e.Reserved
	if n < 0 {
		return 0
	}
	return n
}

// Threshold is the remaining time below which a session counts as expiring:
// max(5 min, min(expires, 4 h)/4).
func Threshold(expires time.Duration) time.Duration {
	t := expires
	if t > 4*time.Hour {
		t = 4 * time.Hour
	}
	t /= 4
	if t < 5*time.Minute {
		t = 5 * time.Minute
	}
	return t.Truncate(time.Second)
}

// Step is how much one extension adds: max(5 min, overtime) when overtime is set, else the
// threshold.
func Step(e *EnvironmentSettings) time.Duration {
	if e.Overtime > 0 {
		if e.Overtime < 5*time.Minute {
			return 5 * time.Minute
		}
		return e.Overtime
	}
	return Threshold(e.Expires)
}

// Countdown returns whole seconds until t, floored, and 0 when t has passed.
func Countdown(t, now time.Time) int {
	if !t.After(now) {
		return 0
	}
	return int(t.Sub(now) / time.Second)
}

// Schedule is a session's timing as the REST API reports it.
type Schedule struct {
	HasExpiry  bool
	Countdown  int
	Expiring   bool
	Extendable bool
}

// ScheduleOf computes a session's countdown, expiring and extendable flags (reference §3.8).
func ScheduleOf(s *Session, e *EnvironmentSettings, now time.Time) Schedule {
	if s.Expires.IsZero() {
		return Schedule{}
	}
	sc := Schedule{HasExpiry: true, Countdown: Countdown(s.Expires, now)}
	remaining := s.Expires.Sub(now)
	sc.Expiring = remaining < Threshold(e.Expires)
	sc.Extendable = canExtend(s, e, now)
	return sc
}

func deadlineOf(s *Session, e *EnvironmentSettings) time.Time {
	d := e.Deadline
	if d < e.Expires {
		d = e.Expires
	}
	return s.Started.Add(d)
}

func canExtend(s *Session, e *EnvironmentSettings, now time.Time) bool {
	if s.State != SessionRunning || s.Expires.IsZero() || s.Started.IsZero() {
		return false
	}
	if !s.Expires.Before(deadlineOf(s, e)) {
		return false
	}
	return s.Expires.Sub(now) < Step(e)
}

// Extend returns the session's new expiry after one extension and whether it was extended:
// expires + step, capped at started + deadline.
func Extend(s *Session, e *EnvironmentSettings, now time.Time) (time.Time, bool) {
	if !canExtend(s, e, now) {
		return s.Expires, false
	}
	t := s.Expires.Add(Step(e))
	if d := deadlineOf(s, e); t.After(d) {
		t = d
	}
	return t, true
}

// Activity is what a session reports of its use.
type Activity struct {
	// IdleTime is the time since the last terminal input or page interaction.
	IdleTime time.Duration
	// LastView is the time since the dashboard was last shown in a browser.
	LastView time.Duration
}

// InactiveReason applies the orphan rules of reference §3.9 with the fix of capping both
// figures at the time since the session was started for its owner. It returns
// "Session/Orphaned", "Session/Inactive" or "".
func InactiveReason(s *Session, e *EnvironmentSettings, a Activity, now time.Time) string {
	if e.Orphaned <= 0 || s.Owner == "" || s.Pending() || s.State != SessionRunning {
		return ""
	}
	since := now.Sub(s.Started)
	idle, view := a.IdleTime, a.LastView
	if !s.Started.IsZero() {
		if idle > since {
			idle = since
		}
		if view > since {
			view = since
		}
	}
	if idle >= e.Orphaned {
		return "Session/Orphaned"
	}
	if view >= 3*e.Orphaned {
		return "Session/Inactive"
	}
	return ""
}
