package web

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"portal"
	"portal/scheduler"
)

// uiBrowser is a cookie-keeping client of the harness's server, as a browser would be.
type uiBrowser struct {
	h       *harness
	cookies map[string]string
	addr    string
}

func (h *harness) browser() *uiBrowser {
	return &uiBrowser{h: h, cookies: map[string]string{}, addr: "192.0.2.1:1234"}
}

func (b *uiBrowser) do(method, target string, form url.Values) *httptest.ResponseRecorder {
	b.h.t.Helper()
	var body string
	if form != nil {
		body = form.Encode()
	}
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	r.Host = "portal.test"
	r.RemoteAddr = b.addr
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range b.cookies {
		r.AddCookie(&http.Cookie{Name: k, Value: v})
	}
	w := httptest.NewRecorder()
	b.h.srv.ServeHTTP(w, r)
	for _, c := range w.Result().Cookies() {
		if c.MaxAge < 0 || c.Value == "" {
			delete(b.cookies, c.Name)
		} else {
			b.cookies[c.Name] = c.Value
		}
	}
	return w
}

var csrfInput = regexp.MustCompile(`name="csrf_token" value="([^"]+)"`)

// post loads page, takes its CSRF token and posts form to action.
func (b *uiBrowser) post(page, action string, form url.Values) *httptest.ResponseRecorder {
	b.h.t.Helper()
	w := b.do("GET", page, nil)
	m := csrfInput.FindStringSubmatch(w.Body.String())
	if m == nil {
		b.h.t.Fatalf("GET %s: %d, no CSRF token in %s", page, w.Code, w.Body)
	}
	form.Set("csrf_token", m[1])
	return b.do("POST", action, form)
}

func (b *uiBrowser) login(user, password string) *httptest.ResponseRecorder {
	b.h.t.Helper()
	return b.post("/accounts/login/", "/accounts/login/", url.Values{"username": {user}, "password": {password}})
}

func TestLoginLogoutAndCookieFlags(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	w := b.login(h.creds.AdminUsername, h.creds.AdminPassword)
	location(t, w, "/")
	var c *http.Cookie
	for _, x := range w.Result().Cookies() {
		if x.Name == loginCookie {
			c = x
		}
	}
	if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Secure || c.Path != "/" {
		t.Fatalf("login cookie = %+v", c)
	}
	location(t, b.do("GET", "/", nil), "/workshops/catalog/")
	if w := b.do("GET", "/admin/", nil); w.Code != 200 || !strings.Contains(w.Body.String(), h.creds.RobotClientSecret) {
		t.Fatalf("admin page: %d", w.Code)
	}
	location(t, b.post("/accounts/logout/", "/accounts/logout/", url.Values{}), "/")
	location(t, b.do("GET", "/admin/", nil), "/accounts/login/?next=/admin/")
}

func TestSecureCookiesOnHTTPS(t *testing.T) {
	h := newHarness(t, nil)
	srv, err := New(Config{Scheduler: h.sched, Store: h.store, Clock: h.clock.Now, PortalURL: "https://portal.test"})
	if err != nil {
		t.Fatal(err)
	}
	h.srv = srv
	w := h.browser().login(h.creds.AdminUsername, h.creds.AdminPassword)
	location(t, w, "/")
	cookies := w.Result().Cookies()
	if len(cookies) == 0 {
		t.Fatal("no cookies")
	}
	for _, c := range cookies {
		if !c.Secure || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode {
			t.Errorf("cookie %s flags: %+v", c.Name, c)
		}
	}
}

