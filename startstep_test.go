package portal

import (
	"testing"
	"time"
)

func TestSessionStartStep(t *testing.T) {
	ready := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, c := range []struct {
		name string
		sess Session
		want StartStep
	}{
		{"no workload", Session{State: SessionStarting}, StepWaiting},
		{"workload accepted", Session{State: SessionStarting, Handle: []byte("h")}, StepStarting},
		{"ready", Session{State: SessionWaiting, Handle: []byte("h"), Ready: ready}, StepReady},
		{"running", Session{State: SessionRunning, Handle: []byte("h"), Ready: ready}, StepReady},
		{"stopping before ready", Session{State: SessionStopping, Handle: []byte("h")}, StepEnded},
		{"stopped after ready", Session{State: SessionStopped, Ready: ready}, StepEnded},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.sess.StartStep(); got != c.want {
				t.Errorf("StartStep() = %v, want %v", got, c.want)
			}
		})
	}
}
