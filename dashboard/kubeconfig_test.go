package dashboard

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// tokenMount lays out a ServiceAccount token as Kubernetes mounts it.
func tokenMount(t *testing.T, ns string) string {
	t.Helper()
	dir := t.TempDir()
	for name, v := range map[string]string{"token": "tok", "ca.crt": "not a real CA", "namespace": ns} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(v), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// In a pod with a mounted ServiceAccount token the terminals get a kubeconfig for it:
// $HOME/.kube/config, named by KUBECONFIG, whose context is the session's namespace and
// whose user reads the token file.
func TestTerminalKubeconfig(t *testing.T) {
	tokens := tokenMount(t, "lab-w01-s001")
	h := newTermHarness(t, func(c *Config) {
		c.KubeAPI = "https://10.96.0.1:443"
		c.TokenDir = tokens
	})
	path := filepath.Join(h.work, ".kube", "config")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("the terminals' kubeconfig: %v", err)
	}
	var kc struct {
		Current  string `json:"current-context"`
		Clusters []struct {
			Cluster struct {
				Server string `json:"server"`
				CA     string `json:"certificate-authority"`
			} `json:"cluster"`
		} `json:"clusters"`
		Users []struct {
			User struct {
				TokenFile string `json:"tokenFile"`
			} `json:"user"`
		} `json:"users"`
		Contexts []struct {
			Name    string `json:"name"`
			Context struct {
				Namespace string `json:"namespace"`
			} `json:"context"`
		} `json:"contexts"`
	}
	if err := json.Unmarshal(b, &kc); err != nil {
		t.Fatalf("kubeconfig %s: %v", b, err)
	}
	if len(kc.Clusters) != 1 || len(kc.Users) != 1 || len(kc.Contexts) != 1 || kc.Contexts[0].Name != kc.Current {
		t.Fatalf("kubeconfig: %s", b)
	}
	if c := kc.Clusters[0].Cluster; c.Server != "https://10.96.0.1:443" || c.CA != filepath.Join(tokens, "ca.crt") {
		t.Errorf("cluster %+v", c)
	}
	if got := kc.Users[0].User.TokenFile; got != filepath.Join(tokens, "token") {
		t.Errorf("tokenFile %q", got)
	}
	if got := kc.Contexts[0].Context.Namespace; got != "lab-w01-s001" {
		t.Errorf("namespace %q", got)
	}
	tc := h.open("1")
	tc.send("echo \"kc=[$KUBECONFIG]\"\r")
	if got := tc.waitFor(`kc=\[([^\]$]*)\]`); got != path {
		t.Errorf("KUBECONFIG in a terminal = %q, want %q", got, path)
	}
}

// Without a token (disabled for the workshop, or not in a pod) there is no kubeconfig.
func TestTerminalKubeconfigWithoutToken(t *testing.T) {
	for name, edit := range map[string]func(*Config){
		"no token":     func(c *Config) { c.KubeAPI, c.TokenDir = "https://10.96.0.1:443", t.TempDir() },
		"not in a pod": func(c *Config) { c.TokenDir = tokenMount(t, "lab-w01-s001") },
	} {
		t.Run(name, func(t *testing.T) {
			h := newTermHarness(t, edit)
			if _, err := os.Stat(filepath.Join(h.work, ".kube", "config")); !os.IsNotExist(err) {
				t.Errorf("kubeconfig: %v, want none", err)
			}
			tc := h.open("1")
			tc.send("echo \"kc=[$KUBECONFIG]\"\r")
			if got := tc.waitFor(`kc=\[([^\]$]*)\]`); got != "" {
				t.Errorf("KUBECONFIG in a terminal = %q, want none", got)
			}
		})
	}
}

func TestKubeconfigSettingsFromEnv(t *testing.T) {
	env := map[string]string{"SESSION_NAME": "s", "SESSION_SECRET": "x", "PORTAL_URL": "http://p",
		"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
	cfg, err := ConfigFromEnv(func(k string) string { return env[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KubeAPI != "https://[fd00::1]:443" || cfg.TokenDir != DefaultTokenDir {
		t.Errorf("KubeAPI %q TokenDir %q", cfg.KubeAPI, cfg.TokenDir)
	}
	env[TokenDirEnv] = "/tmp/tokens"
	delete(env, "KUBERNETES_SERVICE_PORT")
	if cfg, _ = ConfigFromEnv(func(k string) string { return env[k] }); cfg.KubeAPI != "" || cfg.TokenDir != "/tmp/tokens" {
		t.Errorf("KubeAPI %q TokenDir %q", cfg.KubeAPI, cfg.TokenDir)
	}
}

// In a pod with a ServiceAccount token, the instructions get kubernetes_api_url,
// kubernetes_token and kubernetes_ca_crt; elsewhere none of them.
func TestKubeVars(t *testing.T) {
	dir := t.TempDir()
	if got := kubeVars("https://10.96.0.1:443", dir); got != nil {
		t.Errorf("without a token: %v", got)
	}
	os.WriteFile(filepath.Join(dir, "token"), []byte("tok-123\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "ca.crt"), []byte("-----BEGIN CERTIFICATE-----\n"), 0o600)
	want := map[string]string{"kubernetes_api_url": "https://10.96.0.1:443", "kubernetes_token": "tok-123",
		"kubernetes_ca_crt": "-----BEGIN CERTIFICATE-----\n"}
	if diff := cmp.Diff(want, kubeVars("https://10.96.0.1:443", dir)); diff != "" {
		t.Errorf("kubeVars (-want +got):\n%s", diff)
	}
	if got := kubeVars("", dir); got != nil {
		t.Errorf("outside a pod: %v", got)
	}
}
