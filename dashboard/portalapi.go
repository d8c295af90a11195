package dashboard

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"time"

	"portal/ticket"
)

// sessionCredentialPrefix starts the bearer token with which a dashboard calls its own
// session's endpoints on the portal. It must equal web.SessionCredentialPrefix; it is
// copied here so that the dashboard, which also runs in a pod, does not import the
// portal's web package.
const sessionCredentialPrefix = "session."

// credentialLife is how long a credential the dashboard signs for a portal call is valid.
const credentialLife = 5 * time.Minute

// portalTimeout bounds every call to the portal but the start of the terminals.
const portalTimeout = 10 * time.Second

// terminalsStartTimeout bounds the call that starts a session's terminals: the portal
// starts a bounded number at once in the order asked, so when a whole class opens its
// terminals together the last learners wait their turn for longer than an ordinary call
// takes; a call given up would lose its place in the line. It is the portal's default
// start timeout.
const terminalsStartTimeout = 2 * time.Minute

// maxPortalBody is the most the dashboard reads of a portal answer.
const maxPortalBody = 1 << 20

// callPortal calls GET or POST <PortalURL>/workshops/session/<session>/<endpoint>/ with a
// credential valid for this session only, and returns the status and body.
func (s *Server) callPortal(ctx context.Context, method, endpoint string, body any) (int, []byte, error) {
	return s.callPortalWithin(ctx, portalTimeout, method, endpoint, body)
}

// callPortalWithin is callPortal with its own time limit.
func (s *Server) callPortalWithin(ctx context.Context, limit time.Duration, method, endpoint string, body any) (int, []byte, error) {
	ctx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return 0, nil, err
		}
		rd = bytes.NewReader(b)
	}
	u := s.cfg.PortalURL + "/workshops/session/" + s.cfg.Session + "/" + endpoint + "/"
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return 0, nil, fmt.Errorf("portal %s: %w", endpoint, err)
	}
	cred := ticket.Sign(s.cfg.Secret, ticket.Claims{Audience: ticket.Portal, Session: s.cfg.Session, User: "dashboard",
		Expires: s.now().Add(credentialLife)})
	req.Header.Set("Authorization", "Bearer "+sessionCredentialPrefix+cred)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, nil, fmt.Errorf("portal %s: %w", endpoint, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxPortalBody))
	if err != nil {
		return 0, nil, fmt.Errorf("portal %s: %w", endpoint, err)
	}
	return resp.StatusCode, b, nil
}

// relay answers the browser with the portal's JSON answer to endpoint, or 502 when the
// portal could not be reached.
func (s *Server) relay(w http.ResponseWriter, r *http.Request, method, endpoint string) {
	status, body, err := s.callPortal(r.Context(), method, endpoint, nil)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	if err != nil {
		s.log.Warn("portal call failed", "endpoint", endpoint, "err", err)
		w.WriteHeader(http.StatusBadGateway)
		w.Write([]byte(`{"error":"The training portal cannot be reached."}` + "\n"))
		return
	}
	if !json.Valid(body) {
		body = []byte(`{}`)
	}
	w.WriteHeader(status)
	w.Write(body)
}

// handleSchedule is GET /session/schedule: the session's countdown, from the portal.
func (s *Server) handleSchedule(w http.ResponseWriter, r *http.Request) {
	s.relay(w, r, http.MethodGet, "schedule")
}

// handleExtend is POST /session/extend: asks the portal for more time.
func (s *Server) handleExtend(w http.ResponseWriter, r *http.Request) {
	s.touch(false)
	s.relay(w, r, http.MethodGet, "extend")
}

// eventName is the form of a workshop event's name (Workshop/View, Terminal/Connect…).
var eventName = regexp.MustCompile(`^[A-Z][A-Za-z]{0,30}/[A-Z][A-Za-z]{0,30}$`)

