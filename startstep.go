package portal

import "fmt"

// StartStep is how far a session's start has gone, as far as the store records it. Any
// replica reads it from the session's record alone.
type StartStep int

const (
	// StepWaiting: no workload yet; the session waits for a start slot and capacity.
	StepWaiting StartStep = 1
	// StepStarting: the provisioner accepted the workload; its dashboard does not answer yet.
	StepStarting StartStep = 2
	// StepReady: the dashboard answers.
	StepReady StartStep = 3
	// StepEnded: the session is stopping or stopped, whether or not it was ever ready.
	StepEnded StartStep = 4
)

// StartStep returns the step the session's start has reached.
func (s *Session) StartStep() StartStep {
	switch {
	case s.State == SessionStopping || s.State == SessionStopped:
		return StepEnded
	case !s.Ready.IsZero():
		return StepReady
	case s.Handle != nil:
		return StepStarting
	}
	return StepWaiting
}

func (s StartStep) String() string {
	switch s {
	case StepWaiting:
		return "waiting"
	case StepStarting:
		return "starting"
	case StepReady:
		return "ready"
	case StepEnded:
		return "ended"
	}
	return fmt.Sprintf("StartStep(%d)", int(s))
}
