package portal

import "time"

// EventKind tells the payload shape of an analytics event.
type EventKind int

const (
	UserEvent EventKind = iota
	EnvironmentEvent
	SessionEvent
)

// Event is an analytics event (reference §5).
type Event struct {
	Kind        EventKind
	Name        string // e.g. "Session/Started"
	Time        time.Time
	User        string // username ("" = null for session events)
	Session     string
	Environment string
	Workshop    string // the Workshop resource name (the alias for environment events)
	Data        map[string]any
	// AnalyticsURL is the session's own webhook, set for session events of sessions that
	// were requested with analytics_url.
	AnalyticsURL string
}

// EventSink receives events. Emit must not block on delivery.
type EventSink interface {
	Emit(e Event)
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(Event)

func (f EventSinkFunc) Emit(e Event) { f(e) }
