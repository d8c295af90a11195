package loadtest

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// standInDoc describes the one operation the stand-in portal serves.
const standInDoc = `{
 "openapi": "3.0.3",
 "info": {"title": "stand-in", "version": "1"},
 "paths": {
  "/workshops/catalog/environments/": {
   "get": {
    "responses": {
     "200": {"description": "OK", "content": {"application/json": {"schema": {
      "type": "object", "required": ["environments"],
      "properties": {"environments": {"type": "array", "items": {
       "type": "object", "required": ["name", "capacity"],
       "properties": {"name": {"type": "string"}, "capacity": {"type": "integer"}}}}}}}}},
     "403": {"description": "Refused", "content": {"application/json": {"schema": {
      "type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}}}}
    }
   }
  }
 }
}`

// standIn serves standInDoc and answers the catalog with answer(n) for its n-th request
// (from 1): a status and a JSON body.
func standIn(t *testing.T, answer func(n int64) (int, string)) *client {
	t.Helper()
	var n atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/openapi.json":
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, standInDoc)
		case "/workshops/catalog/environments/":
			status, body := answer(n.Add(1))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(status)
			fmt.Fprint(w, body)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return newClient([]string{srv.URL}, 2, newRecorder())
}

// checkAnswers reads the stand-in's document, makes that many catalog requests and returns
// the report of the check.
func checkAnswers(t *testing.T, c *client, requests int) *Report {
	t.Helper()
	r := &run{c: c, rep: &Report{}}
	r.c.oa, r.apiDocErr = newAPICheck(t.Context(), c)
	for range requests {
		c.getJSON(t.Context(), "/workshops/catalog/environments/", nil)
	}
	r.checkAPIAnswers(t.Context())
	if len(r.rep.Checks) != 1 || r.rep.Checks[0].Name != "REST answers match /openapi.json" {
		t.Fatalf("checks = %+v", r.rep.Checks)
	}
	return r.rep
}

const goodCatalog = `{"environments": [{"name": "lab-w01", "capacity": 3}]}`

// TestAPICheckMatches: answers that match the document pass; the first five, then one in a
// hundred, and every error answer are validated.
func TestAPICheckMatches(t *testing.T) {
	c := standIn(t, func(n int64) (int, string) {
		if n > 250 {
			return http.StatusForbidden, `{"error": "not allowed"}`
		}
		return http.StatusOK, goodCatalog
	})
	rep := checkAnswers(t, c, 253)
	if ch := rep.Checks[0]; !ch.OK || !strings.HasPrefix(ch.Detail, "10 of 253 answers validated, 0 mismatches") {
		t.Fatalf("check = %+v", ch)
	}
	if got := rep.Figures["openapi_answers_validated"]; got != 10 {
		t.Fatalf("answers validated = %v, want 10 (1-5, 100, 200 and the 3 refusals)", got)
	}
}

// TestAPICheckFindsMismatch: a sampled answer with a field of the wrong type, and an error
// answer with a status the document lacks, fail the check, which names the operation, the
// status, the field and the reason.
func TestAPICheckFindsMismatch(t *testing.T) {
	c := standIn(t, func(n int64) (int, string) {
		switch n {
		case 100:
			return http.StatusOK, `{"environments": [{"name": "lab-w01", "capacity": "ten"}]}`
		case 150:
			return http.StatusInternalServerError, `{"error": "boom"}`
		}
		return http.StatusOK, goodCatalog
	})
	rep := checkAnswers(t, c, 150)
	ch := rep.Checks[0]
	for _, want := range []string{
		"7 of 150 answers validated, 2 mismatches", // 1-5, 100 and the refusal,
		"GET /workshops/catalog/environments/ 200: field /environments/0/capacity: value must be an integer",
		"GET /workshops/catalog/environments/ 500: status is not supported",
	} {
		if ch.OK || !strings.Contains(ch.Detail, want) {
			t.Fatalf("check = %+v, want it failed with %q", ch, want)
		}
	}
}

// TestAPICheckNoDocument: a portal without /openapi.json fails the check, saying so.
func TestAPICheckNoDocument(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	c := newClient([]string{srv.URL}, 2, newRecorder())
	rep := checkAnswers(t, c, 1)
	if ch := rep.Checks[0]; ch.OK || !strings.Contains(ch.Detail, "fetch /openapi.json: status 404") {
		t.Fatalf("check = %+v", ch)
	}
}

// TestAPICheckOff: with NoOpenAPI, a run neither checks the answers nor reports a figure.
func TestAPICheckOff(t *testing.T) {
	cfg, _ := testPortal(t, 2, 1)
	cfg.Scenario, cfg.NoOpenAPI = Catalog, true
	rep, err := Run(t.Context(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range rep.Checks {
		if strings.Contains(c.Name, "openapi") {
			t.Fatalf("check %+v with NoOpenAPI", c)
		}
	}
	if _, ok := rep.Figures["openapi_answers_validated"]; ok || len(rep.Checks) == 0 {
		t.Fatalf("checks %+v, figures %v", rep.Checks, rep.Figures)
	}
}
