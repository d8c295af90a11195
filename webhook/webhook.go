// Package webhook delivers analytics events as JSON POSTs: every event to the portal's
// webhook, and session events also to the session's own analytics_url. Sender delivers
// from memory: it never blocks the caller, and failures are logged, not retried. Outbox
// and Dispatcher deliver from the store's outbox instead: signed, retried, and kept
// across a restart.
package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"portal"
)

// Portal identifies the portal in every payload.
type Portal struct {
	Name       string
	UID        string
	Generation int64
	URL        string
}

// Config configures a Sender.
type Config struct {
	// Portal identifies the portal; when Settings is set, its name, uid and generation are
	// read from there at each event instead (the uid may be filled in after start).
	Portal   Portal
	Settings *portal.PortalSettings
	// URL is the portal-wide webhook ("" = none).
	URL string
	// Client sends the requests (default: a client with a 2.5 s timeout).
	Client *http.Client
	Logger *slog.Logger
	// Queue is how many events may wait for delivery before new ones are dropped.
	Queue int
	// Workers is how many deliveries run at once.
	Workers int
	// Delivered, when set, is told the outcome of each delivery: ok is false when the
	// request could not be sent or was answered with a status of 400 or more.
	Delivered func(ok bool)
}

var _ portal.EventSink = (*Sender)(nil)

// Sender is a portal.EventSink that posts events to webhooks.
type Sender struct {
	cfg   Config
	queue chan delivery
	wg    sync.WaitGroup
	once  sync.Once
}

type delivery struct {
	url  string
	body []byte
}

// New starts a Sender's workers; Close stops them after the queue drains.
func New(cfg Config) *Sender {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 2500 * time.Millisecond}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Queue <= 0 {
		cfg.Queue = 4096
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 4
	}
	s := &Sender{cfg: cfg, queue: make(chan delivery, cfg.Queue)}
	for range cfg.Workers {
		s.wg.Add(1)
		go s.work()
	}
	return s
}

// Emit queues the event for every webhook it goes to. It never blocks: when the queue is
// full the event is dropped and logged.
func (s *Sender) Emit(e portal.Event) {
	urls := destinations(s.cfg.URL, e)
	if len(urls) == 0 {
		return
	}
	body, err := json.Marshal(Payload(identity(s.cfg.Portal, s.cfg.Settings), e))
	if err != nil {
		s.cfg.Logger.Error("encode event", "event", e.Name, "err", err)
		return
	}
	for _, u := range urls {
		select {
		case s.queue <- delivery{url: u, body: body}:
		default:
			s.cfg.Logger.Warn("event queue full; event dropped", "event", e.Name, "url", redact(u))
		}
	}
}

// destinations returns the webhooks an event goes to: the portal's (global, "" = none),
// and the session's own for a session event.
func destinations(global string, e portal.Event) []string {
	var urls []string
	if global != "" {
		urls = append(urls, global)
	}
	if e.Kind == portal.SessionEvent && e.AnalyticsURL != "" && e.AnalyticsURL != global {
		urls = append(urls, e.AnalyticsURL)
	}
	return urls
}

// identity returns p with the name, uid and generation of st when st is set.
func identity(p Portal, st *portal.PortalSettings) Portal {
	if st != nil {
		p.Name, p.UID, p.Generation = st.Name, st.UID, st.Generation
	}
	return p
}

// Close stops accepting work, delivers what is queued (each within the client timeout),
// and returns.
func (s *Sender) Close() error {
	s.once.Do(func() { close(s.queue) })
	s.wg.Wait()
	return nil
}

