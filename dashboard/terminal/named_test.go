package terminal

import (
	"context"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func TestValidName(t *testing.T) {
	for id, want := range map[string]bool{
		"build": true, "Server-2": true, "a_b": true, strings.Repeat("x", 32): true,
		"": false, "1": false, "all": false, "2nd": false, "-x": false, "a b": false,
		"a/b": false, strings.Repeat("x", 33): false, "é": false,
	} {
		if got := ValidName(id); got != want {
			t.Errorf("ValidName(%q) = %v, want %v", id, got, want)
		}
	}
}

// A named terminal is created on first use, runs a shell like the numbered ones (with its
// name in TERMINAL_ID), is left out of "all", and a session has at most MaxNamed of them.
func TestAgentNamedTerminals(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "terminals.sock")
	startAgent(t, sock, func(c *Config) { c.Terminals = 1 })
	client := unixClient(sock)
	post := func(path, body string) int { t.Helper(); return agentDo(t, client, "POST", path, body) }

	if got := post("/terminal/build/input", `{"text":"echo named-$TERMINAL_ID-$((2*3))","enter":true}`); got != http.StatusNoContent {
		t.Fatalf("input to a new named terminal: status %d, want 204", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://terminals/terminal/build", &websocket.DialOptions{HTTPClient: client})
	if err != nil {
		t.Fatalf("dial terminal build: %v", err)
	}
	tc := newTermConn(t, c)
	tc.waitFor(`named-build-6`) // the scrollback of the input before the browser came
	if got := post("/terminal/all/input", `{"text":"echo everyone","enter":true}`); got != http.StatusNoContent {
		t.Fatalf("input to all: status %d, want 204", got)
	}
	tc.send("echo after-$((5*5))\r")
	if out := tc.waitFor(`after-25\r`); strings.Contains(tc.buf.String(), "everyone") {
		t.Errorf("input to all reached the named terminal: %q", out)
	}

	for i := 2; i <= MaxNamed; i++ {
		if got := post(fmt.Sprintf("/terminal/n%d/clear", i), `{}`); got != http.StatusNoContent {
			t.Fatalf("named terminal %d of %d: status %d, want 204", i, MaxNamed, got)
		}
	}
	if got := post("/terminal/onemore/clear", `{}`); got != http.StatusConflict {
		t.Errorf("named terminal %d: status %d, want 409", MaxNamed+1, got)
	}
	if got := post("/terminal/build/clear", `{}`); got != http.StatusNoContent {
		t.Errorf("an existing named terminal at the limit: status %d, want 204", got)
	}
	for _, id := range []string{"2", "9x", "a%20b"} {
		if got := post("/terminal/"+id+"/input", `{"text":"x"}`); got != http.StatusNotFound {
			t.Errorf("input to terminal %q: status %d, want 404", id, got)
		}
	}
}
