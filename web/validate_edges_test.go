package web

import "testing"

func TestValidateEdges(t *testing.T) {
	// "parameters": null is no parameters, as when the key is missing.
	if got, err := parseParams([]byte(`{"parameters": null}`)); err != nil || got != nil {
		t.Errorf(`parseParams({"parameters": null}) = %v, %v; want none`, got, err)
	}
	// A query pair whose name or value is not percent-encoded correctly is dropped.
	for _, in := range []string{"/x?%zz=1&a=2", "/x?b=%zz&a=2"} {
		if got, want := withParams(in, "notification", notifySessionDeleted), "/x?a=2&notification=session-deleted"; got != want {
			t.Errorf("withParams(%q) = %q, want %q", in, got, want)
		}
	}
}
