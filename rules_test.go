package portal

import (
	"testing"
	"time"
)

func TestNames(t *testing.T) {
	for _, tt := range []struct{ got, want string }{
		{EnvironmentName("lab", 1), "lab-w01"},
		{EnvironmentName("lab", 123), "lab-w123"},
		{SessionName("lab-w01", 1), "lab-w01-s001"},
		{SessionName("lab-w01", 1000), "lab-w01-s1000"},
		{SessionID(7), "s007"},
	} {
		if tt.got != tt.want {
			t.Errorf("got %q, want %q", tt.got, tt.want)
		}
	}
}

func TestThresholdAndStep(t *testing.T) {
	for _, tt := range []struct {
		expires, overtime, threshold, step time.Duration
	}{
		{0, 0, 5 * time.Minute, 5 * time.Minute},
		{60 * time.Minute, 0, 15 * time.Minute, 15 * time.Minute},
		{60 * time.Minute, 30 * time.Minute, 15 * time.Minute, 30 * time.Minute},
		{60 * time.Minute, time.Minute, 15 * time.Minute, 5 * time.Minute},
		{10 * time.Hour, 0, time.Hour, time.Hour},
		{10 * time.Minute, 0, 5 * time.Minute, 5 * time.Minute},
	} {
		e := EnvironmentSettings{Expires: tt.expires, Overtime: tt.overtime}
		if got := Threshold(tt.expires); got != tt.threshold {
			t.Errorf("Threshold(%v) = %v, want %v", tt.expires, got, tt.threshold)
		}
		if got := Step(&e); got != tt.step {
			t.Errorf("Step(%v, %v) = %v, want %v", tt.expires, tt.overtime, got, tt.step)
		}
	}
}

func TestScheduleAndExtend(t *testing.T) {
	start := time.Date(2026, 1, 1, 10, 0, 0, 0, time.UTC)
	e := EnvironmentSettings{Expires: time.Hour, Deadline: 2 * time.Hour}
	s := &Session{State: SessionRunning, Started: start, Expires: start.Add(time.Hour)}

	sc := ScheduleOf(s, &e, start.Add(30*time.Minute+500*time.Millisecond))
	if sc.Countdown != 1799 || sc.Expiring || sc.Extendable {
		t.Fatalf("at 30 min: %+v", sc)
	}
	sc = ScheduleOf(s, &e, start.Add(50*time.Minute))
	if sc.Countdown != 600 || !sc.Expiring || !sc.Extendable {
		t.Fatalf("at 50 min: %+v", sc)
	}
	if got, ok := Extend(s, &e, start.Add(50*time.Minute)); !ok || !got.Equal(start.Add(75*time.Minute)) {
		t.Fatalf("extend = %v %v", got, ok)
	}
	s.Expires = start.Add(110 * time.Minute)
	if got, ok := Extend(s, &e, start.Add(100*time.Minute)); !ok || !got.Equal(start.Add(2*time.Hour)) {
		t.Fatalf("extend near deadline = %v %v, want capped at 2h", got, ok)
	}
	s.Expires = start.Add(2 * time.Hour)
	if _, ok := Extend(s, &e, start.Add(110*time.Minute)); ok {
		t.Fatal("extended past the deadline")
	}
	// By default (deadline = expires) sessions are never extendable.
	d := EnvironmentSettings{Expires: time.Hour}
	s.Expires = start.Add(time.Hour)
	if ScheduleOf(s, &d, start.Add(55*time.Minute)).Extendable {
		t.Fatal("extendable without a deadline")
	}
	if sc := ScheduleOf(&Session{State: SessionRunning}, &e, start); sc.HasExpiry || sc.Countdown != 0 {
		t.Fatalf("no expiry: %+v", sc)
	}
	if got := Countdown(start, start.Add(time.Second)); got != 0 {
		t.Fatalf("countdown past expiry = %d", got)
	}
}

