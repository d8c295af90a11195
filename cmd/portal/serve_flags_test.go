package main

import (
	"io"
	"strings"
	"testing"
)

// TestParseServeStartConcurrency checks --start-concurrency and PORTAL_START_CONCURRENCY:
// a number is kept, nothing means the scheduler's default, and anything else is refused
// with an error that names the flag.
func TestParseServeStartConcurrency(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want int
		err  string
	}{
		{args: nil, want: 0},
		{args: []string{"--start-concurrency", "48"}, want: 48},
		{env: "12", want: 12},
		{args: []string{"--start-concurrency", "3"}, env: "12", want: 3},
		{args: []string{"--start-concurrency", "-1"}, err: "--start-concurrency"},
		{args: []string{"--start-concurrency", "many"}, err: "--start-concurrency"},
		{env: "1.5", err: "--start-concurrency"},
	} {
		t.Setenv("PORTAL_START_CONCURRENCY", tt.env)
		c, err := parseServe(tt.args, io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v env %q: err = %v, want one naming %s", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v env %q: %v", tt.args, tt.env, err)
		} else if c.StartConcurrency != tt.want {
			t.Errorf("%v env %q: StartConcurrency = %d, want %d", tt.args, tt.env, c.StartConcurrency, tt.want)
		}
	}
}

// TestParseServeSharedDashboards checks --shared-dashboards and PORTAL_SHARED_DASHBOARDS:
// off unless asked for, the flag over the variable, and a value that is not a boolean
// refused with an error naming the variable.
func TestParseServeSharedDashboards(t *testing.T) {
	for _, tt := range []struct {
		args []string
		env  string
		want bool
		err  string
	}{
		{want: false},
		{args: []string{"--shared-dashboards"}, want: true},
		{env: "true", want: true},
		{args: []string{"--shared-dashboards=false"}, env: "true", want: false},
		{env: "sometimes", err: "PORTAL_SHARED_DASHBOARDS"},
	} {
		t.Setenv("PORTAL_SHARED_DASHBOARDS", tt.env)
		c, err := parseServe(tt.args, io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v env %q: err = %v, want one naming %s", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v env %q: %v", tt.args, tt.env, err)
		} else if c.SharedDashboards != tt.want {
			t.Errorf("%v env %q: SharedDashboards = %v, want %v", tt.args, tt.env, c.SharedDashboards, tt.want)
		}
	}
}
