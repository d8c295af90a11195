package loadtest

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"time"
)

// Report is the result of one run. It is written as text by WriteText and as JSON by
// encoding/json; the JSON field names are part of the tool's contract.
type Report struct {
	Scenario    string `json:"scenario"`
	URL         string `json:"url,omitempty"`
	Environment string `json:"environment,omitempty"`
	// Content is the workshop content of a spawned portal: classic (the built-in
	// sample), hugo (the tool's Hugo sample) or the folder given.
	Content string `json:"content,omitempty"`
	// Store is the spawned portal's store: sqlite or postgresql ("" for a portal the
	// tool did not start). Replicas is the number of portal processes the requests were
	// spread over (round-robin), and ReplicaURLs their own addresses when more than one.
	// Editor says the learners used the Editor tab (Config.Editor).
	Editor      bool      `json:"editor,omitempty"`
	Store       string    `json:"store,omitempty"`
	Replicas    int       `json:"replicas,omitempty"`
	ReplicaURLs []string  `json:"replica_urls,omitempty"`
	Users       int       `json:"users,omitempty"`
	Concurrency int       `json:"concurrency,omitempty"`
	Started     time.Time `json:"started"`
	// Seconds is the length of the measured phase.
	Seconds float64 `json:"seconds"`
	Machine Machine `json:"machine"`
	// Operations has one entry per kind of operation, in the order they were first seen.
	Operations []OpStats `json:"operations"`
	// Baseline is the same client against a bare HTTP handler (or a bare reverse proxy for
	// the proxy scenario) in the same run; Ratio is the throughput of Compared over the
	// baseline's.
	Baseline *OpStats `json:"baseline,omitempty"`
	Compared string   `json:"compared,omitempty"`
	Ratio    float64  `json:"ratio,omitempty"`
	// P99Ratio is the p99 latency of Compared over the baseline's (proxy scenario).
	P99Ratio float64 `json:"p99_ratio,omitempty"`
	// Figures are single measurements: time to the last dashboard, memory, sizes.
	Figures map[string]float64 `json:"figures,omitempty"`
	// Checks are the correctness conditions of the scenario.
	Checks []Check `json:"checks"`
}

// OpStats summarises one kind of operation. Latencies are in milliseconds; Throughput is
// successful operations per second over the measured phase. A 503 that was retried after
// its Retry-After counts as a retry, not an error.
type OpStats struct {
	Name       string  `json:"name"`
	Count      int     `json:"count"`
	Errors     int     `json:"errors"`
	Retries    int     `json:"retries"`
	Throughput float64 `json:"throughput"`
	P50        float64 `json:"p50_ms"`
	P95        float64 `json:"p95_ms"`
	P99        float64 `json:"p99_ms"`
	Max        float64 `json:"max_ms"`
	// Bytes is the size of the last successful response body.
	Bytes int `json:"bytes,omitempty"`
	// FirstError is the first error seen.
	FirstError string `json:"first_error,omitempty"`
}

// Check is one correctness condition and whether it held.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
}

// Machine describes where the tool ran.
type Machine struct {
	NProc    int    `json:"nproc"`
	CPU      string `json:"cpu"`
	MemoryMB int    `json:"memory_mb"`
	OS       string `json:"os"`
	Go       string `json:"go"`
}

// Failed returns the checks that did not hold.
func (r *Report) Failed() []Check {
	var out []Check
	for _, c := range r.Checks {
		if !c.OK {
			out = append(out, c)
		}
	}
	return out
}

// Op returns the statistics of the named operation, or nil.
func (r *Report) Op(name string) *OpStats {
	for i := range r.Operations {
		if r.Operations[i].Name == name {
			return &r.Operations[i]
		}
	}
	return nil
}

func (r *Report) check(name string, ok bool, format string, args ...any) {
	r.Checks = append(r.Checks, Check{Name: name, OK: ok, Detail: fmt.Sprintf(format, args...)})
}

func (r *Report) figure(name string, v float64) {
	if r.Figures == nil {
		r.Figures = map[string]float64{}
	}
	r.Figures[name] = v
}

