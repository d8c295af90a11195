package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/yaml"

	"portal/spec"
)

// decodeManifest decodes the one object of a file in deploy/ into out.
func decodeManifest(t *testing.T, name string, out any) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096).Decode(out); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
}

// TestDeployManifestFlags checks that the portal container of deploy/deployment.yaml runs
// `portal serve` with arguments and environment variables that exist and parse, as the
// kubernetes provisioner with the container's own image for the session pods' binary, and
// that the ConfigMap's configuration loads.
func TestDeployManifestFlags(t *testing.T) {
	var d appsv1.Deployment
	decodeManifest(t, "deployment.yaml", &d)
	if len(d.Spec.Template.Spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(d.Spec.Template.Spec.Containers))
	}
	c := d.Spec.Template.Spec.Containers[0]
	if len(c.Args) == 0 || c.Args[0] != "serve" {
		t.Fatalf("args %q, want serve first", c.Args)
	}
	var help bytes.Buffer
	parseServe([]string{"-h"}, &help)
	env := map[string]string{}
	for _, v := range c.Env {
		if !strings.Contains(help.String(), "env "+v.Name) {
			t.Errorf("env %s is not a setting of portal serve (see portal serve -h)", v.Name)
		}
		if v.ValueFrom != nil {
			continue
		}
		env[v.Name] = v.Value
		t.Setenv(v.Name, v.Value)
	}
	cfg, err := parseServe(c.Args[1:], io.Discard)
	if err != nil {
		t.Fatalf("portal %s with the Deployment's environment: %v", strings.Join(c.Args, " "), err)
	}
	if cfg.Kube.Provisioner != "kubernetes" || cfg.Kube.Kubeconfig != "" {
		t.Errorf("provisioner %q kubeconfig %q, want kubernetes in-cluster", cfg.Kube.Provisioner, cfg.Kube.Kubeconfig)
	}
	if cfg.Kube.PortalImage != c.Image {
		t.Errorf("session pods copy the portal from %q, but the portal runs %q", cfg.Kube.PortalImage, c.Image)
	}
	if c.Image != defaultPortalImage || cfg.Kube.SessionImage != defaultSessionImage {
		t.Errorf("images %q, %q, want the defaults %q, %q", c.Image, cfg.Kube.SessionImage, defaultPortalImage, defaultSessionImage)
	}

	// The data folder is inside the data volume, and the configuration is the ConfigMap's.
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.Name] = m
	}
	if !strings.HasPrefix(cfg.DataDir, mounts["data"].MountPath+"/") {
		t.Errorf("data folder %s is not inside the data volume at %s", cfg.DataDir, mounts["data"].MountPath)
	}
	if filepath.Dir(cfg.Config) != mounts["config"].MountPath {
		t.Errorf("config %s is not in the config volume at %s", cfg.Config, mounts["config"].MountPath)
	}
	var cm corev1.ConfigMap
	decodeManifest(t, "configmap.yaml", &cm)
	data, ok := cm.Data[filepath.Base(cfg.Config)]
	if !ok {
		t.Fatalf("the ConfigMap has no %s", filepath.Base(cfg.Config))
	}
	conf, err := spec.Parse(cfg.Config, []byte(data))
	if err != nil {
		t.Fatalf("the ConfigMap's configuration: %v", err)
	}
	if err := checkContent(conf); err != nil {
		t.Errorf("the ConfigMap's configuration: %v", err)
	}
	if len(conf.Warnings) > 0 {
		t.Errorf("the ConfigMap's configuration has warnings: %q", conf.Warnings)
	}
	if host := "portal." + cfg.IngressDomain; !strings.Contains(cfg.URL, "://"+host) {
		t.Errorf("the portal URL %s is not on the ingress domain's host %s, which deploy/ingress.yaml routes", cfg.URL, host)
	}
}
