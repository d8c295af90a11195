package terminal

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// A tunnel carries bytes both ways between its caller and the address the agent
// connected to; an address nobody listens on is refused with the reason.
func TestTunnel(t *testing.T) {
	app, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer app.Close()
	go func() {
		for {
			c, err := app.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c) // until the caller's half closes
				c.Write([]byte("echo:" + string(b)))
			}()
		}
	}()
	agent := httptest.NewServer(http.HandlerFunc(ServeTunnel))
	defer agent.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	dial := func(addr string) (net.Conn, error) {
		c, err := net.Dial("tcp", agent.Listener.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		return DialTunnel(ctx, c, addr)
	}

	c, err := dial(app.Addr().String())
	if err != nil {
		t.Fatalf("DialTunnel: %v", err)
	}
	defer c.Close()
	c.Write([]byte("hello"))
	c.(interface{ CloseWrite() error }).CloseWrite()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "echo:hello" {
		t.Errorf("through the tunnel: %q, %v; want %q", got, err, "echo:hello")
	}

	closed, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := closed.Addr().String()
	closed.Close()
	_, err = dial(addr)
	var te *TunnelError
	if !errors.As(err, &te) || !strings.Contains(te.Reason, "refused") {
		t.Errorf("tunnel to a closed port: %v, want a TunnelError saying the connection was refused", err)
	}
}
