package kube_test

import (
	"context"
	"testing"
	"time"

	"portal"
	"portal/internal/kubetest"
)

// Check is nil while the API server answers and an error while it is down.
func TestCheckFollowsAPIServer(t *testing.T) {
	env := kubetest.Need(t)
	p := provisionerFor(t, env, "check", portal.SessionNamespaces{Budget: "small"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check with the API server up: %v", err)
	}
	if err := env.StopAPIServer(); err != nil {
		t.Fatal(err)
	}
	restarted := false
	t.Cleanup(func() {
		if !restarted {
			env.StartAPIServer(context.Background()) // for the package's other tests
		}
	})
	short, cancelShort := context.WithTimeout(ctx, 3*time.Second)
	defer cancelShort()
	if err := p.Check(short); err == nil {
		t.Fatal("Check with the API server down: nil")
	}
	if err := env.StartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	restarted = true
	if err := p.Check(ctx); err != nil {
		t.Fatalf("Check after the API server came back: %v", err)
	}
}
