package main

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// dashboardProc is one `portal dashboard` process, started the way localproc starts it.
type dashboardProc struct {
	cmd  *exec.Cmd
	addr string
}

// startDashboard starts a session process and returns once its /healthz answers.
func startDashboard(b *testing.B, work string) *dashboardProc {
	b.Helper()
	addrFile := filepath.Join(work, ".dashboard.addr")
	os.Remove(addrFile)
	cmd := exec.Command(binary, "dashboard")
	cmd.Dir = work
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + work, "LANG=C.UTF-8",
		"SESSION_NAME=bench-w01-s001", "SESSION_SECRET=s3cret", "PORTAL_URL=http://127.0.0.1:9",
		"WORKSHOP_TERMINALS=1", "LISTEN=127.0.0.1:0", "ADDR_FILE=" + addrFile}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	d := &dashboardProc{cmd: cmd}
	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		if d.addr == "" {
			if a, err := os.ReadFile(addrFile); err == nil {
				d.addr = string(a)
			}
		}
		if d.addr != "" {
			if resp, err := client.Get("http://" + d.addr + "/healthz"); err == nil {
				resp.Body.Close()
				if resp.StatusCode == 200 {
					return d
				}
			}
		}
		if time.Now().After(deadline) {
			d.stop()
			b.Fatal("the dashboard did not answer within 20 s")
		}
		time.Sleep(time.Millisecond)
	}
}

func (d *dashboardProc) stop() {
	syscall.Kill(-d.cmd.Process.Pid, syscall.SIGTERM)
	d.cmd.Wait()
}

// rssKiB reads a process's resident set size.
func rssKiB(b *testing.B, pid int) int {
	b.Helper()
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				b.Fatal(err)
			}
			return n
		}
	}
	b.Fatal("no VmRSS")
	return 0
}

// logMachine records what the figures were measured on.
func logMachine(b *testing.B) {
	model := "unknown"
	if c, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(c)) {
			if v, ok := strings.CutPrefix(line, "model name"); ok {
				model = strings.TrimSpace(strings.TrimLeft(v, " \t:"))
				break
			}
		}
	}
	b.Logf("machine: %d CPUs (runtime.NumCPU), %s", runtime.NumCPU(), model)
}

// BenchmarkDashboardStart measures the time from starting a session process to its
// dashboard answering /healthz.
func BenchmarkDashboardStart(b *testing.B) {
	logMachine(b)
	work := b.TempDir()
	for b.Loop() {
		d := startDashboard(b, work)
		b.StopTimer()
		d.stop()
		b.StartTimer()
	}
}

// BenchmarkDashboardIdleRSS measures the resident memory of one idle session process (the
// dashboard once it answers, before a browser starts its shell), as RSS-KiB per process.
func BenchmarkDashboardIdleRSS(b *testing.B) {
	logMachine(b)
	work := b.TempDir()
	total, n := 0, 0
	for b.Loop() {
		d := startDashboard(b, work)
		total += rssKiB(b, d.cmd.Process.Pid)
		n++
		d.stop()
	}
	b.ReportMetric(float64(total)/float64(n), "RSS-KiB")
}
