package web

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers/legacy"
)

func loadOpenAPI(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI 3: %v", err)
	}
	return doc
}

// docPath returns the document's path for a route pattern: without the method, "{$}" and
// the "/static/" prefix's remainder spelled as parameters, with the trailing slash the
// reference's paths have.
func docPath(pattern string) (method, path string) {
	if m, p, ok := strings.Cut(pattern, " "); ok {
		method, pattern = m, p
	}
	path = strings.TrimSuffix(pattern, "{$}")
	switch {
	case path == "/static/":
		path = "/static/{path}"
	case !strings.HasSuffix(path, "/") && !strings.HasSuffix(path, ".json"):
		path += "/"
	}
	return method, path
}

// Every route the portal serves is in the document (with its method, when the route has
// one), and the document is served at /openapi.json.
func TestOpenAPICoversRoutes(t *testing.T) {
	doc := loadOpenAPI(t)
	h := newHarness(t, nil)
	for _, pattern := range h.srv.Routes() {
		method, path := docPath(pattern)
		item := doc.Paths.Value(path)
		if item == nil {
			t.Errorf("route %q: no path %s in the document", pattern, path)
			continue
		}
		if method != "" && item.GetOperation(method) == nil {
			t.Errorf("route %q: no %s operation for %s", pattern, method, path)
		}
	}
	w := h.do("GET", "/openapi.json", "")
	mustStatus(t, w, http.StatusOK)
	if !bytes.Equal(w.Body.Bytes(), openAPI) || w.Header().Get("Content-Type") != "application/json" {
		t.Errorf("/openapi.json: %q %q", w.Header().Get("Content-Type"), w.Body.String()[:min(40, w.Body.Len())])
	}
}

// Real responses of the REST API, successes and refusals, match the document's schemas.
func TestOpenAPIResponsesMatch(t *testing.T) {
	doc := loadOpenAPI(t)
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	h := newHarness(t, nil)
	check := func(method, target string, w *httptest.ResponseRecorder) {
		t.Helper()
		req := httptest.NewRequest(method, "http://portal.test"+target, nil)
		route, params, err := router.FindRoute(req)
		if err != nil {
			t.Fatalf("%s %s: %v", method, target, err)
		}
		in := &openapi3filter.ResponseValidationInput{
			RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route},
			Status:                 w.Code,
			Header:                 w.Header(),
			Body:                   io.NopCloser(bytes.NewReader(w.Body.Bytes())),
			Options:                &openapi3filter.Options{IncludeResponseStatus: true},
		}
		if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
			t.Errorf("%s %s (%d): %v\n%s", method, target, w.Code, err, w.Body)
		}
	}
	robot := h.robot()
	do := func(method, target string, want int) *httptest.ResponseRecorder {
		t.Helper()
		w := h.do(method, target, "", bearer(robot))
		mustStatus(t, w, want)
		check(method, target, w)
		return w
	}
	do("GET", "/workshops/catalog/environments/?sessions=true", 200)
	do("GET", "/workshops/catalog/workshops/", 200)
	do("GET", "/workshops/environment/"+envName+"/status/?sessions=true", 200)
	a := h.requestSession(robot, "alice")
	req := "/workshops/environment/" + envName + "/request/?index_url=" + url.QueryEscape("https://hub.test/") + "&user=alice"
	do("GET", req, 200)
	do("GET", "/workshops/environment/lab-w99/request/?index_url=x", 403)
	do("GET", "/workshops/user/alice/sessions/", 200)
	do("GET", "/workshops/users/", 200)
	do("GET", "/workshops/sessions/", 200)
	do("GET", "/workshops/sessions/?environment=lab-w99", 404)
	do("GET", "/workshops/session/"+a.Name+"/schedule/", 200)
	do("GET", "/workshops/session/"+a.Name+"/parameters/", 200)
	do("GET", "/workshops/session/"+a.Name+"/config/", 200)
	do("GET", "/workshops/session/"+a.Name+"/extend/", 200)
	do("GET", "/workshops/session/"+a.Name+"/terminate/", 200)
	do("GET", "/workshops/session/nope/schedule/", 404)
	w := h.do("GET", "/readyz/", "")
	check("GET", "/readyz/", w)
	w = h.do("GET", "/healthz/", "")
	check("GET", "/healthz/", w)
}
