package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"portal/browsertest"
)

// A page on another site cannot end a learner's session by sending the browser to the
// session's end-session URL: the portal asks first. Logging out of the portal closes the
// session host to the browser, though its dashboard cookie is still there.
func TestCrossSiteEndAndLogoutInBrowser(t *testing.T) {
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if to := r.URL.Query().Get("to"); to != "" {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>Other site</title><h1 id="other">Another site</h1>`)
	}))
	defer other.Close()
	p := startPortal(t, t.TempDir(), fmt.Sprintf(dashboardConfig, other.URL))
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	var r requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url="+url.QueryEscape(other.URL+"/"), 200, &r)
	host := r.Name + ".localhost:" + p.port
	pg := browsertest.New(t).NewPage(t)
	pg.RunTimeout(60*time.Second,
		chromedp.Navigate(p.url+r.URL),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
	)
	pg.Screenshot("session-page")

	// The other site redirects the learner's browser to the end-session URL.
	var location string
	pg.RunTimeout(30*time.Second,
		chromedp.Navigate(other.URL+"/?to="+url.QueryEscape(p.url+"/workshops/session/"+r.Name+"/delete/")),
		chromedp.WaitVisible("#end-form", chromedp.ByQuery),
		chromedp.Location(&location),
	)
	pg.Screenshot("asked-to-confirm")
	if want := p.url + "/workshops/session/" + r.Name + "/delete/"; location != want {
		t.Errorf("at %s, want the confirmation at %s", location, want)
	}
	var us userSessions
	p.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 1 || us.Sessions[0].Name != r.Name {
		t.Fatalf("after the other site's redirect the user has %+v, want %s still running", us.Sessions, r.Name)
	}

	// The dashboard in the tab itself, then a logout on the portal.
	var heading string
	pg.RunTimeout(30*time.Second,
		chromedp.Navigate(freshFrame(t, pg, p, p.url+"/workshops/session/"+r.Name+"/")),
		chromedp.WaitVisible(".page-body h1", chromedp.ByQuery),
		chromedp.Text(".page-body h1", &heading, chromedp.ByQuery),
	)
	if heading != "Welcome to the sample workshop" {
		t.Fatalf("dashboard heading %q", heading)
	}
	pg.RunTimeout(30*time.Second,
		chromedp.Navigate(p.url+"/accounts/logout/"),
		chromedp.WaitVisible("#logout-submit", chromedp.ByQuery),
		chromedp.Click("#logout-submit", chromedp.ByQuery),
		chromedp.WaitVisible("#login-form", chromedp.ByQuery),
	)
	// The session host no longer admits the browser: it is sent to log in on the portal.
	pg.RunTimeout(30*time.Second,
		chromedp.Navigate("http://"+host+"/workshop/content/01-welcome"),
		chromedp.WaitVisible("#login-form", chromedp.ByQuery),
		chromedp.Location(&location),
	)
	pg.Screenshot("after-logout")
	if !strings.HasPrefix(location, p.url+"/") {
		t.Errorf("after logout the session host left the browser at %s, want the portal's login", location)
	}
}

// The dashboard's Finish, clicked inside the session page's frame, ends the session in one
// confirmed click and lands the whole tab on index_url with notification=session-deleted.
func TestFinishInFrameInBrowser(t *testing.T) {
	requireAssets(t)
	index := hubServer(t)
	p := startPortal(t, t.TempDir(), fmt.Sprintf(dashboardConfig, index.URL))
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	var r requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url="+url.QueryEscape(index.URL+"/"), 200, &r)
	host := r.Name + ".localhost:" + p.port
	pg := browsertest.New(t).NewPage(t)
	pg.RunTimeout(60*time.Second,
		page.BringToFront(),
		chromedp.Navigate(p.url+r.URL),
		chromedp.WaitVisible("iframe", chromedp.ByQuery),
	)
	finishInFrame(t, pg, host)
	var location string
	pg.RunTimeout(30*time.Second,
		chromedp.WaitVisible("#hub", chromedp.ByID),
		chromedp.Location(&location),
	)
	pg.Screenshot("finished")
	if want := index.URL + "/?notification=session-deleted"; location != want {
		t.Errorf("after Finish, at %s, want %s", location, want)
	}
	var us userSessions
	p.get(tok, "/workshops/user/"+r.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 0 {
		t.Errorf("after Finish the user still has %+v", us.Sessions)
	}
}

// finishInFrame clicks the dashboard's Finish, and its confirmation, inside the session
// page's frame from host.
func finishInFrame(t *testing.T, pg *browsertest.Page, host string) {
	t.Helper()
	// The frame is another site's document: act in its own target.
	var frame target.ID
	eventually(t, 30*time.Second, "the frame's dashboard", func() bool {
		infos, err := chromedp.Targets(pg.Ctx)
		if err != nil {
			return false
		}
		for _, in := range infos {
			if in.Type == "iframe" && strings.HasPrefix(in.URL, "http://"+host+"/workshop/content/") {
				frame = in.TargetID
				return true
			}
		}
		return false
	})
	// The frame's context lives as long as the test: ending it while the tab navigates
	// away from the frame stalls the tab.
	fctx, cancel := chromedp.NewContext(pg.Ctx, chromedp.WithTargetID(frame))
	t.Cleanup(cancel)
	ctx, cancelRun := context.WithTimeout(fctx, 30*time.Second)
	defer cancelRun()
	if err := chromedp.Run(ctx,
		chromedp.WaitVisible("#finish", chromedp.ByID),
		chromedp.Click("#finish", chromedp.ByID),
		chromedp.Poll(`document.getElementById("finish").textContent === "Finish now?"`, nil),
		chromedp.Click("#finish", chromedp.ByID),
	); err != nil {
		t.Fatalf("Finish in the frame: %v", err)
	}
}

// Two learners' activation links opened in one browser (a shared classroom computer): the
// portal's login is the second learner's, yet the first learner's Finish, in the first tab,
// ends the first session and lands on its index_url; the second session goes on.
func TestFinishTwoLearnersOneBrowser(t *testing.T) {
	requireAssets(t)
	index := hubServer(t)
	p := startPortal(t, t.TempDir(), fmt.Sprintf(dashboardConfig, index.URL))
	tok := p.token()
	env := p.envNamed(tok, "lab-markdown-sample")
	var a, b requestResponse
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url="+url.QueryEscape(index.URL+"/"), 200, &a)
	p.get(tok, "/workshops/environment/"+env+"/request/?index_url="+url.QueryEscape(index.URL+"/"), 200, &b)
	first := browsertest.New(t).NewPage(t)
	first.RunTimeout(60*time.Second, chromedp.Navigate(p.url+a.URL), chromedp.WaitVisible("iframe", chromedp.ByQuery))
	// The second learner's activation link, opened in the same browser, leaves the
	// browser logged in to the portal as the second learner: the portal's login cookie is
	// the second learner's.
	resp, err := p.client(nil, false).Get(p.url + b.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	var login *http.Cookie
	for _, c := range resp.Cookies() {
		if c.Name == "portal_login" {
			login = c
		}
	}
	if login == nil {
		t.Fatalf("the second activation set no login cookie: %d %v", resp.StatusCode, resp.Header)
	}
	first.Run(network.SetCookie(login.Name, login.Value).WithURL(p.url + "/").WithHTTPOnly(true))
	finishInFrame(t, first, a.Name+".localhost:"+p.port)
	var location string
	eventually(t, 60*time.Second, "the first tab to land on the hub", func() bool {
		ctx, cancel := context.WithTimeout(first.Ctx, 5*time.Second)
		defer cancel()
		return chromedp.Run(ctx, chromedp.Location(&location)) == nil && strings.HasPrefix(location, index.URL)
	})
	first.Screenshot("first-finished")
	if want := index.URL + "/?notification=session-deleted"; location != want {
		t.Errorf("after the first learner's Finish, at %s, want %s", location, want)
	}
	var us userSessions
	p.get(tok, "/workshops/user/"+a.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 0 {
		t.Errorf("after Finish the first learner still has %+v", us.Sessions)
	}
	p.get(tok, "/workshops/user/"+b.User+"/sessions/", 200, &us)
	if len(us.Sessions) != 1 {
		t.Errorf("after the first learner's Finish the second has %+v, want their session", us.Sessions)
	}
}