// WriteText writes the report as a table.
func (r *Report) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "scenario %s", r.Scenario)
	if r.Environment != "" {
		fmt.Fprintf(bw, "  environment %s", r.Environment)
	}
	if r.Content != "" {
		fmt.Fprintf(bw, "  content %s", r.Content)
	}
	if r.Editor {
		fmt.Fprint(bw, "  editor")
	}
	if r.Store != "" {
		fmt.Fprintf(bw, "  store %s", r.Store)
	}
	if r.Replicas > 0 {
		fmt.Fprintf(bw, "  replicas %d", r.Replicas)
	}
	if r.Users > 0 {
		fmt.Fprintf(bw, "  users %d", r.Users)
	}
	if r.Concurrency > 0 {
		fmt.Fprintf(bw, "  concurrency %d", r.Concurrency)
	}
	fmt.Fprintf(bw, "  %.1fs\n", r.Seconds)
	fmt.Fprintf(bw, "machine: %d × %s, %d MiB, %s, %s\n", r.Machine.NProc, r.Machine.CPU, r.Machine.MemoryMB,
		r.Machine.OS, r.Machine.Go)
	fmt.Fprintf(bw, "%-22s %7s %6s %7s %9s %8s %8s %8s %8s\n", "operation", "count", "errors", "retries",
		"ops/s", "p50 ms", "p95 ms", "p99 ms", "max ms")
	row := func(o OpStats) {
		fmt.Fprintf(bw, "%-22s %7d %6d %7d %9.1f %8.2f %8.2f %8.2f %8.2f\n", o.Name, o.Count, o.Errors,
			o.Retries, o.Throughput, o.P50, o.P95, o.P99, o.Max)
	}
	for _, o := range r.Operations {
		row(o)
	}
	if r.Baseline != nil {
		row(*r.Baseline)
	}
	for _, o := range append(slices.Clone(r.Operations), r.baselineOps()...) {
		if o.FirstError != "" {
			fmt.Fprintf(bw, "first error of %s: %s\n", o.Name, o.FirstError)
		}
	}
	if r.Baseline != nil {
		fmt.Fprintf(bw, "ratio %s / %s: %.2f\n", r.Compared, r.Baseline.Name, r.Ratio)
	}
	if r.P99Ratio > 0 {
		fmt.Fprintf(bw, "p99 ratio %s / %s: %.2f\n", r.Compared, r.Baseline.Name, r.P99Ratio)
	}
	if len(r.Figures) > 0 {
		keys := make([]string, 0, len(r.Figures))
		for k := range r.Figures {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			fmt.Fprintf(bw, "%s: %.2f\n", k, r.Figures[k])
		}
	}
	for _, c := range r.Checks {
		mark := "ok  "
		if !c.OK {
			mark = "FAIL"
		}
		fmt.Fprintf(bw, "%s %s", mark, c.Name)
		if c.Detail != "" {
			fmt.Fprintf(bw, " (%s)", c.Detail)
		}
		fmt.Fprintln(bw)
	}
	return bw.Flush()
}

func (r *Report) baselineOps() []OpStats {
	if r.Baseline == nil {
		return nil
	}
	return []OpStats{*r.Baseline}
}

// WriteJSON writes the report as indented JSON to path.
func (r *Report) WriteJSON(path string) error {
	b, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(path, append(b, '\n'), 0o644)
}

// recorder collects latencies per operation from many goroutines.
type recorder struct {
	mu    sync.Mutex
	order []string
	ops   map[string]*opData
}

type opData struct {
	lat     []time.Duration
	errors  int
	retries int
	bytes   int
	first   string
	// elapsed is the length of the operation's own phase, when it ran in one of its own.
	elapsed time.Duration
}

func newRecorder() *recorder { return &recorder{ops: map[string]*opData{}} }

func (r *recorder) get(op string) *opData {
	d := r.ops[op]
	if d == nil {
		d = &opData{}
		r.ops[op] = d
		r.order = append(r.order, op)
	}
	return d
}

// add records one finished operation: a success with its latency, or an error.
func (r *recorder) add(op string, d time.Duration, bytes int, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	o := r.get(op)
	if err != nil {
		if o.errors == 0 {
			o.first = err.Error()
		}
		o.errors++
		return
	}
	o.lat = append(o.lat, d)
	o.bytes = bytes
}

// setElapsed says how long the phase in which op alone ran lasted: its throughput is
// taken over that rather than over the whole measured phase.
func (r *recorder) setElapsed(op string, d time.Duration) {
	r.mu.Lock()
	r.get(op).elapsed = d
	r.mu.Unlock()
}

// retry records a 503 answered with Retry-After that the client waited out.
func (r *recorder) retry(op string) {
	r.mu.Lock()
	r.get(op).retries++
	r.mu.Unlock()
}

// stats summarises the operations over a phase that lasted elapsed.
func (r *recorder) stats(elapsed time.Duration) []OpStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]OpStats, 0, len(r.order))
	for _, name := range r.order {
		out = append(out, summarise(name, r.ops[name], elapsed))
	}
	return out
}

func summarise(name string, d *opData, elapsed time.Duration) OpStats {
	lat := slices.Clone(d.lat)
	slices.Sort(lat)
	s := OpStats{Name: name, Count: len(lat), Errors: d.errors, Retries: d.retries, Bytes: d.bytes,
		FirstError: d.first}
	if d.elapsed > 0 {
		elapsed = d.elapsed
	}
	if elapsed > 0 {
		s.Throughput = float64(len(lat)) / elapsed.Seconds()
	}
	if len(lat) > 0 {
		s.P50, s.P95, s.P99 = ms(quantile(lat, 0.50)), ms(quantile(lat, 0.95)), ms(quantile(lat, 0.99))
		s.Max = ms(lat[len(lat)-1])
	}
	return s
}

// quantile returns the nearest-rank q-quantile of sorted values.
func quantile(sorted []time.Duration, q float64) time.Duration {
	i := int(float64(len(sorted))*q+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// thisMachine describes the machine the tool runs on (Linux details where available).
func thisMachine() Machine {
	m := Machine{NProc: runtime.NumCPU(), OS: runtime.GOOS + "/" + runtime.GOARCH, Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int
		for line := range strings.Lines(string(b)) {
			if _, err := fmt.Sscanf(line, "MemTotal: %d kB", &kb); err == nil {
				m.MemoryMB = kb / 1024
				break
			}
		}
	}
	if m.CPU == "" {
		m.CPU = "unknown CPU"
	}
	return m
}
