package web

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// BenchmarkProxyWebSocketMemory opens idle terminal WebSockets through the portal's
// session-host proxy to a dashboard on a Unix socket, and reports what each one costs the
// portal: heap and goroutine stacks after a GC, resident memory (VmRSS) and goroutines.
// The dashboard and the browsers are a child process (this test binary again), so that
// only the proxy's share is counted. PORTAL_WS_CONNS sets how many (default 500);
// PORTAL_WS_PROFILE=<prefix> writes the heap profile and the goroutines' stacks taken while
// they are open to <prefix>.heap and <prefix>.goroutine.
func BenchmarkProxyWebSocketMemory(b *testing.B) {
	n := 500
	if v, err := strconv.Atoi(os.Getenv("PORTAL_WS_CONNS")); err == nil && v > 0 {
		n = v
	}
	srv, _ := benchServer(b, 1)
	sock := filepath.Join(b.TempDir(), "dashboard.sock")
	name, _ := benchSessionAt(b, srv, "unix:"+sock)
	front := httptest.NewServer(srv)
	b.Cleanup(front.Close)
	p := startWSPeer(b, sock, front.URL, name+".portal.test")

	// Warm: one round opens and closes connections, so that pools and the runtime's
	// structures reach their steady size before the baseline.
	p.do(b, "open 20")
	p.do(b, "close")
	// Resident memory grows only the first time: later rounds reuse the pages the first
	// one freed. Its figure is that round's.
	var rss int64
	for b.Loop() {
		before := memNow()
		p.do(b, "open "+strconv.Itoa(n))
		after := memNow()
		writeProfiles(b, os.Getenv("PORTAL_WS_PROFILE"))
		p.do(b, "close")
		b.ReportMetric(float64(after.heap-before.heap)/float64(n), "heap-B/conn")
		b.ReportMetric(float64(after.stack-before.stack)/float64(n), "stack-B/conn")
		b.ReportMetric(float64(after.goroutines-before.goroutines)/float64(n), "goroutines/conn")
		rss = max(rss, after.rss-before.rss)
	}
	b.ReportMetric(float64(rss)/float64(n), "rss-B/conn")
}

// BenchmarkProxyWebSocketBulk is a terminal's bulk output (a `cat` of 10 MB, in the 4 KiB
// messages a dashboard sends a PTY's output in) through the session-host proxy from a
// dashboard on a Unix socket.
func BenchmarkProxyWebSocketBulk(b *testing.B) {
	const total, chunk = 10 << 20, 4 << 10
	srv, _ := benchServer(b, 1)
	sock := filepath.Join(b.TempDir(), "dashboard.sock")
	name, _ := benchSessionAt(b, srv, "unix:"+sock)
	ln, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	be := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		msg := bytes.Repeat([]byte("x"), chunk)
		for sent := 0; sent < total; sent += chunk {
			if err := c.Write(r.Context(), websocket.MessageBinary, msg); err != nil {
				return
			}
		}
		c.Close(websocket.StatusNormalClosure, "")
	})}
	go be.Serve(ln)
	b.Cleanup(func() { be.Close() })
	front := httptest.NewServer(srv)
	b.Cleanup(front.Close)
	url := strings.Replace(front.URL, "http", "ws", 1) + "/terminal"
	b.SetBytes(total)
	// CPU time, which a busy machine disturbs less than elapsed time, of the whole process:
	// dashboard, proxy and browser.
	cpu0 := cpuTime()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Host: name + ".portal.test"})
		if err != nil {
			b.Fatal(err)
		}
		c.SetReadLimit(-1)
		got := 0
		for {
			_, msg, err := c.Read(ctx)
			if err != nil {
				break
			}
			got += len(msg)
		}
		c.CloseNow()
		cancel()
		if got != total {
			b.Fatalf("got %d bytes, want %d", got, total)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(b.N), "cpu-ms/op")
}

