package web

import (
	"net/http"
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
