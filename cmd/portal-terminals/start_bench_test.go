package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"portal/internal/ci"
)

// BenchmarkAgentStart starts a session's terminals agent, as the provisioner does on a
// session's first terminal, with portal-terminals and with portal-dashboard in
// DASHBOARD_MODE=terminals (both built static here), one start of each in turn, and
// reports the median CPU time of the process from exec to its address file (every
// thread's run time, /proc/<pid>/task/*/schedstat) and its median PSS after one idle
// terminal. Run on a quiet machine, or A/B in the same minute:
//
//	go test ./cmd/portal-terminals/ -run '^$' -bench AgentStart -benchtime 20x
func BenchmarkAgentStart(b *testing.B) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		ci.Missing(b, "the go command", err)
	}
	dir := b.TempDir()
	build := exec.Command(goTool, "build", "-o", dir+"/", ".", "../portal-dashboard")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		b.Fatalf("build: %v\n%s", err, out)
	}
	programs := []string{"portal-terminals", "portal-dashboard"}
	cpu := map[string][]float64{}
	pss := map[string][]float64{}
	for b.Loop() {
		for _, name := range programs {
			c, p, err := startAgent(filepath.Join(dir, name), b.TempDir())
			if err != nil {
				b.Fatalf("%s: %v", name, err)
			}
			cpu[name] = append(cpu[name], c)
			pss[name] = append(pss[name], p)
		}
	}
	for _, name := range programs {
		b.ReportMetric(median(cpu[name]), name+"-cpu-ms/start")
		b.ReportMetric(median(pss[name]), name+"-PSS-kB")
	}
}

// startAgent starts the agent program in work, waits for its address file, reads its CPU
// time, types into one terminal, reads its PSS and stops it.
func startAgent(program, work string) (cpuMS, pssKB float64, err error) {
	sock, addr := filepath.Join(work, "terminals.sock"), filepath.Join(work, "addr")
	fd, err := syscall.InotifyInit1(syscall.IN_CLOEXEC)
	if err != nil {
		return 0, 0, err
	}
	defer syscall.Close(fd)
	if _, err := syscall.InotifyAddWatch(fd, work, syscall.IN_MOVED_TO|syscall.IN_CREATE); err != nil {
		return 0, 0, err
	}
	cmd := exec.Command(program)
	cmd.Env = []string{"PATH=/usr/bin:/bin", "DASHBOARD_MODE=terminals", "LISTEN=unix:" + sock,
		"ADDR_FILE=" + addr, `DASHBOARD_SHELL=["/bin/sh"]`, "HOME=" + work, "WORKSHOP_TERMINALS=3"}
	cmd.Dir = work
	if err := cmd.Start(); err != nil {
		return 0, 0, err
	}
	defer func() {
		cmd.Process.Signal(syscall.SIGTERM)
		cmd.Wait()
	}()
	buf := make([]byte, 4096)
	for {
		if _, err := os.Stat(addr); err == nil {
			break
		}
		// Blocks until the folder changes: the address file's rename, or another file.
		if _, err := syscall.Read(fd, buf); err != nil {
			return 0, 0, err
		}
	}
	cpuMS = float64(cpuNS(cmd.Process.Pid)) / 1e6
	resp, err := unixPost(sock, "/terminal/1/input", `{"text":"echo ready-$((6*7))","enter":true}`)
	if err != nil {
		return 0, 0, err
	}
	if resp != 204 {
		return 0, 0, fmt.Errorf("input: status %d", resp)
	}
	return cpuMS, float64(pssOf(cmd.Process.Pid)), nil
}

// cpuNS returns the run time of every thread of process pid so far.
func cpuNS(pid int) int64 {
	tasks, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var sum int64
	for _, t := range tasks {
		b, err := os.ReadFile(t)
		if err != nil {
			continue
		}
		if f := strings.Fields(string(b)); len(f) > 0 {
			n, _ := strconv.ParseInt(f[0], 10, 64)
			sum += n
		}
	}
	return sum
}

// pssOf returns the PSS of process pid in kB.
func pssOf(pid int) int64 {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/smaps_rollup", pid))
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, "Pss:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(rest)[0], 10, 64)
			return n
		}
	}
	return -1
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
