package web

import (
	"testing"
	"time"
)

func TestFormatTime(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2020, 7, 31, 3, 57, 33, 942_000_000, time.UTC), "2020-07-31T03:57:33.942Z"},
		{time.Date(2020, 7, 31, 3, 57, 33, 942_999_999, time.UTC), "2020-07-31T03:57:33.942Z"}, // truncated, not rounded
		{time.Date(2020, 7, 31, 3, 57, 33, 0, time.UTC), "2020-07-31T03:57:33Z"},
		{time.Date(2020, 7, 31, 3, 57, 33, 999, time.UTC), "2020-07-31T03:57:33Z"},       // below a microsecond
		{time.Date(2020, 7, 31, 3, 57, 33, 1_000, time.UTC), "2020-07-31T03:57:33.000Z"}, // microseconds set
		{time.Date(2020, 7, 31, 5, 57, 33, 5_000_000, time.FixedZone("CEST", 2*3600)), "2020-07-31T03:57:33.005Z"},
	}
	for _, tt := range tests {
		if got := FormatTime(tt.in); got != tt.want {
			t.Errorf("FormatTime(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := optTime(time.Time{}); got != nil {
		t.Errorf("optTime(zero) = %q, want nil", *got)
	}
}
