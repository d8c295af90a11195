package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"portal"
)

func TestCheckIndexURL(t *testing.T) {
	tests := []struct {
		url     string
		origins []string
		ok      bool
	}{
		{"https://hub.test/", nil, true},
		{"http://hub.test:8080/path?x=1#frag", nil, true},
		{"/workshops/catalog/", nil, true},
		{"/accounts/logout/", nil, true},
		{"javascript:alert(1)", nil, false},
		{"JavaScript:alert(1)", nil, false},
		{"data:text/html,<script>alert(1)</script>", nil, false},
		{"//evil.test", nil, false},
		{"//evil.test/path", nil, false},
		{"/\\evil.test", nil, false},
		{"\\\\evil", nil, false},
		{"http://user:pass@host/", nil, false},
		{"http://user@host/", nil, false},
		{"http:evil", nil, false},
		{"http:/evil", nil, false},
		{"ftp://x", nil, false},
		{"https://hub.test/a b", nil, false},
		{"https://hub.test/\x00", nil, false},
		{"https://hub.test/\n", nil, false},
		{" https://hub.test/", nil, false},
		{"hub.test", nil, false},
		{"https://", nil, false},
		{"https://hub.test/", []string{"https://hub.test"}, true},
		{"https://HUB.test/x", []string{"https://hub.test/"}, true},
		{"https://other.test/", []string{"https://hub.test"}, false},
		{"http://hub.test/", []string{"https://hub.test"}, false},
		{"/local/path", []string{"https://hub.test"}, true},
		// Lookalike hosts: an origin matches only in full, never by prefix or suffix.
		{"https://hub.test.evil.example/", []string{"https://hub.test"}, false},
		{"https://hub.testevil.example/", []string{"https://hub.test"}, false},
		{"https://hub.test-evil.example/", []string{"https://hub.test"}, false},
		{"https://evilhub.test/", []string{"https://hub.test"}, false},
		{"https://evil.hub.test/", []string{"https://hub.test"}, false},
		{"https://hub.test:8443/", []string{"https://hub.test"}, false},
		{"https://hub.test/", []string{"https://hub.test:8443"}, false},
		{"https://hub.tes/", []string{"https://hub.test"}, false},
		{"https://ｈub.test/", []string{"https://hub.test"}, false},
		// User-info that makes a lookalike read like the allowed host.
		{"https://hub.test@evil.example/", []string{"https://hub.test"}, false},
		{"https://hub.test:443@evil.example/", []string{"https://hub.test"}, false},
		{"https://evil.example%23@hub.test/", []string{"https://hub.test"}, false},
		{"https://evil.example\\@hub.test/", []string{"https://hub.test"}, false},
		// Encoded hosts.
		{"https://hub%2etest/", []string{"https://hub.test"}, false},
		{"https://evil.example%2fhub.test/", []string{"https://hub.test"}, false},
		{"https://hub.test%2f.evil.example/", []string{"https://hub.test"}, false},
		{"https://hub.test%00.evil.example/", []string{"https://hub.test"}, false},
		// Length: 2048 characters is the limit, with or without an allow-list.
		{longURL("https://hub.test/", 2048), nil, true},
		{longURL("https://hub.test/", 2049), nil, false},
		{longURL("https://hub.test/", 2048), []string{"https://hub.test"}, true},
		{longURL("https://hub.test/", 2049), []string{"https://hub.test"}, false},
		{longURL("/workshops/catalog/", 2049), nil, false},
	}
	for _, tt := range tests {
		err := checkIndexURL(tt.url, tt.origins)
		if (err == nil) != tt.ok {
			t.Errorf("checkIndexURL(%.100q (%d chars), %v) = %v, want ok=%v", tt.url, len(tt.url), tt.origins, err, tt.ok)
		}
		if err != nil && portal.ErrorCode(err) != portal.EINVALID {
			t.Errorf("checkIndexURL(%q) code = %s, want invalid", tt.url, portal.ErrorCode(err))
		}
	}
}

// longURL pads prefix with a query to exactly n characters.
func longURL(prefix string, n int) string {
	prefix += "?q="
	return prefix + strings.Repeat("a", n-len(prefix))
}