func TestDecideCreate(t *testing.T) {
	for _, tt := range []struct {
		name     string
		max, cap int
		env      EnvCounts
		portal   PortalCounts
		want     CreateDecision
	}{
		{"room, no maximum", 0, 3, EnvCounts{Active: 2}, PortalCounts{Active: 50}, CreateNow},
		{"environment full", 0, 3, EnvCounts{Active: 3}, PortalCounts{}, CreateRefused},
		{"portal all allocated", 5, 10, EnvCounts{Active: 1}, PortalCounts{Allocated: 5, Active: 5}, CreateRefused},
		{"portal has room", 5, 10, EnvCounts{Active: 1}, PortalCounts{Allocated: 2, Active: 4}, CreateNow},
		{"portal full of spares", 5, 10, EnvCounts{Active: 1}, PortalCounts{Allocated: 2, Active: 5}, CreateEvict},
		{"zero capacity", 0, 0, EnvCounts{}, PortalCounts{}, CreateRefused},
	} {
		if got := DecideCreate(tt.max, tt.env, tt.cap, tt.portal); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestReservedDeficitAndExcess(t *testing.T) {
	env := &Environment{State: EnvRunning, Used: true,
		EnvironmentSettings: EnvironmentSettings{Capacity: 5, Reserved: 2, Initial: 2}}
	if got := ReservedDeficit(env, EnvCounts{Available: 0, Active: 4}, 0, 0); got != 1 {
		t.Errorf("deficit limited by capacity = %d, want 1", got)
	}
	if got := ReservedDeficit(env, EnvCounts{Available: 1, Starting: 1, Active: 2}, 0, 0); got != 0 {
		t.Errorf("deficit with a starting spare = %d, want 0", got)
	}
	if got := ReservedDeficit(env, EnvCounts{}, 10, 1); got != 1 {
		t.Errorf("deficit limited by the portal = %d, want 1", got)
	}
	fresh := *env
	fresh.Initial, fresh.Used = 0, false
	if got := ReservedDeficit(&fresh, EnvCounts{}, 0, 0); got != 0 {
		t.Errorf("initial=0 before first use = %d, want 0", got)
	}
	if got := ReservedExcess(env, EnvCounts{Available: 3, Starting: 1}); got != 2 {
		t.Errorf("excess = %d, want 2", got)
	}
	big := *env
	big.Initial = 4
	if got := ReservedExcess(&big, EnvCounts{Available: 4}); got != 0 {
		t.Errorf("excess with initial > reserved = %d, want 0", got)
	}
}

func TestInactiveReason(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	e := EnvironmentSettings{Orphaned: 10 * time.Minute}
	s := &Session{Owner: "u", Activated: true, State: SessionRunning, Started: now.Add(-time.Hour)}
	for _, tt := range []struct {
		a    Activity
		want string
	}{
		{Activity{IdleTime: 9 * time.Minute, LastView: 29 * time.Minute}, ""},
		{Activity{IdleTime: 10 * time.Minute}, "Session/Orphaned"},
		{Activity{IdleTime: time.Minute, LastView: 30 * time.Minute}, "Session/Inactive"},
	} {
		if got := InactiveReason(s, &e, tt.a, now); got != tt.want {
			t.Errorf("%+v: got %q, want %q", tt.a, got, tt.want)
		}
	}
	recent := *s
	recent.Started = now.Add(-5 * time.Minute)
	if got := InactiveReason(&recent, &e, Activity{IdleTime: time.Hour}, now); got != "" {
		t.Errorf("idle time before the session started counted: %q", got)
	}
	pending := *s
	pending.Activated, pending.State = false, SessionWaiting
	if got := InactiveReason(&pending, &e, Activity{IdleTime: time.Hour}, now); got != "" {
		t.Errorf("pending session counted as orphaned: %q", got)
	}
}

func TestMergedLabels(t *testing.T) {
	got := MergedLabels([]Label{{"a", "1"}, {"b", "1"}}, []Label{{"b", "2"}}, []Label{{"c", "3"}, {"a", "3"}})
	want := []Label{{"a", "3"}, {"b", "2"}, {"c", "3"}}
	if len(got) != len(want) {
		t.Fatalf("got %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestErrorCode(t *testing.T) {
	if ErrorCode(nil) != "" || ErrorCode(ErrNotFound) != EINTERNAL || ErrorCode(Errorf(EINVALID, "x")) != EINVALID {
		t.Fatal("ErrorCode")
	}
	if ErrorMessage(ErrNotFound) != "Internal error." || ErrorMessage(Errorf(EINVALID, "bad %d", 1)) != "bad 1" {
		t.Fatal("ErrorMessage")
	}
}
