package web

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"portal"
)

// The webhooks page lists the deliveries that failed, retrying and given up, with their
// attempts, last error and next attempt, and never a webhook's credentials; delivered
// and untried deliveries are not listed.
func TestAdminWebhooksListsFailedDeliveries(t *testing.T) {
	h := newHarness(t, nil)
	ob := h.store.(portal.Dispatch)
	ds := []*portal.Delivery{
		{Event: "ev-retrying", Name: "Session/Started", URL: "https://user:s3cret@hooks.test/a?token=s3cret", Body: []byte("{}"), Created: t0},
		{Event: "ev-given-up", Name: "Session/Deleted", URL: "https://hooks.test/b", Body: []byte("{}"), Created: t0},
		{Event: "ev-delivered", Name: "Session/Created", URL: "https://hooks.test/c", Body: []byte("{}"), Created: t0},
		{Event: "ev-untried", Name: "User/Create", URL: "https://hooks.test/a", Body: []byte("{}"), Created: t0},
	}
	if err := h.store.Update(h.ctx, func(tx portal.Tx) error { return tx.(portal.Outbox).AddDeliveries(ds) }); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.ClaimDeliveries(h.ctx, "c", t0, t0.Add(time.Minute), 10); err != nil {
		t.Fatal(err)
	}
	next := time.Date(2031, 2, 3, 4, 5, 0, 0, time.UTC)
	for _, f := range []struct {
		d        *portal.Delivery
		failure  string
		nextTime time.Time
	}{{ds[0], "answered 500 Internal Server Error", next}, {ds[1], "connection refused", time.Time{}}, {ds[2], "", time.Time{}}} {
		if err := ob.FinishDelivery(h.ctx, f.d.ID, "c", f.failure, f.nextTime); err != nil {
			t.Fatal(err)
		}
	}

	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	if w := admin.do("GET", "/admin/", nil); !strings.Contains(w.Body.String(), `href="/admin/webhooks/"`) {
		t.Error("the admin page has no link to the webhooks page")
	}
	w := admin.do("GET", "/admin/webhooks/", nil)
	mustStatus(t, w, http.StatusOK)
	body := w.Body.String()
	for _, want := range []string{
		"Session/Started", "ev-retrying", "https://…@hooks.test/a?…", "answered 500 Internal Server Error", "2031-02-03 04:05 UTC",
		"Session/Deleted", "ev-given-up", "connection refused", "given up",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page does not show %q", want)
		}
	}
	for _, absent := range []string{"s3cret", "ev-delivered", "ev-untried"} {
		if strings.Contains(body, absent) {
			t.Errorf("the page shows %q", absent)
		}
	}
	if !strings.Contains(body, `id="delivery-`) || strings.Index(body, "ev-given-up") > strings.Index(body, "ev-retrying") {
		t.Error("the most recent delivery is not first")
	}
}

// "Retry now" on the webhooks page, a form with the admin's CSRF token, makes a given-up
// delivery due again at once, keeping its attempts; it refuses a delivery not given up,
// and a form without the token.
func TestAdminWebhooksRetryGivenUp(t *testing.T) {
	h := newHarness(t, nil)
	ob := h.store.(portal.Dispatch)
	ds := []*portal.Delivery{
		{Event: "ev-given-up", Name: "Session/Deleted", URL: "https://hooks.test/b", Body: []byte("{}"), Created: t0},
		{Event: "ev-retrying", Name: "Session/Started", URL: "https://hooks.test/a", Body: []byte("{}"), Created: t0},
	}
	if err := h.store.Update(h.ctx, func(tx portal.Tx) error { return tx.(portal.Outbox).AddDeliveries(ds) }); err != nil {
		t.Fatal(err)
	}
	if _, err := ob.ClaimDeliveries(h.ctx, "c", t0, t0.Add(time.Minute), 10); err != nil {
		t.Fatal(err)
	}
	later := t0.Add(time.Hour)
	if err := ob.FinishDelivery(h.ctx, ds[0].ID, "c", "connection refused", time.Time{}); err != nil {
		t.Fatal(err)
	}
	if err := ob.FinishDelivery(h.ctx, ds[1].ID, "c", "answered 500", later); err != nil {
		t.Fatal(err)
	}
	admin := h.browser()
	location(t, admin.login(h.creds.AdminUsername, h.creds.AdminPassword), "/")
	body := admin.do("GET", "/admin/webhooks/", nil).Body.String()
	if !strings.Contains(body, fmt.Sprintf(`id="retry-%d"`, ds[0].ID)) {
		t.Fatal("no Retry now button for the given-up delivery")
	}
	if strings.Contains(body, fmt.Sprintf(`id="retry-%d"`, ds[1].ID)) {
		t.Error("a Retry now button for a delivery still being retried")
	}

	retry := func(id int64) url.Values { return url.Values{"retry": {fmt.Sprint(id)}} }
	w := admin.do("POST", "/admin/webhooks/", retry(ds[0].ID))
	mustStatus(t, w, http.StatusForbidden)
	if f, _ := ob.FailedDeliveries(h.ctx, 10); len(f) != 2 || !f[1].Failed {
		t.Fatalf("a form without its CSRF token retried: %+v", f)
	}

	location(t, admin.post("/admin/webhooks/", "/admin/webhooks/", retry(ds[0].ID)), fmt.Sprintf("/admin/webhooks/?retried=%d", ds[0].ID))
	got, err := ob.ClaimDeliveries(h.ctx, "c2", h.clock.Now(), h.clock.Now().Add(time.Minute), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != ds[0].ID || got[0].Attempts != 1 || got[0].Failed {
		t.Fatalf("due after the retry: %+v", got)
	}
	if !strings.Contains(admin.do("GET", fmt.Sprintf("/admin/webhooks/?retried=%d", ds[0].ID), nil).Body.String(), `id="retried"`) {
		t.Error("the page does not say the delivery is being retried")
	}
	for _, id := range []int64{ds[0].ID, ds[1].ID, 1 << 40} {
		w := admin.post("/admin/webhooks/", "/admin/webhooks/", retry(id))
		mustStatus(t, w, http.StatusNotFound)
		if !strings.Contains(w.Body.String(), "no such given-up delivery") {
			t.Errorf("retry %d: %s", id, w.Body)
		}
	}
}
