package loadtest

import (
	"encoding/json"
	"os"
	"time"
)

// timelineEntry is one learner's times in a class start, in milliseconds after the first
// learner asked (-1: never).
type timelineEntry struct {
	Learner   int    `json:"learner"`
	Session   string `json:"session"`
	Asked     int64  `json:"asked_ms"`
	Granted   int64  `json:"granted_ms"`
	Activated int64  `json:"activated_ms"`
	Framed    int64  `json:"framed_ms"`
	Dashboard int64  `json:"dashboard_ms"`
	Pages     int    `json:"session_pages"`
	// AskedAt is when the learner asked, as a wall-clock time, to match the portal's
	// records.
	AskedAt time.Time `json:"asked_at"`
	Error   string    `json:"error,omitempty"`
}

// timeline returns the learners' times relative to the first request.
func timeline(ls []learner) []timelineEntry {
	var first time.Time
	for _, l := range ls {
		if !l.requested.IsZero() && (first.IsZero() || l.requested.Before(first)) {
			first = l.requested
		}
	}
	ms := func(t time.Time) int64 {
		if t.IsZero() {
			return -1
		}
		return t.Sub(first).Milliseconds()
	}
	out := make([]timelineEntry, len(ls))
	for i, l := range ls {
		out[i] = timelineEntry{Learner: i, Session: l.grant.Name, Asked: ms(l.requested), Granted: ms(l.granted),
			Activated: ms(l.activated), Framed: ms(l.framed), Dashboard: ms(l.dashboard), Pages: l.pages,
			AskedAt: l.requested.UTC()}
		if l.err != nil {
			out[i].Error = l.err.Error()
		}
	}
	return out
}

// writeTimeline writes the learners' timeline to path as JSON.
func writeTimeline(path string, ls []learner) error {
	b, err := json.MarshalIndent(timeline(ls), "", " ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}
