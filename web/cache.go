package web

import (
	"net/http"
	"sync"

	"portal"
)

// readCache keeps JSON bodies computed from the store for as long as the store has not
// committed a write since: the catalog that every front end polls is then served without
// reading the store, and is never staler than a fresh read would be.
type readCache struct {
	mu sync.Mutex
	m  map[string]cachedBody
}

type cachedBody struct {
	version uint64
	body    []byte
}

const readCacheMax = 256

// serveCached answers with the body for key: the cached one while the store's version is
// unchanged, else one made by build (and kept when cacheable). Stores without a version
// always build.
func (s *Server) serveCached(w http.ResponseWriter, r *http.Request, key string, cacheable bool, build func() (any, error)) {
	vs, ok := s.store.(portal.Versioned)
	cacheable = cacheable && ok
	var version uint64
	if cacheable {
		version = vs.Version()
		s.reads.mu.Lock()
		c, hit := s.reads.m[key]
		s.reads.mu.Unlock()
		if hit && c.version == version {
			writeJSONBytes(w, http.StatusOK, c.body)
			return
		}
	}
	v, err := build()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	body := encodeJSON(v)
	if cacheable {
		s.reads.mu.Lock()
		if s.reads.m == nil || len(s.reads.m) >= readCacheMax {
			s.reads.m = map[string]cachedBody{}
		}
		// Labelled with the version read before building: a write that committed while
		// building makes the next request build again.
		s.reads.m[key] = cachedBody{version: version, body: body}
		s.reads.mu.Unlock()
	}
	writeJSONBytes(w, http.StatusOK, body)
}
