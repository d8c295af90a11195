package web

import (
	"net/http"
	"strings"
	"testing"
)

// The catalog is served from memory between writes, and a write shows at once.
func TestCatalogCacheFollowsWrites(t *testing.T) {
	h := newHarness(t, nil)
	robot := h.robot()
	get := func() string {
		w := h.do("GET", "/workshops/catalog/environments/", "", bearer(robot))
		mustStatus(t, w, http.StatusOK)
		return w.Body.String()
	}
	first := get()
	if again := get(); again != first {
		t.Fatalf("two reads without a write differ:\n%s\n%s", first, again)
	}
	if !strings.Contains(first, `"allocated":0`) {
		t.Fatalf("catalog before any request: %s", first)
	}
	h.requestSession(robot, "alice")
	if after := get(); !strings.Contains(after, `"allocated":1`) {
		t.Fatalf("catalog after a request still shows the old counts: %s", after)
	}
	w := h.do("GET", "/workshops/catalog/workshops/", "", bearer(robot))
	mustStatus(t, w, http.StatusOK)
	if !strings.Contains(w.Body.String(), `"allocated":1`) {
		t.Fatalf("workshops catalog: %s", w.Body)
	}
}
