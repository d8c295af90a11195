// Package deploy holds the portal's Kubernetes manifests, a kustomize base
// (`kubectl apply -k deploy/`), and the test that applies them to a real API server. It
// has no code of its own.
package deploy