func TestCheckAnalyticsURLLength(t *testing.T) {
	if err := checkAnalyticsURL(longURL("https://stats.test/", 2048)); err != nil {
		t.Errorf("2048 characters: %v, want accepted", err)
	}
	if err := checkAnalyticsURL(longURL("https://stats.test/", 2049)); err == nil {
		t.Error("2049 characters: accepted, want rejected")
	}
}

func TestValidEmail(t *testing.T) {
	for _, s := range []string{"a@b.test", "first.last+tag@example.co.uk", "x_y@sub.example.org"} {
		if !validEmail(s) {
			t.Errorf("validEmail(%q) = false, want true", s)
		}
	}
	for _, s := range []string{"", "plain", "a@b", "@b.test", "a@", "a b@c.test", "A <a@b.test>",
		"a@b..test", "a@-b.test", "a@b.test\n", "a@@b.test"} {
		if validEmail(s) {
			t.Errorf("validEmail(%q) = true, want false", s)
		}
	}
}

func TestParseTimeout(t *testing.T) {
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 60 * time.Second, true},
		{"0", 0, true},
		{"120", 120 * time.Second, true},
		{"-1", 0, false},
		{"1.5", 0, false},
		{"abc", 0, false},
		{"99999999999999999999", 0, false},
		{"9223372036", 0, false},
	}
	for _, tt := range tests {
		got, err := parseTimeout(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseTimeout(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestParseParams(t *testing.T) {
	tests := []struct {
		body string
		want []portal.Param
		err  error
	}{
		{"", nil, nil},
		{"  \n", nil, nil},
		{`{}`, nil, nil},
		{`{"parameters": []}`, nil, nil},
		{`{"parameters": [{"name": "A", "value": "1"}, {"name": "B"}]}`,
			[]portal.Param{{Name: "A", Value: "1"}, {Name: "B", Value: ""}}, nil},
		{`{bad`, nil, errInvalidJSON},
		{"\xff\xfe", nil, errInvalidJSON},
		{`{"parameters": []} x`, nil, errInvalidJSON},
		{`[{"name": "A"}]`, nil, errMalformedJSON},
		{`"text"`, nil, errMalformedJSON},
		{`{"parameters": "A"}`, nil, errMalformedJSON},
		{`{"parameters": {"name": "A"}}`, nil, errMalformedJSON},
		{`{"parameters": [{"value": "1"}]}`, nil, errMalformedJSON},
		{`{"parameters": [{"name": ""}]}`, nil, errMalformedJSON},
		{`{"parameters": [{"name": 5}]}`, nil, errMalformedJSON},
		{`{"parameters": [{"name": "A", "value": 5}]}`, nil, errMalformedJSON},
		{`{"parameters": ["A"]}`, nil, errMalformedJSON},
	}
	for _, tt := range tests {
		got, err := parseParams([]byte(tt.body))
		if err != tt.err {
			t.Errorf("parseParams(%q) error = %v, want %v", tt.body, err, tt.err)
			continue
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("parseParams(%q) (-want +got):\n%s", tt.body, diff)
		}
	}
}

func TestParseLabelsFilter(t *testing.T) {
	tests := []struct {
		query string
		want  map[string]string
		ok    bool
	}{
		{"", map[string]string{}, true},
		{"name=x&sessions=true", map[string]string{}, true},
		{"labels[level]=beginner", map[string]string{"level": "beginner"}, true},
		{"labels%5Blevel%5D=a+b", map[string]string{"level": "a+b"}, true},
		{"labels[k]=a%20b&labels[k]=c", map[string]string{"k": "c"}, true},
		{"labels[k]=x=y", map[string]string{"k": "x=y"}, true},
		{"labels[k]", map[string]string{"k": ""}, true},
		{"labels[k=v", nil, false},
		{"labels[]=v", nil, false},
		{"labels[a][b]=v", nil, false},
		{"labels[k]=%zz", nil, false},
		{"%zz=1", nil, false},
	}
	for _, tt := range tests {
		got, err := parseLabelsFilter(tt.query)
		if (err == nil) != tt.ok {
			t.Errorf("parseLabelsFilter(%q) error = %v, want ok=%v", tt.query, err, tt.ok)
			continue
		}
		if tt.ok {
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("parseLabelsFilter(%q) (-want +got):\n%s", tt.query, diff)
			}
		} else if portal.ErrorCode(err) != portal.EINVALID {
			t.Errorf("parseLabelsFilter(%q) code = %s, want invalid", tt.query, portal.ErrorCode(err))
		}
	}
}

func TestWithParams(t *testing.T) {
	tests := []struct {
		url, want string
	}{
		{"https://hub.test/", "https://hub.test/?notification=session-deleted"},
		{"https://hub.test/?a=1&b=&c=x+y", "https://hub.test/?a=1&c=x+y&notification=session-deleted"},
		{"https://hub.test/?notification=old&z=2", "https://hub.test/?notification=session-deleted&z=2"},
		{"https://hub.test/?a=1&a=2", "https://hub.test/?a=2&notification=session-deleted"},
		{"https://hub.test/p#frag", "https://hub.test/p?notification=session-deleted#frag"},
		{"/workshops/catalog/", "/workshops/catalog/?notification=session-deleted"},
		{"/x?q=a%2Fb", "/x?q=a%2Fb&notification=session-deleted"},
	}
	for _, tt := range tests {
		if got := withParams(tt.url, "notification", notifySessionDeleted); got != tt.want {
			t.Errorf("withParams(%q) = %q, want %q", tt.url, got, tt.want)
		}
	}
}

func TestCascade(t *testing.T) {
	user := &portal.User{Name: "u"}
	staff := &portal.User{Name: "admin", Staff: true}
	tests := []struct {
		explicit, index string
		u               *portal.User
		want            string
	}{
		{"https://hub.test/", "https://index.test/", user, "https://hub.test/?notification=session-invalid"},
		{"", "https://index.test/", user, "https://index.test/?notification=session-invalid"},
		{"", "https://index.test/", staff, "/workshops/catalog/?notification=session-invalid"},
		{"", "", user, "/workshops/catalog/?notification=session-invalid"},
		{"https://hub.test/", "", staff, "https://hub.test/?notification=session-invalid"},
	}
	for _, tt := range tests {
		if got := cascade(tt.explicit, tt.index, tt.u, notifySessionInvalid); got != tt.want {
			t.Errorf("cascade(%q, %q, staff=%v) = %q, want %q", tt.explicit, tt.index, tt.u.Staff, got, tt.want)
		}
	}
	for _, v := range []string{"session-deleted", "workshop-invalid", "session-unavailable", "session-invalid", "startup-timeout"} {
		if !knownNotification(v) {
			t.Errorf("knownNotification(%q) = false", v)
		}
	}
	if knownNotification("evil") {
		t.Error(`knownNotification("evil") = true`)
	}
}

func TestLoginRedirect(t *testing.T) {
	got := loginRedirect("/", "/workshops/session/lab-w01-s001/?x=1&y=2")
	if want := "/?next=/workshops/session/lab-w01-s001/%3Fx%3D1%26y%3D2"; got != want {
		t.Errorf("loginRedirect = %q, want %q", got, want)
	}
}

func TestLabelMapJSON(t *testing.T) {
	w := httptest.NewRecorder()
	writeJSON(w, 200, struct {
		L labelMap `json:"labels"`
		E labelMap `json:"empty"`
	}{L: labelMap{{Name: "z", Value: "a&b"}, {Name: "a", Value: `"q"`}}})
	if got, want := w.Body.String(), `{"labels":{"z":"a&b","a":"\"q\""},"empty":{}}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// The user parameter of a session request names the user to adopt or find: it must be
// printable UTF-8 of a bounded length, so that no stored user id can break the formats
// that carry it (tickets, logs, URLs).
func TestRequestUserParameter(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	ask := func(user string) *httptest.ResponseRecorder {
		return h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&user="+
			url.QueryEscape(user), "", bearer(robot))
	}
	for _, bad := range []string{
		strings.Repeat("a", 151), "ada\nbob", "ada\x00", "ada\xff", "tab\there", "del\x7f", "bidi\u202e",
	} {
		w := ask(bad)
		mustStatus(t, w, http.StatusBadRequest)
		if !strings.Contains(w.Body.String(), "user") {
			t.Errorf("user %q: body %q does not name the parameter", bad, w.Body)
		}
	}
	for _, good := range []string{"ada@example.test", "Zoë Müller", strings.Repeat("é", 150)} {
		mustStatus(t, ask(good), http.StatusOK)
	}
}
