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
