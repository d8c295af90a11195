package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
)

// DefaultTokenDir is where Kubernetes mounts a pod's ServiceAccount token (token, ca.crt,
// namespace).
const DefaultTokenDir = "/var/run/secrets/kubernetes.io/serviceaccount"

// TokenDirEnv names the environment variable that moves the token's folder (default
// DefaultTokenDir), for tests.
const TokenDirEnv = "DASHBOARD_TOKEN_DIR"

// kubeAPIFromEnv returns the API server's URL as Kubernetes tells a pod
// (KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT), or "" outside a pod.
func kubeAPIFromEnv(getenv func(string) string) string {
	host, port := getenv("KUBERNETES_SERVICE_HOST"), getenv("KUBERNETES_SERVICE_PORT")
	if host == "" || port == "" {
		return ""
	}
	return "https://" + net.JoinHostPort(host, port)
}

// WriteKubeconfig writes, at path (its folder made if missing, the file readable by its
// owner only), a kubeconfig whose current context reaches the API server at server with
// the ServiceAccount token mounted in tokenDir: the token is read from its file at every
// request (tokenFile), so a rotated token is used; the server's certificate is checked
// against tokenDir/ca.crt; the namespace is the one in tokenDir/namespace. It fails when
// tokenDir has no token or no namespace.
func WriteKubeconfig(path, server, tokenDir string) error {
	token := filepath.Join(tokenDir, "token")
	if _, err := os.Stat(token); err != nil {
		return fmt.Errorf("dashboard: kubeconfig: no token: %w", err)
	}
	b, err := os.ReadFile(filepath.Join(tokenDir, "namespace"))
	if err != nil {
		return fmt.Errorf("dashboard: kubeconfig: %w", err)
	}
	ns := strings.TrimSpace(string(b))
	if ns == "" {
		return errors.New("dashboard: kubeconfig: the namespace file is empty")
	}
	type named struct {
		Name    string         `json:"name"`
		Cluster map[string]any `json:"cluster,omitempty"`
		User    map[string]any `json:"user,omitempty"`
		Context map[string]any `json:"context,omitempty"`
	}
	const name = "session"
	cluster := map[string]any{"server": server}
	if ca := filepath.Join(tokenDir, "ca.crt"); fileExists(ca) {
		cluster["certificate-authority"] = ca
	}
	// JSON is YAML: kubectl and client-go read it as a kubeconfig.
	doc, err := json.MarshalIndent(map[string]any{
		"apiVersion":      "v1",
		"kind":            "Config",
		"clusters":        []named{{Name: name, Cluster: cluster}},
		"users":           []named{{Name: name, User: map[string]any{"tokenFile": token}}},
		"contexts":        []named{{Name: name, Context: map[string]any{"cluster": name, "user": name, "namespace": ns}}},
		"current-context": name,
	}, "", "  ")
	if err != nil {
		return fmt.Errorf("dashboard: kubeconfig: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("dashboard: kubeconfig: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, append(doc, '\n'), 0o600); err != nil {
		return fmt.Errorf("dashboard: kubeconfig: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("dashboard: kubeconfig: %w", err)
	}
	return nil
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// terminalKubeconfig writes the terminals' kubeconfig into home/.kube/config when the
// dashboard runs in a pod with a mounted ServiceAccount token, and returns its path ("" when
// there is none).
func (s *Server) terminalKubeconfig(home string) string {
	if s.cfg.KubeAPI == "" || s.cfg.TokenDir == "" || !fileExists(filepath.Join(s.cfg.TokenDir, "token")) {
		return ""
	}
	path := filepath.Join(home, ".kube", "config")
	if err := WriteKubeconfig(path, s.cfg.KubeAPI, s.cfg.TokenDir); err != nil {
		s.log.Warn("the terminals get no kubeconfig", "err", err)
		return ""
	}
	return path
}

// kubeVars returns the instructions' variables of the session's Kubernetes access, when
// the dashboard runs in a pod with a mounted ServiceAccount token: kubernetes_api_url
// (server), kubernetes_token and kubernetes_ca_crt (from tokenDir). None otherwise.
func kubeVars(server, tokenDir string) map[string]string {
	if server == "" || tokenDir == "" {
		return nil
	}
	token, err := os.ReadFile(filepath.Join(tokenDir, "token"))
	if err != nil {
		return nil
	}
	v := map[string]string{"kubernetes_api_url": server, "kubernetes_token": strings.TrimSpace(string(token))}
	if ca, err := os.ReadFile(filepath.Join(tokenDir, "ca.crt")); err == nil {
		v["kubernetes_ca_crt"] = string(ca)
	}
	return v
}
