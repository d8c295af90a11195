package web

import "time"

// FormatTime formats t as the reference does (Django's JSON encoder): UTC, ISO 8601,
// millisecond precision truncated, "Z" suffix, and no fraction at all when the
// microseconds are exactly zero.
func FormatTime(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond()/1000 == 0 {
		return t.Format("2006-01-02T15:04:05Z")
	}
	return t.Format("2006-01-02T15:04:05.000Z")
}

// optTime returns the formatted time, or nil (JSON null) for the zero time.
func optTime(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := FormatTime(t)
	return &s
}
