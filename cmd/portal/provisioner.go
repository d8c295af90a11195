package main

import (
	"context"
	"debug/buildinfo"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"

	"portal"
	"portal/localproc"
	"portal/workshopfiles"
)

// sessionRunner is the provisioner `portal serve` runs sessions with, and what the operator
// is told about their isolation and limits.
type sessionRunner struct {
	portal.Provisioner
	Close func() error
	// Sandboxed and Limited say whether sessions are isolated and resource-limited, with a
	// sentence for the operator that says how, or why not.
	Sandboxed, Limited      bool
	SandboxNote, LimitsNote string
	// Files fetches workshop content, and workshop images for a provisioner that runs
	// them from the portal's disk (Images, nil for Kubernetes, which pulls them itself).
	Files  *workshopfiles.Fetcher
	Images portal.ImageFetcher
}

// workshopFiles is the fetcher of published workshop content and workshop images, with
// its cache in the data folder.
func workshopFiles(c *serveConfig, dataDir string) *workshopfiles.Fetcher {
	return &workshopfiles.Fetcher{Dir: filepath.Join(dataDir, "workshop-files"), ImageRepository: c.ImageRepository}
}

// newProvisioner creates the provisioner chosen by --provisioner: local processes (the
// default) or namespaces on Kubernetes.
func newProvisioner(ctx context.Context, c *serveConfig, portalName, dataDir, sockDir string, log *slog.Logger) (*sessionRunner, error) {
	if c.Kube.Provisioner == "kubernetes" {
		kp, err := newKubeProvisioner(ctx, c.Kube, portalName, log)
		if err != nil {
			return nil, err
		}
		return &sessionRunner{Provisioner: kp, Close: kp.Close, Sandboxed: true, Limited: true,
			Files:       workshopFiles(c, dataDir),
			SandboxNote: "sessions run in Kubernetes namespaces of their own, each with a network policy that keeps the other sessions out",
			LimitsNote:  "sessions' resources are bounded by their namespace budgets (session.namespaces.budget) and the cluster's own limits"}, nil
	}
	return newLocalProvisioner(c, dataDir, sockDir, log)
}

// newLocalProvisioner runs each session as a local dashboard process.
func newLocalProvisioner(c *serveConfig, dataDir, sockDir string, log *slog.Logger) (*sessionRunner, error) {
	sandbox := localproc.SandboxConfig{Bwrap: c.Bwrap, Hide: []string{dataDir}}
	if c.AllowUnsandboxed {
		sandbox.Mode = localproc.SandboxPreferred
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the portal's own executable: %w", err)
	}
	own, _ := debug.ReadBuildInfo()
	dashCmd, dashNote := dashboardCommand(exe, own, buildinfo.ReadFile)
	if dashNote != "" {
		log.Warn(dashNote)
	}
	termsCmd, termsNote := terminalsCommand(exe, own, buildinfo.ReadFile, dashCmd)
	if termsNote != "" && c.SharedDashboards {
		log.Warn(termsNote)
	}
	files := workshopFiles(c, dataDir)
	lp, err := localproc.New(localproc.Config{Dir: filepath.Join(dataDir, "sessions"), Logger: log, Command: dashCmd,
		Images:  files,
		Sandbox: sandbox, TerminalsCommand: termsCmd, Network: localproc.NetworkConfig{Egress: c.SessionEgress,
			Slirp4netns: c.Slirp4netns, PortalSocketDir: sockDir}, NoCgroups: !c.SessionLimits,
		SharedDashboards: c.SharedDashboards})
	if errors.Is(err, localproc.ErrNoEgress) {
		return nil, fmt.Errorf("%w\n\nInstall slirp4netns (Debian and Ubuntu: apt-get install slirp4netns) so that sessions get outbound access,\n"+
			"or start the portal without --session-egress (PORTAL_SESSION_EGRESS=false): sessions then have no network beyond their own loopback", err)
	}
	if errors.Is(err, localproc.ErrNoSandbox) {
		return nil, fmt.Errorf("%w\n\nInstall bubblewrap (Debian and Ubuntu: apt-get install bubblewrap) so that sessions run isolated,\n"+
			"or start the portal with --allow-unsandboxed (PORTAL_ALLOW_UNSANDBOXED=true) to run them without isolation:\n"+
			"every session could then read the portal's database and credentials and the other sessions' files", err)
	}
	if err != nil {
		return nil, err
	}
	logDashboardMode(log, c, lp)
	r := &sessionRunner{Provisioner: lp, Close: lp.Close, Files: files, Images: files}
	r.Sandboxed, r.SandboxNote = lp.Sandboxed()
	r.Limited, r.LimitsNote = lp.Limited()
	return r, nil
}

// logDashboardMode says at startup whether the sessions of an environment share one
// dashboard process, or why each runs its own: an Info line, or a Warn when the operator
// asked for shared dashboards (--shared-dashboards, PORTAL_SHARED_DASHBOARDS=true) and
// the sessions cannot have them. Shared dashboards are the default, so a portal that falls
// back (unsandboxed, two sandbox layers, egress) says why without alarming anyone.
func logDashboardMode(log *slog.Logger, c *serveConfig, lp interface{ SharedDashboards() (bool, string) }) {
	shared, note := lp.SharedDashboards()
	switch {
	case shared:
		log.Info("shared dashboards: one dashboard process per environment; a session's sandbox starts with its first terminal", "note", note)
	case c.SharedDashboards && c.SharedDashboardsAsked:
		log.Warn("--shared-dashboards has no effect: each session runs its own dashboard", "why", note)
	case c.SharedDashboards:
		log.Info("dashboard per session: each session runs its own dashboard process", "why", note)
	default:
		log.Info("dashboard per session: each session runs its own dashboard process", "why", note+" (--shared-dashboards=false)")
	}
}
