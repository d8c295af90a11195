package portal

import "time"

// Clock returns the current time. Every time-based rule takes its "now" from a Clock so that
// tests can move time without sleeping.
type Clock func() time.Time

// SystemClock is the real clock, in UTC.
func SystemClock() time.Time { return time.Now().UTC() }
