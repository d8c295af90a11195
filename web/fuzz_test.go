package web

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// staysOn reports whether a browser on the portal, following ref (a Location or a link),
// stays on the portal's own origin. ref has passed checkURLChars, so there are no
// backslashes or control characters for a browser to reinterpret.
func staysOn(ref string) bool {
	base, _ := url.Parse("http://portal.test/workshops/catalog/")
	// A browser keeps a '%' that starts no escape as it is; url.Parse would refuse it.
	ref = fixEscapes(ref)
	u, err := url.Parse(ref)
	if err != nil {
		return false
	}
	to := base.ResolveReference(u)
	return to.Scheme == "http" && to.Host == "portal.test" && to.User == nil
}

// fixEscapes writes a '%' that starts no escape as "%25".
func fixEscapes(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '%' && (i+2 >= len(s) || !isHex(s[i+1]) || !isHex(s[i+2])) {
			b.WriteString("%25")
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isHex(c byte) bool { return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F' }

var indexSeeds = []string{"https://hub.test/", "http://hub.test:8080/a?b=c#d", "/workshops/catalog/", "/",
	"//evil.test/", "/\\evil.test", "javascript:alert(1)", "data:text/html,x", "https://u:p@hub.test/",
	"https:evil.test", "https:///evil.test", "http://[::1]/", "HTTPS://HUB.TEST", "/%2F%2Fevil.test",
	"\thttps://hub.test/", "/0%0X", "/%", "/a%2", "/%%", "https://hub.test\\@evil.test/", "ftp://hub.test/", "", "https://", "?x=1", "#x"}

// FuzzIndexURL: an accepted index_url is a path that keeps the browser on the portal, or an
// absolute http(s) URL with a host and no user-info, on an allowed origin when there is a
// list (CONTRACT §5).
func FuzzIndexURL(f *testing.F) {
	for _, s := range indexSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	f.Fuzz(func(t *testing.T, raw string, restricted bool) {
		var origins []string
		if restricted {
			origins = []string{"https://hub.test"}
		}
		if checkIndexURL(raw, origins) != nil {
			return
		}
		if checkURLChars(raw) != nil {
			t.Fatalf("accepted %q, which has spaces, control characters or backslashes", raw)
		}
		if strings.HasPrefix(raw, "/") {
			if !staysOn(raw) {
				t.Fatalf("accepted path %q leaves the portal", raw)
			}
			return
		}
		u, err := url.Parse(raw)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" ||
			u.User != nil || u.Opaque != "" {
			t.Fatalf("accepted %q, which is not an absolute http(s) URL with a host and no user-info", raw)
		}
		if restricted && strings.ToLower(u.Scheme+"://"+u.Host) != "https://hub.test" {
			t.Fatalf("accepted %q, whose origin is not on the list", raw)
		}
	})
}

// FuzzNext: the next and redirect_url paths the portal's pages carry through a login keep
// the browser on the portal.
func FuzzNext(f *testing.F) {
	for _, s := range indexSeeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, p string) {
		got := localPath(p, "")
		if got == "" {
			return
		}
		if got != p || !staysOn(got) || checkURLChars(got) != nil {
			t.Fatalf("localPath(%q) = %q, which leaves the portal", p, got)
		}
		to := loginRedirect("/accounts/login/", got)
		if !staysOn(to) {
			t.Fatalf("loginRedirect(…, %q) = %q, which leaves the portal", got, to)
		}
	})
}

// FuzzLabelsFilter: a query string never panics the labels filter, and accepted label
// names are neither empty nor carry brackets.
func FuzzLabelsFilter(f *testing.F) {
	for _, s := range []string{"labels[team]=docs", "labels[a]=1&labels[b]=2&x=y", "labels[]=x", "labels[a[b]]=c",
		"labels[a=b", "labels%5Bteam%5D=a+b", "labels[team]=%zz", "%zz=1", "&&&", "labels[team]"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		m, err := parseLabelsFilter(raw)
		if err != nil {
			return
		}
		for name := range m {
			if name == "" || strings.ContainsAny(name, "[]") {
				t.Fatalf("parseLabelsFilter(%q) accepted label name %q", raw, name)
			}
		}
	})
}

// FuzzTimeout: an accepted timeout is between 0 and the maximum.
func FuzzTimeout(f *testing.F) {
	for _, s := range []string{"", "0", "60", "-1", "1.5", "31536000", "31536001", "9223372036854775807", "1e3", "+5", " 5"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		d, err := parseTimeout(v)
		if err == nil && (d < 0 || d > maxTimeout) {
			t.Fatalf("parseTimeout(%q) = %v", v, d)
		}
	})
}

