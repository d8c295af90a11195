package main

import (
	"io"
	"strings"
	"testing"
)

// TestParseServeProvisioner checks --provisioner and the kubernetes flags: local stays the
// default and needs nothing more; kubernetes needs its images and valid rate limits.
func TestParseServeProvisioner(t *testing.T) {
	images := []string{"--session-image", "s:1", "--portal-image", "p:1"}
	for _, tt := range []struct {
		args []string
		env  string // PORTAL_PROVISIONER
		want string
		qps  float64
		err  string
	}{
		{want: "local"},
		{args: []string{"--kube-qps", "nonsense"}, want: "local"}, // not checked for local
		{args: append([]string{"--provisioner", "kubernetes"}, images...), want: "kubernetes", qps: 50},
		{env: "kubernetes", args: append([]string{"--kube-qps", "7.5"}, images...), want: "kubernetes", qps: 7.5},
		{args: []string{"--provisioner", "docker"}, err: "--provisioner: expected local or kubernetes"},
		{args: []string{"--provisioner", "kubernetes"}, err: "--session-image and --portal-image"},
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
		if c.Kube.Provisioner != tt.want || c.Kube.QPS != tt.qps {
			t.Errorf("%v env %q: provisioner %q qps %v, want %q %v", tt.args, tt.env, c.Kube.Provisioner, c.Kube.QPS, tt.want, tt.qps)
		}
	}
}
