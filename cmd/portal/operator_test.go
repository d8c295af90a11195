package main

import "testing"

func TestDurationText(t *testing.T) {
	for _, tc := range []struct {
		seconds *int
		want    string
	}{
		{nil, "-"}, {seconds(0), "0s"}, {seconds(59), "59s"}, {seconds(60), "1m"}, {seconds(1799), "29m59s"},
		{seconds(1800), "30m"}, {seconds(3600), "1h"}, {seconds(3900), "1h05m"}, {seconds(3959), "1h05m"},
	} {
		if got := durationText(tc.seconds); got != tc.want {
			t.Errorf("durationText(%v) = %q, want %q", tc.seconds, got, tc.want)
		}
	}
}

func seconds(n int) *int { return &n }