// FuzzParams: a request body never panics the parameter parser, and accepted parameters
// have names and valid UTF-8.
func FuzzParams(f *testing.F) {
	for _, s := range []string{``, `{}`, `{"parameters":[{"name":"A","value":"b"}]}`, `{"parameters":null}`,
		`{"parameters":[{"name":""}]}`, `{"parameters":[{"name":"A","value":1}]}`, `[]`, `{"parameters":{}}`,
		"{\"parameters\":[{\"name\":\"\xff\"}]}", `{"parameters":[{"name":"A"}]} x`, `{"parameters":[1]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		params, err := parseParams(body)
		if err != nil {
			return
		}
		for _, p := range params {
			if p.Name == "" || !utf8.ValidString(p.Name) || !utf8.ValidString(p.Value) {
				t.Fatalf("parseParams(%q) accepted %+v", body, p)
			}
		}
	})
}

// fuzzStatusOK fails on a status that means the portal broke: a 500, or a 5xx other than a
// 503 with Retry-After (no capacity left is a legitimate answer).
func fuzzStatusOK(t *testing.T, what string, w *httptest.ResponseRecorder) {
	t.Helper()
	if w.Code >= 500 && !(w.Code == http.StatusServiceUnavailable && w.Header().Get("Retry-After") != "") {
		t.Fatalf("%s: status %d: %.300s", what, w.Code, w.Body)
	}
}

// FuzzRequestEndpoint sends the robot's session requests with arbitrary query strings and
// bodies (reference §2.7, a JSON body on GET or POST): no input gets a 500.
func FuzzRequestEndpoint(f *testing.F) {
	for _, s := range []struct{ q, body string }{
		{"index_url=https%3A%2F%2Fhub.test%2F&user=ada", ""},
		{"index_url=https%3A%2F%2Fhub.test%2F&email=ada%40example.test&first_name=Ada&timeout=30", `{"parameters":[{"name":"WORKSHOP_USERNAME","value":"ada"}]}`},
		{"index_url=/&timeout=-1", ""},
		{"redirect_url=javascript:alert(1)", ""},
		{"index_url=https%3A%2F%2Fhub.test%2F&analytics_url=http%3A%2F%2F%5B%3A%3A1%5D%3A80", "{"},
		{"index_url=https%3A%2F%2Fhub.test%2F&user=%00%ff", `{"parameters":[{"name":"x","value":"\u0000"}]}`},
		{"index_url=https%3A%2F%2Fhub.test%2F&session=lab-w01-s001", "null"},
		{"%zz&index_url=%", ""},
	} {
		f.Add("GET", s.q, []byte(s.body))
		f.Add("POST", s.q, []byte(s.body))
	}
	h := newHarness(f, nil)
	robot := h.tokenOf(h.creds.RobotUsername, h.clock.Now().Add(24*time.Hour))
	f.Fuzz(func(t *testing.T, method, query string, body []byte) {
		if method != "GET" && method != "POST" {
			return
		}
		r := httptest.NewRequest(method, "/workshops/environment/"+envName+"/request/", strings.NewReader(string(body)))
		r.URL.RawQuery = query
		r.Host = "portal.test"
		r.Header.Set("Authorization", "Bearer "+robot)
		r.Header.Set("Content-Type", "application/json")
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		fuzzStatusOK(t, method+" request/?"+query, w)
	})
}

// FuzzTokenEndpoint posts arbitrary forms to the token endpoint with the robot client's
// credentials: no input gets a 500, and a token it hands out works.
func FuzzTokenEndpoint(f *testing.F) {
	h := newHarness(f, nil)
	c := h.creds
	for _, form := range []url.Values{
		{"grant_type": {"password"}, "username": {c.RobotUsername}, "password": {c.RobotPassword}},
		{"grant_type": {"password"}, "username": {c.RobotUsername}, "password": {"wrong"}},
		{"grant_type": {"password"}, "username": {c.AdminUsername}, "password": {c.AdminPassword}, "scope": {"user:info"}},
		{"grant_type": {"refresh_token"}, "refresh_token": {"x"}},
		{"grant_type": {"client_credentials"}},
		{"grant_type": {"password"}, "username": {"\x00"}, "password": {"\xff"}},
		{"grant_type": {"password", "refresh_token"}},
	} {
		f.Add(form.Encode(), true)
	}
	f.Add("grant_type=password&username=%zz", true)
	f.Add("grant_type=password;username=a", false)
	// Known finding (issue 8 §5): a form over 64 KiB, or one with a bad escape (the corpus in
	// testdata/fuzz), answered 200 with a token never stored.
	f.Add(url.Values{"grant_type": {"password"}, "username": {c.RobotUsername}, "password": {c.RobotPassword},
		"pad": {strings.Repeat("x", 65<<10)}}.Encode(), true)
	basic := "Basic " + base64.StdEncoding.EncodeToString([]byte(c.RobotClientID+":"+c.RobotClientSecret))
	n := 0
	f.Fuzz(func(t *testing.T, body string, withClient bool) {
		n++
		r := httptest.NewRequest("POST", "/oauth2/token/", strings.NewReader(body))
		r.Host = "portal.test"
		// A new address every time: the password limiters are not what is fuzzed.
		r.RemoteAddr = "10." + itoa(n>>16&255) + "." + itoa(n>>8&255) + "." + itoa(n&255) + ":1234"
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if withClient {
			r.Header.Set("Authorization", basic)
		}
		w := httptest.NewRecorder()
		h.srv.ServeHTTP(w, r)
		fuzzStatusOK(t, "POST /oauth2/token/ "+truncate(body, 200), w)
		if w.Code != http.StatusOK {
			return
		}
		if _, err := url.ParseQuery(body); err != nil || len(body) > 64<<10 {
			t.Fatalf("200 for a form the endpoint cannot read: %s", truncate(body, 200))
		}
		var resp tokenResponse
		if err := json.Unmarshal(w.Body.Bytes(), &resp); err != nil {
			t.Fatalf("200 without a token: %v: %s", err, w.Body)
		}
		check := httptest.NewRequest("GET", "/workshops/catalog/environments/", nil)
		check.Host = "portal.test"
		check.Header.Set("Authorization", "Bearer "+resp.AccessToken)
		cw := httptest.NewRecorder()
		h.srv.ServeHTTP(cw, check)
		if cw.Code != http.StatusOK {
			t.Fatalf("the token handed out for %q does not work: %d %s", truncate(body, 200), cw.Code, cw.Body)
		}
	})
}

func itoa(n int) string { return strconv.Itoa(n) }

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