func TestFormsNeedCSRFToken(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	other := h.browser()
	other.do("GET", "/accounts/login/", nil)
	stolen := csrfInput.FindStringSubmatch(other.do("GET", "/accounts/login/", nil).Body.String())[1]

	a := h.requestSession(h.robot(), "alice")
	tests := []struct {
		name, action, token string
		form                url.Values
	}{
		{"login without token", "/accounts/login/", "", url.Values{"username": {h.creds.AdminUsername}, "password": {h.creds.AdminPassword}}},
		{"admin action without token", "/admin/action/", "", url.Values{"action": {"terminate"}, "target": {a.Name}}},
		{"admin action with another browser's token", "/admin/action/", stolen, url.Values{"action": {"terminate"}, "target": {a.Name}}},
		{"logout with a wrong token", "/accounts/logout/", "forged", url.Values{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.token != "" {
				tt.form.Set("csrf_token", tt.token)
			}
			w := admin.do("POST", tt.action, tt.form)
			mustStatus(t, w, http.StatusForbidden)
			if !strings.Contains(w.Body.String(), "This form has expired") {
				t.Errorf("body: %s", w.Body)
			}
		})
	}
	if s := h.session(a.Name); s.State == portal.SessionStopping {
		t.Fatal("a forged form terminated a session")
	}
	// Still logged in: the forged logout did nothing.
	mustStatus(t, admin.do("GET", "/admin/", nil), http.StatusOK)
}

