package portal

import "context"

// ContentFetcher brings a workshop's published content (Workshop.Content) onto the
// portal's disk.
type ContentFetcher interface {
	// Fetch returns the folder holding the content of sources, fetching what it does not
	// have. key names the environment the content is for: until Forget(key), every call
	// with the same key returns the same folder, so all sessions of an environment see the
	// same content even when a tag or branch moves meanwhile. The error says, in a
	// sentence an instructor can act on, which source failed and why.
	Fetch(ctx context.Context, key string, sources []ContentSource) (string, error)
	// Forget drops what Fetch keeps for key; the next Fetch resolves the sources again.
	Forget(key string)
}

// ImageRoot is a workshop image (Workshop.Image) unpacked on the portal's disk: the root
// file system of its sessions, and what its configuration says about running in it.
type ImageRoot struct {
	Dir        string   // the unpacked file system (read-only for sessions)
	Digest     string   // the image's manifest digest ("sha256:…")
	Env        []string // the image's environment, NAME=value
	WorkingDir string   // "" when the image sets none
	User       string   // as the image gives it ("" = root): name or uid, with an optional ":group"
}

// ImageFetcher brings workshop images onto the portal's disk for a provisioner that runs
// sessions on the portal's own machine.
type ImageFetcher interface {
	// FetchImage returns the unpacked image that ref names, pulling it when it is not
	// there. key names the environment it is for: until Forget(key), every call with the
	// same key returns the same image, even when its tag moves meanwhile. The error says,
	// in a sentence an instructor can act on, why the image could not be had.
	FetchImage(ctx context.Context, key, ref string) (ImageRoot, error)
	// Forget drops what FetchImage keeps for key.
	Forget(key string)
}
