package main

import (
	"io"
	"os"
	"strings"
	"testing"
)

// TestParseServeProvisioner checks --provisioner and the kubernetes flags: local stays the
// default and needs nothing more; kubernetes needs its images and valid rate limits.
func TestParseServeProvisioner(t *testing.T) {
	images := []string{"--session-image", "s:1", "--portal-image", "p:1"}
	// The defaults are under test: none of their variables is set (t.Setenv restores them).
	for _, name := range []string{"PORTAL_KUBE_QPS", "PORTAL_KUBE_BURST", "PORTAL_KUBE_WORKERS"} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	for _, tt := range []struct {
		args    []string
		env     string // PORTAL_PROVISIONER
		want    string
		qps     float64
		burst   int
		workers int
		err     string
	}{
		{want: "local"},
		{args: []string{"--kube-qps", "nonsense"}, want: "local"}, // not checked for local
		{args: append([]string{"--provisioner", "kubernetes"}, images...), want: "kubernetes", qps: 100, burst: 200, workers: 8},
		{env: "kubernetes", args: append([]string{"--kube-qps", "7.5"}, images...), want: "kubernetes", qps: 7.5, burst: 200, workers: 8},
		{args: append([]string{"--provisioner", "kubernetes", "--kube-workers", "9", "--kube-burst", "20"}, images...), want: "kubernetes", qps: 100, burst: 20, workers: 9},
		{args: append([]string{"--provisioner", "kubernetes", "--kube-workers", "0"}, images...), err: "--kube-workers"},
		{args: append([]string{"--provisioner", "kubernetes", "--kube-workers", "two"}, images...), err: "--kube-workers"},
		{args: []string{"--provisioner", "docker"}, err: "--provisioner: expected local or kubernetes"},
		{args: []string{"--provisioner", "kubernetes", "--session-image", ""}, err: "--session-image and --portal-image"},
		{args: []string{"--provisioner", "kubernetes", "--portal-image", ""}, err: "--session-image and --portal-image"},
		{args: append([]string{"--provisioner", "kubernetes", "--kube-qps", "0"}, images...), err: "--kube-qps"},
		{args: append([]string{"--provisioner", "kubernetes", "--kube-burst", "x"}, images...), err: "--kube-burst"},
	} {
		t.Setenv("PORTAL_PROVISIONER", tt.env)
		if tt.env == "" {
			t.Setenv("PORTAL_PROVISIONER", "local")
		}
		c, err := parseServe(tt.args, io.Discard)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%v env %q: err = %v, want one containing %q", tt.args, tt.env, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v env %q: %v", tt.args, tt.env, err)
			continue
		}
		if c.Kube.Provisioner != tt.want || c.Kube.QPS != tt.qps || c.Kube.Burst != tt.burst || c.Kube.Workers != tt.workers {
			t.Errorf("%v env %q: provisioner %q qps %v burst %d workers %d, want %q %v %d %d", tt.args, tt.env,
				c.Kube.Provisioner, c.Kube.QPS, c.Kube.Burst, c.Kube.Workers, tt.want, tt.qps, tt.burst, tt.workers)
		}
	}
}

// TestParseServeKubeImageDefaults checks that --provisioner kubernetes runs with the images
// that Dockerfile and images/session/Dockerfile build when none are given.
func TestParseServeKubeImageDefaults(t *testing.T) {
	for _, name := range []string{"PORTAL_IMAGE", "PORTAL_SESSION_IMAGE"} {
		t.Setenv(name, "") // restored after the test
		os.Unsetenv(name)
	}
	c, err := parseServe([]string{"--provisioner", "kubernetes"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if c.Kube.PortalImage != "portal:dev" || c.Kube.SessionImage != "portal-session:dev" {
		t.Errorf("images %q, %q, want portal:dev, portal-session:dev", c.Kube.PortalImage, c.Kube.SessionImage)
	}
}