// cpuTime returns the CPU time (user and system) this process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// writeProfiles writes the heap profile and the goroutines' stacks to <prefix>.heap and
// <prefix>.goroutines, when prefix is not empty.
func writeProfiles(b *testing.B, prefix string) {
	if prefix == "" {
		return
	}
	for _, p := range []struct {
		name  string
		debug int
	}{{"heap", 0}, {"goroutine", 1}} {
		f, err := os.Create(prefix + "." + p.name)
		if err != nil {
			b.Fatal(err)
		}
		if err := pprof.Lookup(p.name).WriteTo(f, p.debug); err != nil {
			b.Fatal(err)
		}
		f.Close()
	}
}

// memFigures is the process's memory at one moment, after a GC.
type memFigures struct {
	heap, stack, rss int64
	goroutines       int
}

func memNow() memFigures {
	runtime.GC()
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return memFigures{heap: int64(ms.HeapAlloc), stack: int64(ms.StackInuse), rss: vmRSS(),
		goroutines: runtime.NumGoroutine()}
}

// vmRSS returns this process's resident set size in bytes (0 when it cannot be read).
func vmRSS() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}

// wsPeer is the child process of BenchmarkProxyWebSocketMemory: a dashboard that echoes
// WebSocket messages on a Unix socket, and browsers that open WebSockets through the
// portal on command.
type wsPeer struct {
	in  *bufio.Writer
	out *bufio.Scanner
}

func startWSPeer(b *testing.B, sock, frontURL, host string) *wsPeer {
	cmd := exec.Command(os.Args[0], "-test.run=^TestWebSocketPeer$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "PORTAL_WS_PEER="+sock+" "+frontURL+" "+host)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		stdin.Close() // the peer ends when its input does
		if err := cmd.Wait(); err != nil {
			b.Errorf("peer: %v", err)
		}
	})
	p := &wsPeer{in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
	p.wait(b, "listening")
	return p
}

// do sends the peer a command and waits for its answer "ok".
func (p *wsPeer) do(b *testing.B, cmd string) {
	b.Helper()
	fmt.Fprintln(p.in, cmd)
	if err := p.in.Flush(); err != nil {
		b.Fatal(err)
	}
	p.wait(b, "ok")
}

func (p *wsPeer) wait(b *testing.B, want string) {
	b.Helper()
	for p.out.Scan() {
		line := p.out.Text()
		if line == want {
			return
		}
		if msg, ok := strings.CutPrefix(line, "error "); ok {
			b.Fatalf("peer: %s", msg)
		}
	}
	b.Fatalf("peer ended before %q: %v", want, p.out.Err())
}

// TestWebSocketPeer is the peer process of BenchmarkProxyWebSocketMemory; run on its own
// it only skips. It reads commands from stdin: "open N" opens N WebSockets through the
// portal (each echoes one message), "close" closes them.
func TestWebSocketPeer(t *testing.T) {
	env := os.Getenv("PORTAL_WS_PEER")
	if env == "" {
		t.Skip("the peer process of BenchmarkProxyWebSocketMemory")
	}
	args := strings.Fields(env)
	sock, frontURL, host := args[0], args[1], args[2]
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	be := &http.Server{Handler: backendHandler()}
	go be.Serve(ln)
	defer be.Close()
	fmt.Println("listening")
	url := strings.Replace(frontURL, "http", "ws", 1) + "/ws"
	var open []*websocket.Conn
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		cmd := strings.Fields(in.Text())
		switch cmd[0] {
		case "open":
			n, _ := strconv.Atoi(cmd[1])
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			for range n {
				c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Host: host})
				if err == nil {
					err = c.Write(ctx, websocket.MessageText, []byte("hi"))
				}
				if err == nil {
					_, _, err = c.Read(ctx)
				}
				if err != nil {
					fmt.Println("error", err)
					cancel()
					return
				}
				open = append(open, c)
			}
			cancel()
		case "close":
			for _, c := range open {
				c.Close(websocket.StatusNormalClosure, "")
			}
			open = nil
		}
		fmt.Println("ok")
	}
}
