package loadtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// Sampling of the REST answers validated against the portal's /openapi.json: the first
// sampleFirst answers of each operation, then one in sampleEvery; every error answer.
const (
	sampleFirst = 5
	sampleEvery = 100
	// mismatchesShown is how many mismatches the check's detail names.
	mismatchesShown = 3
)

// apiCheck keeps a sample of the REST answers the client gets, to be validated against
// the portal's OpenAPI document after the measurements (keeping one costs a map update
// under a lock; the validation is in validate). A nil *apiCheck keeps nothing.
type apiCheck struct {
	doc    *openapi3.T
	router routers.Router
	// literal holds the fixed segments of the document's paths: any other segment is a
	// parameter when an answer is assigned to its operation for sampling.
	literal map[string]bool

	mu    sync.Mutex
	seen  map[string]int // answers per operation (method and path template)
	total int
	kept  []answer
}

// answer is one REST answer as the client got it.
type answer struct {
	method, target string // target: the path and query
	status         int
	header         http.Header
	body           []byte
}

// newAPICheck reads the portal's /openapi.json. An error means the document could not be
// fetched or is not a valid OpenAPI document.
func newAPICheck(ctx context.Context, c *client) (*apiCheck, error) {
	resp, b, err := do(ctx, c.api, http.MethodGet, c.url("/openapi.json"), "", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("fetch /openapi.json: %w", err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("fetch /openapi.json: %w", &statusError{resp.StatusCode, string(b)})
	}
	return parseAPIDocument(b)
}

func parseAPIDocument(b []byte) (*apiCheck, error) {
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		return nil, fmt.Errorf("read /openapi.json: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("read /openapi.json: %w", err)
	}
	a := &apiCheck{doc: doc, router: router, literal: map[string]bool{}, seen: map[string]int{}}
	for path := range doc.Paths.Map() {
		for seg := range strings.SplitSeq(path, "/") {
			if !strings.HasPrefix(seg, "{") {
				a.literal[seg] = true
			}
		}
	}
	return a, nil
}

// operation returns the sampling key of a request: its method and its path with every
// segment that is not fixed in the document replaced by "*".
func (a *apiCheck) operation(method, target string) string {
	path, _, _ := strings.Cut(target, "?")
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if !a.literal[s] {
			segs[i] = "*"
		}
	}
	return method + " " + strings.Join(segs, "/")
}

// keep records an answer when the sample takes it.
func (a *apiCheck) keep(method, target string, status int, header http.Header, body []byte) {
	if a == nil {
		return
	}
	op := a.operation(method, target)
	a.mu.Lock()
	defer a.mu.Unlock()
	a.total++
	a.seen[op]++
	if n := a.seen[op]; n <= sampleFirst || n%sampleEvery == 0 || status >= 400 {
		a.kept = append(a.kept, answer{method, target, status, header, body})
	}
}

// validate checks the kept answers against the document's response schemas and returns
// how many were validated and a line per mismatch: the operation, the status, the path of
// the field in the body, and the reason.
func (a *apiCheck) validate(ctx context.Context) (int, []string) {
	a.mu.Lock()
	kept := a.kept
	a.kept = nil
	a.mu.Unlock()
	var mismatches []string
	for _, an := range kept {
		req, err := http.NewRequestWithContext(ctx, an.method, "http://portal"+an.target, nil)
		if err != nil {
			mismatches = append(mismatches, fmt.Sprintf("%s %s %d: %v", an.method, an.target, an.status, err))
			continue
		}
		route, params, err := a.router.FindRoute(req)
		if err != nil {
			mismatches = append(mismatches, fmt.Sprintf("%s %s %d: no operation in the document: %v", an.method, req.URL.Path, an.status, err))
			continue
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 an.status,
			Header:                 an.header,
			Body:                   io.NopCloser(bytes.NewReader(an.body)),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		if err := openapi3filter.ValidateResponse(ctx, in); err != nil {
			mismatches = append(mismatches, fmt.Sprintf("%s %s %d: %s", an.method, route.Path, an.status, mismatchReason(err)))
		}
	}
	return len(kept), mismatches
}

// mismatchReason names the field of a validation error (a JSON pointer into the body, "/"
// for the body itself) and why it does not match.
func mismatchReason(err error) string {
	var se *openapi3.SchemaError
	if errors.As(err, &se) {
		return fmt.Sprintf("field /%s: %s", strings.Join(se.JSONPointer(), "/"), se.Reason)
	}
	var re *openapi3filter.ResponseError
	if errors.As(err, &re) {
		if re.Err != nil {
			return fmt.Sprintf("%s: %v", re.Reason, re.Err)
		}
		return re.Reason
	}
	return err.Error()
}

// checkAPIAnswers validates the sampled answers, after every measurement, and reports
// the check with the first mismatches, and the figure of answers validated.
func (r *run) checkAPIAnswers(ctx context.Context) {
	const name = "REST answers match /openapi.json"
	if r.apiDocErr != nil {
		r.rep.check(name, false, "%v", r.apiDocErr)
		return
	}
	total := r.c.oa.answers()
	n, mismatches := r.c.oa.validate(ctx)
	r.rep.figure("openapi_answers_validated", float64(n))
	detail := fmt.Sprintf("%d of %d answers validated, %d mismatches", n, total, len(mismatches))
	if len(mismatches) > 0 {
		detail += ": " + strings.Join(mismatches[:min(len(mismatches), mismatchesShown)], "; ")
	}
	r.rep.check(name, n > 0 && len(mismatches) == 0, "%s", detail)
}

// answers returns the number of answers offered to keep.
func (a *apiCheck) answers() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.total
}
