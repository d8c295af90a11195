package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"time"

	"portal"
)

// Headers of every delivery from the outbox.
const (
	// EventHeader carries the event's id: the same in every attempt of a delivery and in
	// the deliveries of one event to several webhooks, so that a receiver can drop an
	// event it has already seen.
	EventHeader = "X-Portal-Event-Id"
	// SignatureHeader carries "t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">"
	// when the portal has a webhook secret (see Sign).
	SignatureHeader = "X-Portal-Signature"
)

// Sign returns the value of SignatureHeader for body sent at t with secret: the unix
// time in seconds, and the lower-case hex HMAC-SHA256, keyed with the secret, of the
// decimal time, a full stop, and the body exactly as sent.
func Sign(secret string, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(ts + "."))
	mac.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac.Sum(nil))
}

// Outbox turns events into the deliveries a scheduler keeps in the store's outbox.
type Outbox struct {
	// Portal identifies the portal; Settings, when set, overrides its name, uid and
	// generation at each event.
	Portal   Portal
	Settings *portal.PortalSettings
	// URL is the portal-wide webhook ("" = none).
	URL string
}

// Deliveries returns one delivery of e for each webhook it goes to (none when it goes to
// none), sharing a new event id and the body in the reference's shape.
func (o Outbox) Deliveries(e portal.Event) ([]*portal.Delivery, error) {
	urls := destinations(o.URL, e)
	if len(urls) == 0 {
		return nil, nil
	}
	body, err := json.Marshal(Payload(identity(o.Portal, o.Settings), e))
	if err != nil {
		return nil, fmt.Errorf("encode event %s: %w", e.Name, err)
	}
	id := rand.Text()
	ds := make([]*portal.Delivery, len(urls))
	for i, u := range urls {
		ds[i] = &portal.Delivery{Event: id, Name: e.Name, URL: u, Body: body, Created: e.Time}
	}
	return ds, nil
}

// DispatcherConfig configures a Dispatcher.
type DispatcherConfig struct {
	Store portal.Dispatch
	// Secret signs every delivery ("" = no SignatureHeader).
	Secret string
	// Client sends the requests (default: a client with a 10 s timeout). Its timeout must
	// be shorter than Claim.
	Client *http.Client
	Clock  portal.Clock
	Logger *slog.Logger
	// Delivered, when set, is told the outcome of each attempt: ok is false when the
	// request could not be sent or was answered with a status of 400 or more.
	Delivered func(ok bool)
	// Attempts is how many attempts a delivery gets before it is given up (default 12).
	Attempts int
	// Backoff is the wait after the first failed attempt (default 1 s); it doubles after
	// each further one up to MaxBackoff (default 10 min).
	Backoff, MaxBackoff time.Duration
	// Claim is how long a claimed delivery stays with this dispatcher (default 1 min):
	// after that, a dispatcher of another replica may send it again.
	Claim time.Duration
	// Batch is how many deliveries a pass claims (default 16): each URL's run of its
	// oldest, posted one after the other, the URLs at once.
	Batch int
	// Poll is how often Run looks for due deliveries when not woken (default 1 s).
	Poll time.Duration
	// Keep is how long a given-up delivery stays in the outbox (and on the admin page)
	// from when it was added (default KeepGivenUp). Passes remove older ones at most once
	// per PruneEvery.
	Keep time.Duration
}

// KeepGivenUp is how long given-up deliveries are kept by default, and PruneEvery how
// often a dispatcher removes those older.
const (
	KeepGivenUp = 7 * 24 * time.Hour
	PruneEvery  = time.Hour
)

var _ portal.EventSink = (*Dispatcher)(nil)

// Dispatcher posts the deliveries of the store's outbox. Every replica may run one: a
// delivery is claimed before it is posted, so while the claim holds no other dispatcher
// sends it. A dispatcher that dies between the post and recording it leaves the claim to
// expire, and the delivery is sent again: receivers see each event at least once, and
// EventHeader tells them which they have seen.
type Dispatcher struct {
	cfg   DispatcherConfig
	claim string
	wake  chan struct{}

	mu        sync.Mutex
	nextPrune time.Time // when a pass next removes old given-up deliveries
}

// NewDispatcher returns a Dispatcher; Run starts it.
func NewDispatcher(cfg DispatcherConfig) *Dispatcher {
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Clock == nil {
		cfg.Clock = portal.SystemClock
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cfg.Attempts = cmpOr(cfg.Attempts, 12)
	cfg.Backoff = cmpOr(cfg.Backoff, time.Second)
	cfg.MaxBackoff = cmpOr(cfg.MaxBackoff, 10*time.Minute)
	cfg.Claim = cmpOr(cfg.Claim, time.Minute)
	cfg.Batch = cmpOr(cfg.Batch, 16)
	cfg.Poll = cmpOr(cfg.Poll, time.Second)
	cfg.Keep = cmpOr(cfg.Keep, KeepGivenUp)
	return &Dispatcher{cfg: cfg, claim: rand.Text(), wake: make(chan struct{}, 1)}
}

func cmpOr[T int | time.Duration](v, def T) T {
	if v <= 0 {
		return def
	}
	return v
}

// Emit wakes the dispatcher: the event's deliveries were committed to the outbox.
func (d *Dispatcher) Emit(portal.Event) { d.Wake() }

// Wake makes Run look for due deliveries now. It never blocks.
func (d *Dispatcher) Wake() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run runs passes until ctx ends: when woken, every Poll, and at once after a pass that
// claimed something (the next deliveries to the same URLs may be due).
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTimer(0)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-d.wake:
		case <-t.C:
		}
		n, err := d.Pass(ctx)
		if err != nil && ctx.Err() == nil {
			d.cfg.Logger.Warn("webhook dispatch", "err", err)
		}
		wait := d.cfg.Poll
		if n > 0 {
			wait = 0
		}
		t.Reset(wait)
	}
}

