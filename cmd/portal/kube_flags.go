package main

import (
	"flag"
	"fmt"
	"strconv"

	"portal/kube"
)

// Default images of the kubernetes provisioner: the names `docker build -t portal:dev .` and
// `docker build -t portal-session:dev images/session` give the images of Dockerfile and
// images/session/Dockerfile, and deploy/deployment.yaml uses. A tag other than latest, so a
// cluster uses an image loaded into its nodes without pulling it.
const (
	defaultPortalImage  = "portal:dev"
	defaultSessionImage = "portal-session:dev"
)

// Defaults of --kube-qps and --kube-burst: a class of 200 arriving at once on demand makes
// 1,400 creates, about 12 s at this rate after the burst, while a small cluster's API
// server, which takes a few hundred requests a second, keeps room for its own controllers
// and its other clients. The workers (kube.DefaultWorkers) bound the sessions' requests in flight.
const (
	defaultKubeQPS   = 100
	defaultKubeBurst = 200
)

// kubeFlags are `portal serve`'s settings for the kubernetes provisioner.
type kubeFlags struct {
	// Provisioner is local (sessions are local processes) or kubernetes.
	Provisioner  string
	Kubeconfig   string
	QPS          float64
	Burst        int
	SessionImage string
	PortalImage  string
	Budget       string
	// Workers is how many sessions' namespaces are created or deleted at once.
	Workers int
}

// kubeRaw are the kubernetes flags' values as given, checked by kubeFlags.check.
type kubeRaw struct{ qps, burst, workers *string }

func (k *kubeFlags) register(fs *flag.FlagSet) kubeRaw {
	fs.StringVar(&k.Provisioner, "provisioner", envOr("PORTAL_PROVISIONER", "local"), "where sessions run: local (processes on this machine) or kubernetes (a namespace each) (env PORTAL_PROVISIONER)")
	fs.StringVar(&k.Kubeconfig, "kubeconfig", envOr("KUBECONFIG", ""), "kubeconfig file for --provisioner kubernetes (env KUBECONFIG; default: the in-cluster service account)")
	qps := fs.String("kube-qps", envOr("PORTAL_KUBE_QPS", strconv.Itoa(defaultKubeQPS)), "requests per second the portal makes to the Kubernetes API server at most (env PORTAL_KUBE_QPS)")
	burst := fs.String("kube-burst", envOr("PORTAL_KUBE_BURST", strconv.Itoa(defaultKubeBurst)), "requests the portal may make to the Kubernetes API server in a burst above --kube-qps (env PORTAL_KUBE_BURST)")
	fs.StringVar(&k.SessionImage, "session-image", envOr("PORTAL_SESSION_IMAGE", defaultSessionImage), "default image of session pods, built from images/session/Dockerfile (env PORTAL_SESSION_IMAGE; kubernetes only)")
	fs.StringVar(&k.PortalImage, "portal-image", envOr("PORTAL_IMAGE", defaultPortalImage), "image holding the static portal binary at /usr/local/bin/portal and cp, copied into each session pod: the portal's own image, built from Dockerfile (env PORTAL_IMAGE; kubernetes only)")
	fs.StringVar(&k.Budget, "namespace-budget", envOr("PORTAL_NAMESPACE_BUDGET", ""), "default session namespace budget: small, medium, large, x-large, xx-large, xxx-large or custom for none (env PORTAL_NAMESPACE_BUDGET)")
	workers := fs.String("kube-workers", envOr("PORTAL_KUBE_WORKERS", strconv.Itoa(kube.DefaultWorkers)), "how many sessions' namespaces the portal creates or deletes at once; the others wait in a queue, and a create the API server refuses is retried with backoff (env PORTAL_KUBE_WORKERS)")
	return kubeRaw{qps: qps, burst: burst, workers: workers}
}

// check validates the flags once parsed, with raw, the values as given.
func (k *kubeFlags) check(raw kubeRaw) error {
	qps, burst, workers := *raw.qps, *raw.burst, *raw.workers
	switch k.Provisioner {
	case "local":
		return nil
	case "kubernetes":
	default:
		return fmt.Errorf("serve: --provisioner: expected local or kubernetes, got %q", k.Provisioner)
	}
	q, err := strconv.ParseFloat(qps, 64)
	if err != nil || q <= 0 {
		return fmt.Errorf("serve: --kube-qps: expected a positive number of requests per second, got %q", qps)
	}
	b, err := strconv.Atoi(burst)
	if err != nil || b < 1 {
		return fmt.Errorf("serve: --kube-burst: expected a whole number of requests, 1 or more, got %q", burst)
	}
	w, err := strconv.Atoi(workers)
	if err != nil || w < 1 {
		return fmt.Errorf("serve: --kube-workers: expected a whole number of workers, 1 or more, got %q", workers)
	}
	k.QPS, k.Burst, k.Workers = q, b, w
	if k.SessionImage == "" || k.PortalImage == "" {
		return fmt.Errorf("serve: --provisioner kubernetes needs --session-image and --portal-image (env PORTAL_SESSION_IMAGE, PORTAL_IMAGE)")
	}
	return nil
}
