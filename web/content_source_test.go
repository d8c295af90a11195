package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"portal"
	"portal/ticket"
	"portal/workshopfiles"
	"portal/workshopfiles/filestest"
)

// A workshop whose published content cannot be fetched: its environment shows the reason
// to admins and in the catalog API, session requests (REST and catalog page) are refused
// with 503 and the reason, and once the source is fixed an admin refresh makes it work,
// its sessions' content bundle holding the published files.
func TestPublishedContentFailure(t *testing.T) {
	var available atomic.Bool
	archive := filestest.TarGz(t, filestest.Files{"workshop/content/intro.md": "# Published intro"})
	src := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !available.Load() {
			http.Error(w, "gone", http.StatusNotFound)
			return
		}
		w.Write(archive)
	}))
	t.Cleanup(src.Close)
	ws := testWorkshops()
	w := ws[resource]
	w.Content = []portal.ContentSource{{Kind: portal.ContentHTTP, URL: src.URL + "/lab.tar.gz"}}
	ws[resource] = w
	h := newHarnessWith(t, nil, ws, &workshopfiles.Fetcher{Dir: t.TempDir()})
	robot := bearer(h.robot())
	const reason = "404 Not Found"

	r := h.do("GET", "/workshops/environment/"+envName+"/request/?index_url=https%3A%2F%2Fhub.test%2F", "", robot)
	if r.Code != http.StatusServiceUnavailable || !strings.Contains(r.Body.String(), "could not be fetched") || !strings.Contains(r.Body.String(), reason) {
		t.Errorf("request: %d %s, want 503 with the reason", r.Code, r.Body)
	}
	r = h.do("GET", "/workshops/environment/"+envName+"/status/", "", robot)
	if r.Code != http.StatusServiceUnavailable || !strings.Contains(r.Body.String(), reason) {
		t.Errorf("status: %d %s, want 503 with the reason", r.Code, r.Body)
	}
	r = h.do("GET", "/workshops/catalog/environments/?state=STARTING", "", robot)
	var cat struct {
		Environments []struct {
			Name, State, Failure string
		}
	}
	if err := json.Unmarshal(r.Body.Bytes(), &cat); err != nil || len(cat.Environments) != 1 ||
		cat.Environments[0].State != "STARTING" || !strings.Contains(cat.Environments[0].Failure, reason) {
		t.Errorf("catalog of STARTING environments: %s (%v), want %s with its failure", r.Body, err, envName)
	}

	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	if r := admin.do("GET", "/admin/", nil); !strings.Contains(r.Body.String(), `id="content-failure-`+envName+`"`) || !strings.Contains(r.Body.String(), reason) {
		t.Errorf("admin page does not show the failure: %s", r.Body)
	}
	if r := admin.do("GET", "/workshops/catalog/", nil); !strings.Contains(r.Body.String(), "could not be fetched") || strings.Contains(r.Body.String(), `id="start-`+envName+`"`) {
		t.Errorf("catalog page offers the workshop or hides why: %s", r.Body)
	}
	if r := admin.do("GET", "/workshops/environment/"+envName+"/", nil); r.Code != http.StatusServiceUnavailable || !strings.Contains(r.Body.String(), reason) {
		t.Errorf("catalog page request: %d %s, want 503 with the reason", r.Code, r.Body)
	}

	available.Store(true)
	r = admin.post("/admin/confirm/?action=refresh&target="+envName+"&back=/admin/", "/admin/action/",
		url.Values{"action": {"refresh"}, "target": {envName}, "back": {"/admin/"}})
	if r.Code != http.StatusSeeOther && r.Code != http.StatusFound {
		t.Fatalf("refresh: %d %s", r.Code, r.Body)
	}
	h.settle()
	const fresh = "lab-w02"
	r = h.do("GET", "/workshops/environment/"+fresh+"/request/?index_url=https%3A%2F%2Fhub.test%2F", "", robot)
	if r.Code != http.StatusOK {
		t.Fatalf("request after the refresh: %d %s", r.Code, r.Body)
	}
	var got struct{ Name string }
	json.Unmarshal(r.Body.Bytes(), &got)
	sess := h.session(got.Name)
	cred := bearer(SessionCredentialPrefix + ticket.Sign(sess.Secret, ticket.Claims{Audience: ticket.Portal,
		Session: sess.Name, User: "dashboard", Expires: h.clock.Now().Add(time.Minute)}))
	r = h.do("GET", "/workshops/session/"+sess.Name+"/content/", "", cred)
	if r.Code != http.StatusOK {
		t.Fatalf("content bundle: %d %s", r.Code, r.Body)
	}
	if files := untar(t, r.Body.Bytes()); files["workshop/content/intro.md"] != "# Published intro" {
		t.Errorf("content bundle holds %q, want the published files", files)
	}
}