// Pass removes the given-up deliveries older than Keep when PruneEvery has passed since
// it last did, claims the deliveries due now (up to Batch: for each URL a run of its
// oldest, see portal.Dispatch), and posts them: the URLs at once, each URL's run one
// delivery after the other, recording each outcome. A run stops at its first failure and
// gives back the rest, which wait for the failed delivery's next attempt. It returns how
// many it claimed. The posts finish even when ctx ends meanwhile.
func (d *Dispatcher) Pass(ctx context.Context) (int, error) {
	now := d.cfg.Clock()
	d.prune(ctx, now)
	ds, err := d.cfg.Store.ClaimDeliveries(ctx, d.claim, now, now.Add(d.cfg.Claim), d.cfg.Batch)
	if err != nil {
		return 0, err
	}
	ctx = context.WithoutCancel(ctx)
	var runs [][]*portal.Delivery
	at := map[string]int{}
	for _, dl := range ds {
		i, ok := at[dl.URL]
		if !ok {
			i = len(runs)
			at[dl.URL] = i
			runs = append(runs, nil)
		}
		runs[i] = append(runs[i], dl)
	}
	var wg sync.WaitGroup
	errs := make([]error, len(runs))
	for i, run := range runs {
		wg.Go(func() { errs[i] = d.send(ctx, run) })
	}
	wg.Wait()
	return len(ds), errors.Join(errs...)
}

// send posts a run of deliveries to one URL in order, and stops at the first one that
// fails or cannot be recorded, giving back those after it.
func (d *Dispatcher) send(ctx context.Context, run []*portal.Delivery) error {
	for i, dl := range run {
		ok, err := d.deliver(ctx, dl)
		if ok && err == nil {
			continue
		}
		if rest := run[i+1:]; len(rest) > 0 {
			ids := make([]int64, len(rest))
			for j, r := range rest {
				ids[j] = r.ID
			}
			err = errors.Join(err, d.cfg.Store.ReleaseDeliveries(ctx, d.claim, ids))
		}
		return err
	}
	return nil
}

// prune removes the given-up deliveries added more than Keep before now, unless it did
// less than PruneEvery ago. A failure is logged, and tried again at the next pass.
func (d *Dispatcher) prune(ctx context.Context, now time.Time) {
	d.mu.Lock()
	due := !now.Before(d.nextPrune)
	if due {
		d.nextPrune = now.Add(PruneEvery)
	}
	d.mu.Unlock()
	if !due {
		return
	}
	cut := now.Add(-d.cfg.Keep)
	n, err := d.cfg.Store.PruneDeliveries(ctx, cut)
	switch {
	case err != nil:
		d.mu.Lock()
		d.nextPrune = time.Time{}
		d.mu.Unlock()
		if ctx.Err() == nil {
			d.cfg.Logger.Warn("remove old given-up webhook deliveries", "err", err)
		}
	case n > 0:
		d.cfg.Logger.Info("removed old given-up webhook deliveries", "count", n, "added_before", cut)
	}
}

// deliver posts one delivery and records the outcome; ok reports whether it was sent.
func (d *Dispatcher) deliver(ctx context.Context, dl *portal.Delivery) (ok bool, err error) {
	failure := d.post(ctx, dl)
	if d.cfg.Delivered != nil {
		d.cfg.Delivered(failure == "")
	}
	var next time.Time
	if failure != "" {
		attempts := dl.Attempts + 1
		log := d.cfg.Logger.With("event", dl.Name, "id", dl.Event, "url", redact(dl.URL), "attempts", attempts, "err", failure)
		if attempts < d.cfg.Attempts {
			next = d.cfg.Clock().Add(d.backoff(attempts))
			log.Warn("webhook delivery failed; will retry", "next", next)
		} else {
			log.Error("webhook delivery failed; given up")
		}
	}
	if err := d.cfg.Store.FinishDelivery(ctx, dl.ID, d.claim, failure, next); err != nil {
		return false, fmt.Errorf("record webhook delivery of %s to %s: %w", dl.Name, redact(dl.URL), err)
	}
	return failure == "", nil
}

// backoff is the wait after the given number of failed attempts.
func (d *Dispatcher) backoff(attempts int) time.Duration {
	b := d.cfg.Backoff
	for range attempts - 1 {
		if b >= d.cfg.MaxBackoff/2 {
			return d.cfg.MaxBackoff
		}
		b *= 2
	}
	return min(b, d.cfg.MaxBackoff)
}

// post sends a delivery and returns why it failed ("" = delivered).
func (d *Dispatcher) post(ctx context.Context, dl *portal.Delivery) string {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, dl.URL, bytes.NewReader(dl.Body))
	if err != nil {
		return "invalid URL"
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(EventHeader, dl.Event)
	if d.cfg.Secret != "" {
		req.Header.Set(SignatureHeader, Sign(d.cfg.Secret, d.cfg.Clock(), dl.Body))
	}
	resp, err := d.cfg.Client.Do(req)
	if err != nil {
		return redactErr(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 400 {
		return "answered " + resp.Status
	}
	return ""
}
