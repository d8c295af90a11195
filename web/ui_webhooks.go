package web

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"portal"
	"portal/webhook"
)

// webhookRows is how many failed deliveries the webhooks page shows.
const webhookRows = 200

// deliveryRow is one delivery of the webhooks page.
type deliveryRow struct {
	D *portal.Delivery
	// URL is the webhook without the credentials it may carry.
	URL string
}

// adminWebhooks is the webhooks page's data.
type adminWebhooks struct {
	Rows []deliveryRow
	// Outbox is false when the portal's store keeps no outbox.
	Outbox bool
	Now    time.Time
	// Retried is the delivery just made due again (0: none).
	Retried int64
}

// handleAdminWebhooks is GET /admin/webhooks/: the webhook deliveries that failed, being
// retried or given up, most recent first.
func (s *Server) handleAdminWebhooks(w http.ResponseWriter, r *http.Request, u *portal.User) {
	d := adminWebhooks{Outbox: s.outbox != nil, Now: s.now()}
	d.Retried, _ = strconv.ParseInt(r.URL.Query().Get("retried"), 10, 64)
	if s.outbox != nil {
		ds, err := s.outbox.FailedDeliveries(r.Context(), webhookRows)
		if err != nil {
			s.uiFail(w, r, u, err)
			return
		}
		for _, x := range ds {
			d.Rows = append(d.Rows, deliveryRow{D: x, URL: webhook.Redact(x.URL)})
		}
	}
	v := s.adminView(w, r, u, "Webhooks", "webhooks")
	v.Data = d
	s.show(w, http.StatusOK, "webhooks.html", v)
}

var errNoGivenUpDelivery = &portal.Error{Code: portal.ENOTFOUND,
	Message: "There is no such given-up delivery: it may have been retried already, or removed."}

// handleAdminWebhookRetry is POST /admin/webhooks/ with retry=<delivery id>: the given-up
// delivery is due again at once (one more attempt; a failure gives it up again), and the
// page shows it being retried.
func (s *Server) handleAdminWebhookRetry(w http.ResponseWriter, r *http.Request, u *portal.User) {
	id, err := strconv.ParseInt(r.PostForm.Get("retry"), 10, 64)
	if err != nil || id <= 0 || s.outbox == nil {
		s.uiFail(w, r, u, errNoGivenUpDelivery)
		return
	}
	if err := s.outbox.RetryDelivery(r.Context(), id, s.now()); err != nil {
		if errors.Is(err, portal.ErrNotFound) {
			err = errNoGivenUpDelivery
		}
		s.uiFail(w, r, u, err)
		return
	}
	s.log.Info("admin action", "user", u.Name, "action", "retry webhook delivery", "target", id)
	redirect(w, r, "/admin/webhooks/?retried="+strconv.FormatInt(id, 10))
}
