package web

import (
	"net/http"
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
}

// handleAdminWebhooks is GET /admin/webhooks/: the webhook deliveries that failed, being
// retried or given up, most recent first.
func (s *Server) handleAdminWebhooks(w http.ResponseWriter, r *http.Request, u *portal.User) {
	d := adminWebhooks{Outbox: s.outbox != nil, Now: s.now()}
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
