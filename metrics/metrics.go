// Package metrics exposes the portal's Prometheus metrics (github.com/prometheus/client_golang):
// sessions by environment and state, session requests by outcome, activation-window
// expiries, time from request to a ready dashboard, HTTP request durations by route,
// reconciler passes, webhook deliveries, store transactions, and the process and Go runtime.
//
// It hooks into the portal's seams: Metrics is a scheduler.Observer, HTTP wraps the web
// handler, Store wraps the portal.Store, and Delivered is the webhook sender's callback.
package metrics

import (
	"context"
	"crypto/subtle"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"portal"
	"portal/scheduler"
)

var _ scheduler.Observer = (*Metrics)(nil)

// Metrics holds the portal's metrics in a registry of its own.
type Metrics struct {
	reg         *prometheus.Registry
	provisioner string

	requests  *prometheus.CounterVec
	expiries  *prometheus.CounterVec
	startTime *prometheus.HistogramVec
	httpTime  *prometheus.HistogramVec
	passTime  prometheus.Histogram
	passLag   prometheus.Histogram
	webhooks  *prometheus.CounterVec
	storeTime *prometheus.HistogramVec
	storeErrs *prometheus.CounterVec
}

// New returns the metrics of a portal whose sessions run on the named provisioner
// ("local" or "kubernetes") and are kept in store (read at each scrape for the session
// counts).
func New(provisioner string, store portal.Store) *Metrics {
	m := &Metrics{reg: prometheus.NewRegistry(), provisioner: provisioner}
	m.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_session_requests_total",
		Help: "Session requests by outcome: reacquired, reserve, created, or the reason they were refused.",
	}, []string{"outcome"})
	m.expiries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_activation_expiries_total",
		Help: "Allocated sessions stopped because nobody activated them within the activation window.",
	}, []string{"environment"})
	m.startTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "portal_session_ready_seconds",
		Help:    "Time from a session request to its dashboard being ready (outcome ready) or its start failing (outcome failed).",
		Buckets: []float64{0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300},
	}, []string{"provisioner", "outcome"})
	m.httpTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "portal_http_request_duration_seconds",
		Help:    "HTTP requests by route pattern and status class (session hosts: route \"session-host\").",
		Buckets: prometheus.DefBuckets,
	}, []string{"route", "code"})
	m.passTime = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "portal_reconcile_pass_duration_seconds",
		Help:    "Duration of reconciler passes.",
		Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30},
	})
	m.passLag = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "portal_reconcile_lag_seconds",
		Help:    "Time from a change asking for a reconciler pass to the start of that pass.",
		Buckets: []float64{0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30},
	})
	m.webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_webhook_deliveries_total",
		Help: "Webhook delivery attempts by outcome: delivered, or failed (not sent, or answered with 400 or more; retried).",
	}, []string{"outcome"})
	m.storeTime = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "portal_store_transaction_duration_seconds",
		Help:    "Store transactions by kind (view or update), including the wait for the writer.",
		Buckets: []float64{0.0001, 0.0005, 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5},
	}, []string{"kind"})
	m.storeErrs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "portal_store_transaction_errors_total",
		Help: "Store transactions that returned an error, by kind; refusals a request answers with count too.",
	}, []string{"kind"})
	for _, v := range []string{scheduler.OutcomeReacquired, scheduler.OutcomeReserve, scheduler.OutcomeCreated} {
		m.requests.WithLabelValues(v)
	}
	for _, v := range []string{"delivered", "failed"} {
		m.webhooks.WithLabelValues(v)
	}
	m.reg.MustRegister(m.requests, m.expiries, m.startTime, m.httpTime, m.passTime, m.passLag,
		m.webhooks, m.storeTime, m.storeErrs, sessionCounts{store},
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format. With a token, only requests
// with the header "Authorization: Bearer <token>" get them; others get 401.
func (m *Metrics) Handler(token string) http.Handler {
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
	if token == "" {
		return h
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", `Bearer realm="metrics"`)
			http.Error(w, "metrics need a bearer token", http.StatusUnauthorized)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func (m *Metrics) Requested(outcome string) { m.requests.WithLabelValues(outcome).Inc() }

func (m *Metrics) Started(outcome string, d time.Duration) {
	m.startTime.WithLabelValues(m.provisioner, outcome).Observe(d.Seconds())
}

func (m *Metrics) ActivationExpired(env string) { m.expiries.WithLabelValues(env).Inc() }

func (m *Metrics) Pass(d, lag time.Duration) {
	m.passTime.Observe(d.Seconds())
	m.passLag.Observe(lag.Seconds())
}

// Delivered counts a webhook delivery attempt (webhook.DispatcherConfig.Delivered).
func (m *Metrics) Delivered(ok bool) {
	if ok {
		m.webhooks.WithLabelValues("delivered").Inc()
	} else {
		m.webhooks.WithLabelValues("failed").Inc()
	}
}

// sessionCounts reports the live sessions of each environment by state, read from the
// store at each scrape.
type sessionCounts struct{ store portal.Store }

var sessionsDesc = prometheus.NewDesc("portal_sessions",
	"Sessions that are not stopped, by environment and state (STARTING, WAITING, RUNNING, STOPPING) and whether a user holds them.",
	[]string{"environment", "state", "allocated"}, nil)

func (c sessionCounts) Describe(ch chan<- *prometheus.Desc) { ch <- sessionsDesc }

func (c sessionCounts) Collect(ch chan<- prometheus.Metric) {
	type key struct {
		env, state string
		allocated  bool
	}
	counts := map[key]int{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := c.store.View(ctx, func(tx portal.Tx) error {
		list, err := tx.Sessions(portal.SessionFilter{States: []portal.SessionState{portal.SessionStarting,
			portal.SessionWaiting, portal.SessionRunning, portal.SessionStopping}})
		for _, s := range list {
			counts[key{s.Environment, s.State.String(), s.Owner != ""}]++
		}
		return err
	})
	if err != nil {
		ch <- prometheus.NewInvalidMetric(sessionsDesc, err)
		return
	}
	for k, n := range counts {
		alloc := "false"
		if k.allocated {
			alloc = "true"
		}
		ch <- prometheus.MustNewConstMetric(sessionsDesc, prometheus.GaugeValue, float64(n), k.env, k.state, alloc)
	}
}
