// Package webhook delivers analytics events as JSON POSTs: every event to the portal's
// webhook, and session events also to the session's own analytics_url. Outbox turns an
// event into deliveries that the scheduler keeps in the store's outbox with the change
// that caused it; Dispatcher sends them, signed and retried, from every replica.
package webhook

import (
	"errors"
	"net/url"
	"strings"
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
