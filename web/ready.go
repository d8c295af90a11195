package web

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"portal"
)

// readyTimeout bounds each readiness check, so that a hung store or API server makes the
// probe fail rather than hang.
const readyTimeout = 3 * time.Second

// handleReady answers /readyz: 200 "ok" once the store answers with its schema in place
// (the portal's settings are readable: migrations are done) and the Ready check passes;
// else 503 with {"error": …} naming what is not ready. /healthz, by contrast, only says the
// process serves HTTP.
func (s *Server) handleReady(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	err := s.store.View(ctx, func(tx portal.Tx) error {
		_, err := tx.Setting("portal.readyz")
		if errors.Is(err, portal.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %w", portal.Errorf(portal.EUNAVAILABLE, "Not ready: the store does not answer"), err))
		return
	}
	if s.ready != nil {
		if err := s.ready(ctx); err != nil {
			s.fail(w, r, fmt.Errorf("%w: %w", portal.Errorf(portal.EUNAVAILABLE, "Not ready: the provisioner is not usable"), err))
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	fmt.Fprint(w, "ok")
}
