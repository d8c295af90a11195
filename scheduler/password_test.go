package scheduler

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"portal"
	"portal/mock"
)

// Every refusal of CheckPassword does the work of a real check: one bcrypt comparison at
// the cost of the hashes the portal stores, whatever the reason (unknown user, no
// password, wrong password). Timing is not measured: the compared hashes are.
func TestCheckPasswordDoesEqualWork(t *testing.T) {
	h := newHarness(t, settings(entry("ws")), mock.Healthy)
	ada, err := h.s.CreateUser(h.ctx, NewUser{Name: "ada", Password: "correct horse"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.s.CreateUser(h.ctx, NewUser{Name: "anon-1", Group: portal.GroupAnonymous}); err != nil {
		t.Fatal(err)
	}
	stored, err := bcrypt.Cost([]byte(ada.PasswordHash))
	if err != nil {
		t.Fatal(err)
	}
	creds, err := h.s.Credentials(h.ctx)
	if err != nil {
		t.Fatal(err)
	}
	var costs []int
	compareHash = func(hash, password []byte) error {
		c, err := bcrypt.Cost(hash)
		if err != nil {
			t.Errorf("compared with a hash that is not bcrypt: %v", err)
		}
		costs = append(costs, c)
		return bcrypt.CompareHashAndPassword(hash, password)
	}
	t.Cleanup(func() { compareHash = bcrypt.CompareHashAndPassword })

	for _, tt := range []struct{ name, user, password string }{
		{"right password", "ada", "correct horse"},
		{"wrong password", "ada", "wrong"},
		{"unknown user", "nobody", "correct horse"},
		{"no password", "anon-1", "x"},
		{"robot", creds.RobotUsername, creds.RobotPassword},
	} {
		t.Run(tt.name, func(t *testing.T) {
			costs = nil
			h.s.CheckPassword(h.ctx, tt.user, tt.password)
			if len(costs) != 1 || costs[0] != stored {
				t.Errorf("bcrypt costs compared = %v, want one comparison at cost %d", costs, stored)
			}
		})
	}
	// The robot's password is right, but a browser login refuses it after the same work.
	costs = nil
	if _, err := h.s.Authenticate(h.ctx, creds.RobotUsername, creds.RobotPassword); portal.ErrorCode(err) != portal.EUNAUTHORIZED {
		t.Errorf("robot browser login: %v", err)
	}
	if len(costs) != 1 || costs[0] != stored {
		t.Errorf("robot browser login: costs %v", costs)
	}
}

// BenchmarkCheckPassword measures a check per outcome: a refusal should cost what a real
// check costs, whatever its reason.
func BenchmarkCheckPassword(b *testing.B) {
	s, _, _ := benchScheduler(b, 1, 0, time.Time{})
	ctx := context.Background()
	if _, err := s.CreateUser(ctx, NewUser{Name: "ada", Password: "correct horse"}); err != nil {
		b.Fatal(err)
	}
	if _, err := s.CreateUser(ctx, NewUser{Name: "anon-1", Group: portal.GroupAnonymous}); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, user, password string }{
		{"right-password", "ada", "correct horse"},
		{"wrong-password", "ada", "wrong"},
		{"unknown-user", "nobody", "correct horse"},
		{"no-password", "anon-1", "x"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				s.CheckPassword(ctx, bc.user, bc.password)
			}
		})
	}
}

// No bcrypt hash is made at package init: every session's dashboard process is this
// binary and never checks a password, so a hash made at init (about 60 ms of CPU at cost
// 10) would be paid by every session start. The check runs in a fresh process of this test
// binary, where nothing has run before it; the dummy hash is then made on first use.
func TestNoPasswordHashAtInit(t *testing.T) {
	if os.Getenv("PORTAL_TEST_INIT_CHILD") == "1" {
		if n := hashesMade.Load(); n != 0 {
			t.Fatalf("%d bcrypt hashes made before any test ran, want 0", n)
		}
		h := newHarness(t, settings(entry("ws")), mock.Healthy)
		before := hashesMade.Load()
		if _, err := h.s.CheckPassword(h.ctx, "nobody", "x"); err == nil {
			t.Fatal("an unknown user's password was accepted")
		}
		if n := hashesMade.Load() - before; n != 1 {
			t.Fatalf("checking an unknown user made %d hashes, want 1 (the dummy hash, on first use)", n)
		}
		if c, err := bcrypt.Cost(dummyHash()); err != nil || c != passwordCost {
			t.Fatalf("dummy hash cost = %d, %v; want %d", c, err, passwordCost)
		}
		return
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoPasswordHashAtInit$", "-test.count=1")
	cmd.Env = append(os.Environ(), "PORTAL_TEST_INIT_CHILD=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("in a fresh process: %v\n%s", err, out)
	}
}
