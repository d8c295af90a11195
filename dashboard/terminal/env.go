package terminal

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// secretEnv are environment variables a shell never gets: the credentials of the session
// and the dashboard's own settings.
var secretEnv = map[string]bool{"SESSION_SECRET": true, "CONFIG_PASSWORD": true,
	"LISTEN": true, "ADDR_FILE": true, "DASHBOARD_SHELL": true, "DASHBOARD_SANDBOX": true, "DASHBOARD_MODE": true,
	"SESSIONS_DIR": true, "DASHBOARD_TOKEN_DIR": true, ownEnvVar: true}

// ownEnvVar names, comma-separated, the variables of the dashboard's environment that are
// meant for the dashboard only (GOMAXPROCS, say): its shells do not get them.
const ownEnvVar = "DASHBOARD_OWN_ENV"

// Count returns how many terminals n (a dashboard's Terminals setting) stands for: 0
// means 1, a negative number none, and no more than Max.
func Count(n int) int {
	switch {
	case n == 0:
		return 1
	case n < 0:
		return 0
	case n > Max:
		return Max
	}
	return n
}

// CountFromEnv reads WORKSHOP_TERMINALS as a Terminals setting: "" is 0 (one terminal),
// "0" is -1 (none), 1 to Max as is.
func CountFromEnv(getenv func(string) string) (int, error) {
	t := getenv("WORKSHOP_TERMINALS")
	if t == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(t)
	if err != nil || n < 0 || n > Max {
		return 0, fmt.Errorf("dashboard: WORKSHOP_TERMINALS: expected 0 to %d, got %q", Max, t)
	}
	if n == 0 {
		return -1, nil
	}
	return n, nil
}

// ShellFromEnv reads DASHBOARD_SHELL, a JSON array of strings (nil when unset).
func ShellFromEnv(getenv func(string) string) ([]string, error) {
	sh := getenv("DASHBOARD_SHELL")
	if sh == "" {
		return nil, nil
	}
	var shell []string
	if err := json.Unmarshal([]byte(sh), &shell); err != nil || len(shell) == 0 || shell[0] == "" {
		return nil, fmt.Errorf("dashboard: DASHBOARD_SHELL: expected a JSON array such as [\"/bin/bash\",\"-l\"], got %q", sh)
	}
	return shell, nil
}

// SandboxFromEnv reads DASHBOARD_SANDBOX, a JSON array of strings: the argv prefix that
// runs a program in the shells' sandbox (nil when unset).
func SandboxFromEnv(getenv func(string) string) ([]string, error) {
	v := getenv("DASHBOARD_SANDBOX")
	if v == "" {
		return nil, nil
	}
	var argv []string
	if err := json.Unmarshal([]byte(v), &argv); err != nil || len(argv) == 0 || argv[0] == "" {
		return nil, fmt.Errorf("dashboard: DASHBOARD_SANDBOX: expected a JSON array such as [\"/opt/portal/bwrap\",\"--\"], got %q", v)
	}
	return argv, nil
}

// Setup returns the shell's argv, environment and folder: shell (nil = bash, or sh where
// bash is missing), base (nil = this process's environment) without the secrets and the
// dashboard's own settings, with set's variables and the terminal's, in dir ("" = the
// current directory), which is also HOME.
func Setup(shell, base []string, dir string, set map[string]string) ([]string, []string, string, error) {
	if len(shell) == 0 {
		shell = []string{"/bin/bash", "-l"}
		if _, err := os.Stat(shell[0]); err != nil {
			shell = []string{"/bin/sh"}
		}
	}
	if dir == "" {
		wd, err := os.Getwd()
		if err != nil {
			return nil, nil, "", fmt.Errorf("dashboard: working directory: %w", err)
		}
		dir = wd
	}
	if base == nil {
		base = os.Environ()
	}
	fixed := map[string]string{"HOME": dir, "TERM": "xterm-256color", "COLORTERM": "truecolor", "PWD": dir}
	for k, v := range set {
		fixed[k] = v
	}
	own := map[string]bool{}
	for _, kv := range base {
		if v, ok := strings.CutPrefix(kv, ownEnvVar+"="); ok {
			for _, k := range strings.Split(v, ",") {
				own[k] = true
			}
		}
	}
	var env []string
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if secretEnv[k] || own[k] {
			continue
		}
		if _, ok := fixed[k]; ok {
			continue
		}
		env = append(env, kv)
	}
	keys := make([]string, 0, len(fixed))
	for k := range fixed {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		env = append(env, k+"="+fixed[k])
	}
	if !hasEnv(env, "PATH") {
		env = append(env, "PATH=/usr/local/bin:/usr/bin:/bin")
	}
	if !hasEnv(env, "LANG") {
		env = append(env, "LANG=C.UTF-8")
	}
	return shell, env, dir, nil
}

// envName is the form of a request parameter that also becomes a shell variable.
var envName = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// Settable reports whether a request parameter called name becomes a variable of shells
// whose own environment is base: a shell variable's name, not a secret's or a dashboard
// setting's, and not one of base's, which parameters never replace.
func Settable(base []string, name string) bool {
	return envName.MatchString(name) && !secretEnv[name] && !hasEnv(base, name) && name != "TERMINAL_ID"
}

func hasEnv(env []string, name string) bool {
	for _, kv := range env {
		if strings.HasPrefix(kv, name+"=") {
			return true
		}
	}
	return false
}
