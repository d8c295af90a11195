package web

import (
	"strconv"
	"strings"
	"testing"

	"portal"
)

// Limits of the validators, at and just past each bound.
func TestValidateBounds(t *testing.T) {
	long := func(n int) string {
		const prefix = "https://hub.test/"
		return prefix + strings.Repeat("a", n-len(prefix))
	}
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{long(2048), true},
		{long(2049), false},
		{"https://hub.test/\x7f", false},
		{"https://hub.test/\x1f", false},
		{"https://hub.test/!", true}, // the first printable character after the space
		{"http://:80/", false},       // a port but no host name
		{"https://[::1]:8443/", true},
	} {
		if err := checkIndexURL(tt.url, nil); (err == nil) != tt.ok {
			t.Errorf("checkIndexURL(%d characters, ends %q) = %v, want ok=%v", len(tt.url), tt.url[len(tt.url)-1:], err, tt.ok)
		}
	}

	max := int64(maxTimeout.Seconds())
	if got, err := parseTimeout(strconv.FormatInt(max, 10)); err != nil || got != maxTimeout {
		t.Errorf("parseTimeout(max) = %v, %v; want %v", got, err, maxTimeout)
	}
	if _, err := parseTimeout(strconv.FormatInt(max+1, 10)); portal.ErrorCode(err) != portal.EINVALID {
		t.Errorf("parseTimeout(max+1) error = %v, want invalid", err)
	}

	email := strings.Repeat("a", 320-len("@b.test")) + "@b.test"
	if !validEmail(email) {
		t.Errorf("validEmail(320 characters) = false, want true")
	}
	if validEmail("c" + email) {
		t.Errorf("validEmail(321 characters) = true, want false")
	}
	// Domain labels neither start nor end with a hyphen.
	for _, s := range []string{"a@b-.test", "a@b.test-", "a@-b.test"} {
		if validEmail(s) {
			t.Errorf("validEmail(%q) = true, want false", s)
		}
	}
	if !validEmail("a@b-c.test") {
		t.Errorf(`validEmail("a@b-c.test") = false, want true`)
	}
}

func TestCheckAnalyticsURL(t *testing.T) {
	for _, tt := range []struct {
		url string
		ok  bool
	}{
		{"https://analytics.test/collect", true},
		{"http://analytics.test:9000/", true},
		{"/local/path", false},
		{"javascript:alert(1)", false},
		{"https://analytics.test/a b", false},
		{"https://user:pw@analytics.test/", false},
		{"https://analytics.test/\\x", false},
	} {
		err := checkAnalyticsURL(tt.url)
		if (err == nil) != tt.ok {
			t.Errorf("checkAnalyticsURL(%q) = %v, want ok=%v", tt.url, err, tt.ok)
		}
		if err != nil && portal.ErrorCode(err) != portal.EINVALID {
			t.Errorf("checkAnalyticsURL(%q) code = %s, want invalid", tt.url, portal.ErrorCode(err))
		}
	}
}
