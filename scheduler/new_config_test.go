package scheduler

import (
	"runtime"
	"testing"
	"time"

	"portal"
	"portal/mock"
)

// New refuses a configuration without a store, a provisioner or portal settings, whichever
// one is missing.
func TestNewRequiresStoreProvisionerAndPortal(t *testing.T) {
	var st portal.Store = mock.NewFailingStore(nil)
	prov := mock.NewFake(mock.Healthy)
	p := settings(entry("ws"))
	for name, cfg := range map[string]Config{
		"no store":       {Provisioner: prov, Portal: p},
		"no provisioner": {Store: st, Portal: p},
		"no portal":      {Store: st, Provisioner: prov},
	} {
		if s, err := New(cfg); err == nil || s != nil {
			t.Errorf("%s: New = %v, %v, want an error", name, s, err)
		}
	}
	if _, err := New(Config{Store: st, Provisioner: prov, Portal: p}); err != nil {
		t.Fatalf("complete configuration: %v", err)
	}
}

// The documented defaults of Config apply to the settings left at zero, and only to them:
// an operator's tick, start concurrency and start watch are kept, and a negative start
// watch (look once per pass) is not replaced by the default.
func TestNewDefaultsApplyOnlyToUnsetValues(t *testing.T) {
	base := Config{Store: mock.NewFailingStore(nil), Provisioner: mock.NewFake(mock.Healthy), Portal: settings(entry("ws"))}

	s, err := New(base)
	if err != nil {
		t.Fatal(err)
	}
	got := s.cfg
	if got.Tick != time.Second || got.StartTimeout != 2*time.Minute || got.StartWatch != time.Second ||
		got.StartConcurrency != 16*runtime.NumCPU() {
		t.Errorf("defaults: tick %v, start timeout %v, start watch %v, start concurrency %d; want 1s, 2m, 1s, %d (16 per CPU)",
			got.Tick, got.StartTimeout, got.StartWatch, got.StartConcurrency, 16*runtime.NumCPU())
	}

	set := base
	set.Tick, set.StartTimeout, set.StartWatch, set.StartConcurrency = 5*time.Second, time.Minute, -1, 3
	s, err = New(set)
	if err != nil {
		t.Fatal(err)
	}
	got = s.cfg
	if got.Tick != 5*time.Second || got.StartTimeout != time.Minute || got.StartWatch != -1 || got.StartConcurrency != 3 {
		t.Errorf("set values became tick %v, start timeout %v, start watch %v, start concurrency %d; want 5s, 1m, -1ns, 3",
			got.Tick, got.StartTimeout, got.StartWatch, got.StartConcurrency)
	}

	neg := base
	neg.Tick = -time.Second
	if s, err = New(neg); err != nil {
		t.Fatal(err)
	}
	if s.cfg.Tick != time.Second {
		t.Errorf("negative tick became %v, want the default 1s", s.cfg.Tick)
	}
}
