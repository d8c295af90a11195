package loadtest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The headers of the portal's webhook deliveries (README, "Webhooks").
const (
	eventHeader     = "X-Portal-Event-Id"
	signatureHeader = "X-Portal-Signature"
)

// markerWorkshop is the second workshop of a spawned portal with the tool's webhook: after
// the scenario the tool requests one session of it, and the portal sends the webhook
// deliveries of one URL in the order they were added, so its Session/Pending arriving
// means every delivery added before has been posted.
const markerWorkshop = "webhook-marker"

// withWebhook returns the portal configuration config with the analytics webhook url,
// signed with secret, and the marker workshop (capacity 1, nothing reserved).
func withWebhook(config, url, secret string) string {
	config = strings.Replace(config, "  workshops:\n", fmt.Sprintf("  analytics:\n    webhook:\n      url: %q\n      secret: %q\n  workshops:\n",
		url, secret), 1)
	config = strings.Replace(config, "\n---\n", fmt.Sprintf("\n  - name: %s\n    capacity: 1\n    reserved: 0\n    expires: 60m\n---\n", markerWorkshop), 1)
	return config + fmt.Sprintf(`---
apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: %s
spec:
  title: Webhook marker
  description: The load tool's last session, whose events follow every other
`, markerWorkshop)
}

// verifySignature checks the value of signatureHeader, "t=<unix seconds>,v1=<hex>", for
// body: v1 must be the HMAC-SHA256, keyed with secret, of "<t>.<body>".
func verifySignature(secret, header string, body []byte) error {
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	if _, err := strconv.ParseInt(ts, 10, 64); err != nil || sig == "" {
		return fmt.Errorf("signature header %q: want t=<unix seconds>,v1=<hex>", header)
	}
	got, err := hex.DecodeString(sig)
	if err != nil {
		return fmt.Errorf("signature header %q: v1 is not hex", header)
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	if !hmac.Equal(got, mac.Sum(nil)) {
		return errors.New("signature does not verify")
	}
	return nil
}

// receiver is the tool's webhook: it verifies each post's signature, counts the posts of
// each event id, and measures each event's lag from its timestamp to its arrival.
type receiver struct {
	secret string
	now    func() time.Time

	mu       sync.Mutex
	posts    int
	badSig   int
	firstSig string // why the first bad signature failed
	events   map[string]*receivedEvent
	lags     []time.Duration
	pending  map[string]bool // the sessions whose Session/Pending arrived
	arrived  chan struct{}   // signalled after each post
}

type receivedEvent struct {
	name     string
	received int
}

func newReceiver(secret string) *receiver {
	return &receiver{secret: secret, now: time.Now, events: map[string]*receivedEvent{},
		pending: map[string]bool{}, arrived: make(chan struct{}, 1)}
}

// ServeHTTP accepts every post (204): an event is counted even when its signature is bad.
func (h *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	arrived := h.now()
	var doc struct {
		Event struct {
			Name      string `json:"name"`
			Timestamp string `json:"timestamp"`
			Session   string `json:"session"`
		} `json:"event"`
	}
	json.Unmarshal(body, &doc)
	sigErr := verifySignature(h.secret, r.Header.Get(signatureHeader), body)
	id := r.Header.Get(eventHeader)
	h.mu.Lock()
	defer h.mu.Unlock()
	h.posts++
	if sigErr != nil {
		if h.badSig == 0 {
			h.firstSig = sigErr.Error()
		}
		h.badSig++
	}
	e := h.events[id]
	if e == nil {
		e = &receivedEvent{name: doc.Event.Name}
		h.events[id] = e
		// The payload's time has microseconds and "+00:00" (webhook.Timestamp).
		if at, err := time.Parse("2006-01-02T15:04:05.999999-07:00", doc.Event.Timestamp); err == nil {
			h.lags = append(h.lags, arrived.Sub(at))
		}
	}
	e.received++
	if doc.Event.Name == "Session/Pending" {
		h.pending[doc.Event.Session] = true
	}
	select {
	case h.arrived <- struct{}{}:
	default:
	}
	w.WriteHeader(http.StatusNoContent)
}

// waitPending waits until session's Session/Pending has arrived, deadline passes or ctx
// ends.
func (h *receiver) waitPending(ctx context.Context, session string, deadline time.Time) {
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	for {
		h.mu.Lock()
		done := h.pending[session]
		h.mu.Unlock()
		if done {
			return
		}
		select {
		case <-h.arrived:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// duplicates returns the ids of the events received more than once, sorted.
func (h *receiver) duplicates() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var ids []string
	for id, e := range h.events {
		if e.received > 1 {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// serveReceiver starts h on a free loopback port and returns its URL and a function that
// stops it.
func serveReceiver(h *receiver) (string, func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("webhook receiver: %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	return "http://" + ln.Addr().String() + "/hook", func() { srv.Close() }, nil
}

// checkWebhook requests the marker session, waits up to Timeout for its events (then
// every delivery added before them has arrived), and records the webhook's checks and
// figures: events by name, delivery lag p50 and p99.
func (r *run) checkWebhook(ctx context.Context) {
	h := r.hooks
	envs, _, err := r.c.catalog(ctx)
	env := ""
	for _, e := range envs {
		if e.Workshop.Name == markerWorkshop {
			env = e.Name
		}
	}
	if err == nil && env == "" {
		err = fmt.Errorf("no environment of workshop %s in the catalog", markerWorkshop)
	}
	var g grant
	if err == nil {
		g, _, err = r.c.request(ctx, env, "", "webhook-marker@loadtest.test")
	}
	if err != nil {
		r.rep.check("webhook: every delivery arrived", false, "request the marker session: %v", err)
		return
	}
	wait := r.cfg.Timeout
	h.waitPending(ctx, g.Name, time.Now().Add(wait))
	h.mu.Lock()
	marked, posts, events, badSig, firstSig := h.pending[g.Name], h.posts, len(h.events), h.badSig, h.firstSig
	counts := map[string]int{}
	for _, e := range h.events {
		counts[e.name]++
	}
	lags := slices.Clone(h.lags)
	h.mu.Unlock()
	r.rep.check("webhook: every delivery arrived", marked,
		"%d events in %d posts; the marker's events, sent after every earlier delivery, arrived: %v (waited up to %s)", events, posts, marked, wait)
	r.rep.check("webhook: signatures verify", posts > 0 && badSig == 0, "%d of %d posts without a valid signature %s", badSig, posts, firstSig)
	dups := h.duplicates()
	r.rep.check("webhook: no event twice", len(dups) == 0, "%d event ids received more than once %v", len(dups), dups)
	for name, n := range counts {
		r.rep.figure("webhook_events_"+name, float64(n))
	}
	if len(lags) > 0 {
		slices.Sort(lags)
		r.rep.figure("webhook_lag_p50_ms", ms(lags[len(lags)*50/100]))
		r.rep.figure("webhook_lag_p99_ms", ms(lags[min(len(lags)-1, len(lags)*99/100)]))
	}
}