func TestLoginRateLimits(t *testing.T) {
	h := newHarness(t, nil)
	b := h.browser()
	wrong := func(b *uiBrowser, user string) int {
		return b.login(user, "wrong password").Code
	}
	for i := range 5 {
		if code := wrong(b, h.creds.AdminUsername); code != http.StatusOK {
			t.Fatalf("attempt %d: %d", i+1, code)
		}
	}
	// The account is limited, even with the right password and from another address.
	w := b.login(h.creds.AdminUsername, h.creds.AdminPassword)
	mustStatus(t, w, http.StatusTooManyRequests)
	if !strings.Contains(w.Body.String(), "Too many login attempts") || w.Header().Get("Retry-After") == "" {
		t.Errorf("limited: %s %v", w.Body, w.Header())
	}
	other := h.browser()
	other.addr = "192.0.2.2:1"
	mustStatus(t, other.login(h.creds.AdminUsername, h.creds.AdminPassword), http.StatusTooManyRequests)
	// A minute later one more attempt is allowed.
	h.clock.Advance(time.Minute)
	location(t, other.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")

	// Per address: 20 attempts on any accounts, then the address waits.
	flood := h.browser()
	flood.addr = "198.51.100.7:9"
	for i := range 20 {
		if code := wrong(flood, "user"+string(rune('a'+i))); code != http.StatusOK {
			t.Fatalf("address attempt %d: %d", i+1, code)
		}
	}
	mustStatus(t, flood.login("someone-else", "x"), http.StatusTooManyRequests)
	h.clock.Advance(6 * time.Second)
	mustStatus(t, flood.login("someone-else", "x"), http.StatusOK)
}

func TestRegistrationModes(t *testing.T) {
	t.Run("one-step open", func(t *testing.T) {
		h := newHarness(t, nil)
		b := h.browser()
		form := url.Values{"username": {"ada"}, "email": {"ada@example"}, "password1": {"analytical1"}, "password2": {"analytical2"}}
		w := b.post("/accounts/register/", "/accounts/register/", form)
		mustStatus(t, w, http.StatusOK)
		for _, want := range []string{`id="email-error"`, `id="password2-error"`, `value="ada"`} {
			if !strings.Contains(w.Body.String(), want) {
				t.Errorf("sign-up errors lack %s", want)
			}
		}
		form.Set("email", "ada@example.test")
		form.Set("password2", "analytical1")
		location(t, b.post("/accounts/register/", "/accounts/register/", form), "/workshops/catalog/")
		w = b.do("GET", "/workshops/catalog/", nil)
		if w.Code != 200 || !strings.Contains(w.Body.String(), `id="start-lab-w01"`) {
			t.Fatalf("catalog after sign-up: %d %s", w.Code, w.Body)
		}
		var u *portal.User
		h.store.View(h.ctx, func(tx portal.Tx) error { u, _ = tx.User("ada"); return nil })
		if u == nil || u.Group != portal.GroupNone || u.Staff || u.Email != "ada@example.test" {
			t.Fatalf("user = %+v", u)
		}
		// The name is taken now.
		w = h.browser().post("/accounts/register/", "/accounts/register/", form)
		if !strings.Contains(w.Body.String(), "A user with that username already exists.") {
			t.Errorf("duplicate: %s", w.Body)
		}
	})
	t.Run("closed", func(t *testing.T) {
		h := newHarness(t, func(p *portal.PortalSettings) { p.RegistrationEnabled = false })
		b := h.browser()
		location(t, b.do("GET", "/accounts/register/", nil), "/accounts/register/closed/")
		w := b.post("/accounts/login/", "/accounts/register/", url.Values{"username": {"eve"}, "email": {"eve@example.test"},
			"password1": {"password-9"}, "password2": {"password-9"}})
		mustStatus(t, w, http.StatusForbidden)
		location(t, b.do("GET", "/accounts/create/", nil), "/accounts/login/")
		location(t, b.do("GET", "/workshops/catalog/", nil), "/accounts/login/?next=/workshops/catalog/")
		// A learner logged in through an activation link sees no workshops.
		a := h.requestSession(h.robot(), "alice")
		b.do("GET", a.URL, nil)
		w = b.do("GET", "/workshops/catalog/?notification=session-deleted", nil)
		if body := w.Body.String(); w.Code != 200 || !strings.Contains(body, `id="staff-only"`) ||
			!strings.Contains(body, notices[notifySessionDeleted]) || strings.Contains(body, "start-lab-w01") {
			t.Fatalf("learner catalog: %d %s", w.Code, body)
		}
		// The admin still logs in and sees them.
		admin := h.browser()
		location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
		if w := admin.do("GET", "/workshops/catalog/", nil); !strings.Contains(w.Body.String(), `id="start-lab-w01"`) {
			t.Fatalf("admin catalog: %s", w.Body)
		}
	})
	t.Run("anonymous", func(t *testing.T) {
		h := newHarness(t, func(p *portal.PortalSettings) { p.RegistrationType = portal.RegistrationAnonymous })
		b := h.browser()
		location(t, b.do("GET", "/", nil), "/accounts/create/?next=%2Fworkshops%2Fcatalog%2F")
		location(t, b.do("GET", "/accounts/create/?next=%2Fworkshops%2Fcatalog%2F", nil), "/workshops/catalog/")
		location(t, b.do("GET", "/workshops/environment/"+envName+"/", nil), "/workshops/session/lab-w01-s001/")
		// Another visitor coming straight to an environment gets an account on the way.
		c := h.browser()
		location(t, c.do("GET", "/workshops/environment/"+envName+"/", nil), "/workshops/environment/"+envName+"/create/?index_url=")
		location(t, c.do("GET", "/workshops/environment/"+envName+"/create/?index_url=", nil), "/workshops/environment/"+envName+"/?index_url=")
		location(t, c.do("GET", "/workshops/environment/"+envName+"/?index_url=", nil), "/workshops/session/lab-w01-s002/")
		var anon int
		h.store.View(h.ctx, func(tx portal.Tx) error {
			users, _ := tx.Users()
			for _, u := range users {
				if u.Group == portal.GroupAnonymous && u.PasswordHash == "" {
					anon++
				}
			}
			return nil
		})
		if anon != 2 {
			t.Fatalf("anonymous users = %d, want 2", anon)
		}
	})
}

func TestAccessCode(t *testing.T) {
	h := newHarness(t, func(p *portal.PortalSettings) { p.Password = "event-code" })
	b := h.browser()
	location(t, b.do("GET", "/", nil), "/workshops/access/?redirect_url=%2F")
	location(t, b.do("GET", "/workshops/catalog/", nil), "/workshops/access/?redirect_url=%2Fworkshops%2Fcatalog%2F")
	mustStatus(t, b.do("GET", "/workshops/access/", nil), http.StatusBadRequest)
	w := b.post("/workshops/access/?redirect_url=/", "/workshops/access/", url.Values{"password": {"nope"}, "redirect_url": {"/"}})
	if !strings.Contains(w.Body.String(), "That access code is not correct.") {
		t.Fatalf("wrong code: %s", w.Body)
	}
	location(t, b.post("/workshops/access/?redirect_url=/", "/workshops/access/",
		url.Values{"password": {"event-code"}, "redirect_url": {"//evil.test/"}}), "/")
	location(t, b.do("GET", "/", nil), "/accounts/login/?next=/workshops/catalog/")
	// Passing the code survives the login.
	if _, err := h.sched.CreateUser(h.ctx, scheduler.NewUser{Name: "ada", Password: "analytical"}); err != nil {
		t.Fatal(err)
	}
	location(t, b.login("ada", "analytical"), "/")
	mustStatus(t, b.do("GET", "/workshops/catalog/", nil), http.StatusOK)
	// Logging out keeps the code: the next learner at this computer goes straight to the
	// login.
	location(t, b.post("/accounts/logout/", "/accounts/logout/", url.Values{}), "/")
	location(t, b.do("GET", "/workshops/catalog/", nil), "/accounts/login/?next=/workshops/catalog/")
	location(t, b.login("ada", "analytical"), "/")
	mustStatus(t, b.do("GET", "/workshops/catalog/", nil), http.StatusOK)
	// The query parameter lets another browser straight through.
	c := h.browser()
	location(t, c.do("GET", "/workshops/access/?redirect_url=/workshops/catalog/&password=event-code", nil), "/workshops/catalog/")
	location(t, c.do("GET", "/workshops/catalog/", nil), "/accounts/login/?next=/workshops/catalog/")
	// The admin never needs it.
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	mustStatus(t, admin.do("GET", "/workshops/catalog/", nil), http.StatusOK)
}

func TestAdminActions(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	learner := h.browser()
	learner.do("GET", a.URL, nil)
	mustStatus(t, learner.do("GET", "/admin/", nil), http.StatusForbidden)

	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	w := admin.do("GET", "/admin/sessions/?environment="+envName+"&state=running", nil)
	if !strings.Contains(w.Body.String(), `id="row-`+a.Name+`"`) {
		t.Fatalf("sessions page lacks %s: %s", a.Name, w.Body)
	}
	mustStatus(t, admin.do("GET", "/admin/sessions/?state=bogus", nil), http.StatusBadRequest)
	mustStatus(t, admin.do("GET", "/admin/users/", nil), http.StatusOK)

	confirm := func(action, target string) *httptest.ResponseRecorder {
		t.Helper()
		page := "/admin/confirm/?action=" + action + "&target=" + target + "&back=/admin/sessions/"
		return admin.post(page, "/admin/action/", url.Values{"action": {action}, "target": {target}, "back": {"/admin/sessions/"}})
	}
	started := h.session(a.Name).Started
	location(t, confirm("extend10", a.Name), "/admin/sessions/?done=extend10&target="+a.Name)
	if got, want := h.session(a.Name).Expires, started.Add(40*time.Minute); !got.Equal(want) {
		t.Errorf("after +10: expires %v, want %v", got, want)
	}
	w = admin.do("GET", "/admin/sessions/?done=extend10&target="+a.Name, nil)
	if want := "Session " + a.Name + " was extended: it now ends at 09:40:00 UTC, in 40m 00s."; !strings.Contains(w.Body.String(), want) {
		t.Errorf("no flash %q: %s", want, w.Body)
	}
	// +60 reaches the deadline (60 minutes after the start); one more adds nothing and
	// says why.
	location(t, confirm("extend60", a.Name), "/admin/sessions/?done=extend60&target="+a.Name)
	location(t, confirm("extend10", a.Name), "/admin/sessions/?done=extend-none&target="+a.Name)
	w = admin.do("GET", "/admin/sessions/?done=extend-none&target="+a.Name, nil)
	if want := "Session " + a.Name + " was not extended: it already ends at its deadline, 10:00:00 UTC, 60m after it started. " +
		"To allow longer sessions, raise deadline"; !strings.Contains(w.Body.String(), want) {
		t.Errorf("no flash %q: %s", want, w.Body)
	}
	location(t, confirm("expire", a.Name), "/admin/sessions/?done=expire&target="+a.Name)
	if got, want := h.session(a.Name).Expires, h.clock.Now().Add(time.Minute); !got.Equal(want) {
		t.Errorf("after expire: %v, want %v", got, want)
	}
	location(t, confirm("terminate", a.Name), "/admin/sessions/?done=terminate&target="+a.Name)
	if s := h.session(a.Name); s.State != portal.SessionStopping {
		t.Errorf("after terminate: %v", s.State)
	}
	location(t, confirm("refresh", envName), "/admin/sessions/?done=refresh&target="+envName)
	w = confirm("explode", a.Name)
	mustStatus(t, w, http.StatusBadRequest)
}

func TestNotificationBanners(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	for note, text := range notices {
		t.Run(note, func(t *testing.T) {
			w := admin.do("GET", "/workshops/catalog/?notification="+note, nil)
			if !strings.Contains(w.Body.String(), `id="notification">`+text+"<") {
				t.Errorf("no banner %q: %s", text, w.Body)
			}
		})
	}
	if w := admin.do("GET", "/workshops/catalog/?notification=<script>", nil); strings.Contains(w.Body.String(), `id="notification"`) {
		t.Error("an unknown notification shows a banner")
	}
	location(t, admin.do("GET", "/?notification=session-deleted", nil), "/workshops/catalog/?notification=session-deleted")
}

func TestLimiter(t *testing.T) {
	now := t0
	l := newLimiter(func() time.Time { return now }, 2, 10*time.Second)
	for i := range 2 {
		if d := l.wait("k"); d != 0 {
			t.Fatalf("attempt %d waits %v", i, d)
		}
		l.take("k")
	}
	if d := l.wait("k"); d <= 0 || d > 11*time.Second {
		t.Fatalf("wait = %v, want about 10s", d)
	}
	if d := l.wait("other"); d != 0 {
		t.Fatalf("another key waits %v", d)
	}
	now = now.Add(10 * time.Second)
	if d := l.wait("k"); d != 0 {
		t.Fatalf("after refill: %v", d)
	}
}

// An operator sees the portal's warnings (such as sessions running unsandboxed) on the
// admin pages, and learners do not.
func TestAdminWarnings(t *testing.T) {
	h := newHarness(t, nil)
	const warning = "Sessions are NOT sandboxed: bwrap is missing"
	h.srv.ui.warnings = func() []string { return []string{warning} }
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	for _, page := range []string{"/admin/", "/admin/sessions/", "/admin/users/"} {
		w := admin.do("GET", page, nil)
		mustStatus(t, w, http.StatusOK)
		if !strings.Contains(w.Body.String(), warning) {
			t.Errorf("%s does not show the warning", page)
		}
	}
	a := h.requestSession(h.robot(), "alice")
	learner := h.browser()
	learner.do("GET", a.URL, nil)
	if w := learner.do("GET", "/workshops/catalog/", nil); strings.Contains(w.Body.String(), warning) {
		t.Error("a learner's page shows the operator's warning")
	}
}

// A browser that follows a wrong link gets a page in the portal's layout; API clients keep
// the short plain answer.
func TestNotFoundPage(t *testing.T) {
	h := newHarness(t, nil)
	w := h.do("GET", "/no-such-page/", "", header{"Accept", "text/html,application/xhtml+xml"})
	mustStatus(t, w, http.StatusNotFound)
	if body := w.Body.String(); !strings.Contains(body, `<html lang="en">`) || !strings.Contains(body, "There is no page at this address.") {
		t.Errorf("not-found page: %s", body)
	}
	w = h.do("GET", "/no-such-page/", "")
	mustStatus(t, w, http.StatusNotFound)
	if got := w.Header().Get("Content-Type"); !strings.HasPrefix(got, "text/plain") {
		t.Errorf("API not-found Content-Type %q", got)
	}
}

// The nav names the logged-in user apart from the words "Log out".
func TestLogoutButtonNamesUser(t *testing.T) {
	h := newHarness(t, nil)
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	w := admin.do("GET", "/workshops/catalog/", nil)
	want := `Log out <span class="who">(` + h.creds.AdminUsername + `)</span>`
	if !strings.Contains(w.Body.String(), want) {
		t.Errorf("no %q in %s", want, w.Body)
	}
}

// The sessions and users pages name REST learners by name and email (their usernames are
// ids), and both pages search and sort.
func TestAdminListsNameSearchAndSort(t *testing.T) {
	h := newHarness(t, nil)
	request := func(email, first, last string) requestJSON {
		t.Helper()
		w := h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F&email="+
			url.QueryEscape(email)+"&first_name="+first+"&last_name="+last, "", bearer(h.robot()))
		mustStatus(t, w, http.StatusOK)
		var out requestJSON
		if err := jsonUnmarshal(w.Body.Bytes(), &out); err != nil {
			t.Fatal(err)
		}
		return out
	}
	ada := request("ada@example.org", "Ada", "Lovelace")
	grace := request("grace@example.org", "Grace", "Hopper")
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	page := func(path string) string {
		t.Helper()
		w := admin.do("GET", path, nil)
		mustStatus(t, w, http.StatusOK)
		return w.Body.String()
	}
	// before reports whether a comes before b on the page, failing when either is missing.
	before := func(body, a, b string) bool {
		t.Helper()
		i, j := strings.Index(body, a), strings.Index(body, b)
		if i < 0 || j < 0 {
			t.Fatalf("page lacks %q or %q: %s", a, b, body)
		}
		return i < j
	}

	body := page("/admin/sessions/")
	row := body[strings.Index(body, `id="row-`+ada.Name+`"`):]
	row = row[:strings.Index(row, "</tr>")]
	for _, want := range []string{`<span class="owner-name">Ada Lovelace</span>`, `<span class="owner-email">ada@example.org</span>`, `<span class="owner-id">` + ada.User + `</span>`} {
		if !strings.Contains(row, want) {
			t.Errorf("row of %s lacks %q: %s", ada.Name, want, row)
		}
	}

	body = page("/admin/sessions/?q=HOPPER")
	if strings.Contains(body, `id="row-`+ada.Name+`"`) || !strings.Contains(body, `id="row-`+grace.Name+`"`) {
		t.Errorf("search for hopper: %s", body)
	}
	if !strings.Contains(page("/admin/sessions/?q=ada%40example"), `id="row-`+ada.Name+`"`) {
		t.Error("search by email does not find Ada's session")
	}
	if !before(page("/admin/sessions/?sort=owner"), `id="row-`+ada.Name+`"`, `id="row-`+grace.Name+`"`) {
		t.Error("sorted by owner, Ada's session is not first")
	}
	body = page("/admin/sessions/?sort=-owner")
	if before(body, `id="row-`+ada.Name+`"`, `id="row-`+grace.Name+`"`) {
		t.Error("sorted by owner descending, Ada's session is first")
	}
	if !strings.Contains(body, `aria-sort="descending"><a href="/admin/sessions/?sort=owner"`) {
		t.Errorf("the owner column does not say it sorts descending, or does not offer ascending: %s", body)
	}

	body = page("/admin/users/?q=lovelace")
	if !strings.Contains(body, `id="user-`+ada.User+`"`) || strings.Contains(body, `id="user-`+grace.User+`"`) {
		t.Errorf("users search for lovelace: %s", body)
	}
	if !strings.Contains(body, "<td>Ada Lovelace</td>") {
		t.Errorf("users page lacks Ada's name: %s", body)
	}
	if !before(page("/admin/users/?sort=-email"), `id="user-`+grace.User+`"`, `id="user-`+ada.User+`"`) {
		t.Error("users sorted by email descending: Grace is not before Ada")
	}
}

// The sessions page says why a session stopped, with a failed workload's message.
func TestAdminSessionsShowWhyStopped(t *testing.T) {
	h := newHarness(t, nil)
	a := h.requestSession(h.robot(), "alice")
	b := h.requestSession(h.robot(), "bob")
	h.updateSession(a.Name, func(s *portal.Session) {
		s.State, s.Reason = portal.SessionStopped, scheduler.FailedReason("dashboard exited: content folder /srv/lab is missing")
	})
	h.updateSession(b.Name, func(s *portal.Session) { s.State, s.Reason = portal.SessionStopping, "Session/Expired" })
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	body := admin.do("GET", "/admin/sessions/?state=all", nil).Body.String()
	for _, want := range []string{`<span class="reason">Failed to start: dashboard exited: content folder /srv/lab is missing</span>`,
		`<span class="reason">Expired</span>`} {
		if !strings.Contains(body, want) {
			t.Errorf("sessions page lacks %q: %s", want, body)
		}
	}
}