// handleEvent is POST /session/event with {"name": …, "data": {…}}: an event from the
// page, forwarded to the portal.
func (s *Server) handleEvent(w http.ResponseWriter, r *http.Request) {
	var ev struct {
		Name string         `json:"name"`
		Data map[string]any `json:"data"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 16<<10)).Decode(&ev); err != nil ||
		!eventName.MatchString(ev.Name) {
		http.Error(w, "Expected {\"name\": \"Group/Name\", \"data\": {…}}.", http.StatusBadRequest)
		return
	}
	if ev.Name == "Workshop/Finish" {
		// The page leaves for the portal, which ends the session, once this answers: the
		// event must reach the portal first.
		s.pending.Add(1)
		s.send(event{ev.Name, ev.Data})
		w.WriteHeader(http.StatusNoContent)
		return
	}
	s.emit(ev.Name, ev.Data)
	w.WriteHeader(http.StatusAccepted)
}

// emit sends a workshop event to the portal in the background; failures are logged.
func (s *Server) emit(name string, data map[string]any) {
	s.emitAll(event{name, data})
}

// event is a workshop event for the portal.
type event struct {
	name string
	data map[string]any
}

// emitAll sends workshop events to the portal in the background, in one call, so that
// they arrive in their order and are recorded together; failures are logged.
func (s *Server) emitAll(events ...event) {
	s.pending.Add(1)
	go s.send(events...)
}

// send delivers events to the portal, one as {"event": …} and several as {"events": […]},
// and marks the call done in s.pending.
func (s *Server) send(events ...event) {
	defer s.pending.Done()
	list := make([]map[string]any, len(events))
	for i, e := range events {
		data := e.data
		if data == nil {
			data = map[string]any{}
		}
		list[i] = map[string]any{"name": e.name, "data": data}
	}
	body := map[string]any{"events": list}
	if len(list) == 1 {
		body = map[string]any{"event": list[0]}
	}
	status, b, err := s.callPortal(context.Background(), http.MethodPost, "event", body)
	if err == nil && status >= 300 {
		err = fmt.Errorf("status %d: %.200s", status, b)
	}
	if err != nil {
		s.log.Warn("event not delivered", "event", events[0].name, "events", len(events), "err", err)
	}
}

// refreshParams fetches the session's request parameters once the session has an owner,
// and renders the instructions again with them. It tries at most every 5 seconds until
// the portal gives an answer with an owner.
func (s *Server) refreshParams(ctx context.Context) {
	now := s.now()
	s.mu.Lock()
	if s.paramsDone || now.Sub(s.paramsTried) < 5*time.Second {
		s.mu.Unlock()
		return
	}
	s.paramsTried = now
	s.mu.Unlock()

	status, b, err := s.callPortal(ctx, http.MethodGet, "parameters", nil)
	if err != nil {
		s.log.Warn("session parameters", "err", err)
		return
	}
	var doc struct {
		Owner      string `json:"owner"`
		Parameters []struct {
			Name  string `json:"name"`
			Value string `json:"value"`
		} `json:"parameters"`
	}
	switch {
	case status == http.StatusNotFound:
		s.mu.Lock()
		s.paramsDone = true // a portal without the endpoint: no parameters
		s.mu.Unlock()
		return
	case status != http.StatusOK || json.Unmarshal(b, &doc) != nil:
		s.log.Warn("session parameters", "status", status)
		return
	case doc.Owner == "":
		return // not allocated yet
	}
	params := map[string]string{}
	for _, p := range doc.Parameters {
		params[p.Name] = p.Value
	}
	if err := s.setParams(params); err != nil {
		s.log.Error("render instructions with parameters", "err", err)
	}
}

// setParams renders the instructions again with the request parameters (as escaped text;
// built-in names win).
func (s *Server) setParams(params map[string]string) error {
	s.mu.Lock()
	src := s.source
	s.mu.Unlock()
	w, err := src.render(s.cfg.Vars, params)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.content, s.params, s.paramsDone = w, params, true
	return nil
}