func (s *Sender) work() {
	defer s.wg.Done()
	for d := range s.queue {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.url, bytes.NewReader(d.body))
		if err != nil {
			cancel()
			s.cfg.Logger.Warn("bad webhook URL", "url", redact(d.url))
			continue
		}
		req.Header.Set("Content-Type", "application/json")
		resp, err := s.cfg.Client.Do(req)
		ok := false
		if err != nil {
			s.cfg.Logger.Warn("webhook delivery failed", "url", redact(d.url), "err", redactErr(err))
		} else {
			resp.Body.Close()
			ok = resp.StatusCode < 400
			if !ok {
				s.cfg.Logger.Warn("webhook refused event", "url", redact(d.url), "status", resp.StatusCode)
			}
		}
		cancel()
		if s.cfg.Delivered != nil {
			s.cfg.Delivered(ok)
		}
	}
}

// redact returns a webhook URL fit for the log: user-info, query and fragment, which may
// hold the webhook's credentials, are replaced with "…"; a URL that does not parse is not
// shown at all.
func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(invalid URL)"
	}
	var b strings.Builder
	b.WriteString(u.Scheme + "://")
	if u.User != nil {
		b.WriteString("…@")
	}
	b.WriteString(u.Host + u.EscapedPath())
	if u.RawQuery != "" || u.ForceQuery {
		b.WriteString("?…")
	}
	if u.Fragment != "" {
		b.WriteString("#…")
	}
	return b.String()
}

// Redact is redact for other packages' pages.
func Redact(raw string) string { return redact(raw) }

// redactErr returns the text of a delivery error without the URL the HTTP client puts in
// it (url.Error), which would show the credentials redact hides.
func redactErr(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + " " + redact(ue.URL) + ": " + ue.Err.Error()
	}
	return err.Error()
}

type portalUser struct {
	Name string `json:"name"`
	URL  string `json:"url"`
}

type portalFull struct {
	Name       string `json:"name"`
	UID        string `json:"uid"`
	Generation int64  `json:"generation"`
	URL        string `json:"url"`
}

type userEvent struct {
	Name      string         `json:"name"`
	Timestamp string         `json:"timestamp"`
	User      string         `json:"user"`
	Data      map[string]any `json:"data"`
}

type envEvent struct {
	Name        string         `json:"name"`
	Timestamp   string         `json:"timestamp"`
	Environment string         `json:"environment"`
	Workshop    string         `json:"workshop"`
	Data        map[string]any `json:"data"`
}

type sessionEvent struct {
	Name        string         `json:"name"`
	Timestamp   string         `json:"timestamp"`
	User        *string        `json:"user"`
	Session     string         `json:"session"`
	Environment string         `json:"environment"`
	Workshop    string         `json:"workshop"`
	Data        map[string]any `json:"data"`
}

// Timestamp formats an event time as the reference does: microseconds and "+00:00".
func Timestamp(t time.Time) string {
	return t.UTC().Format("2006-01-02T15:04:05.000000") + "+00:00"
}

// Payload returns the JSON document of an event in the reference's shape for its kind.
func Payload(p Portal, e portal.Event) any {
	data := e.Data
	if data == nil {
		data = map[string]any{}
	}
	ts := Timestamp(e.Time)
	switch e.Kind {
	case portal.UserEvent:
		return struct {
			Portal portalUser `json:"portal"`
			Event  userEvent  `json:"event"`
		}{portalUser{p.Name, p.URL}, userEvent{e.Name, ts, e.User, data}}
	case portal.EnvironmentEvent:
		return struct {
			Portal portalFull `json:"portal"`
			Event  envEvent   `json:"event"`
		}{portalFull{p.Name, p.UID, p.Generation, p.URL}, envEvent{e.Name, ts, e.Environment, e.Workshop, data}}
	default:
		var user *string
		if e.User != "" {
			u := e.User
			user = &u
		}
		return struct {
			Portal portalFull   `json:"portal"`
			Event  sessionEvent `json:"event"`
		}{portalFull{p.Name, p.UID, p.Generation, p.URL}, sessionEvent{e.Name, ts, user, e.Session, e.Environment, e.Workshop, data}}
	}
}

// Multi fans an event out to several sinks.
type Multi []portal.EventSink

func (m Multi) Emit(e portal.Event) {
	for _, s := range m {
		s.Emit(e)
	}
}
