package sqlstore

import (
	"encoding/json"
	"fmt"
	"slices"
	"sync"

	"portal"
)

// maxEnvDecoded bounds the decoded environment settings kept.
const maxEnvDecoded = 128

// envCache keeps the Workshop and settings of environments decoded, by their JSON text:
// every allocation reads its environment, and decoding its JSON was the largest cost of a
// reacquire. Each read gets its own copy, so callers may change what they got.
type envCache struct {
	mu sync.Mutex
	m  map[string]envDecoded
}

type envDecoded struct {
	w portal.Workshop
	s portal.EnvironmentSettings
}

// decode fills e's Workshop and EnvironmentSettings from their JSON text.
func (c *envCache) decode(e *portal.Environment, workshop, settings string) error {
	key := workshop + "\x00" + settings
	c.mu.Lock()
	d, ok := c.m[key]
	c.mu.Unlock()
	if !ok {
		if err := json.Unmarshal([]byte(workshop), &d.w); err != nil {
			return fmt.Errorf("sqlstore: decode workshop: %w", err)
		}
		if err := json.Unmarshal([]byte(settings), &d.s); err != nil {
			return fmt.Errorf("sqlstore: decode environment settings: %w", err)
		}
		c.mu.Lock()
		if c.m == nil || len(c.m) >= maxEnvDecoded {
			c.m = map[string]envDecoded{}
		}
		c.m[key] = d
		c.mu.Unlock()
	}
	e.Workshop, e.EnvironmentSettings = d.w, d.s
	w, s := &e.Workshop, &e.EnvironmentSettings
	w.Authors, w.Tags, w.Labels = slices.Clone(w.Authors), slices.Clone(w.Tags), slices.Clone(w.Labels)
	w.Params, w.Env = slices.Clone(w.Params), slices.Clone(w.Env)
	w.SessionObjects, w.EnvironmentObjects = slices.Clone(w.SessionObjects), slices.Clone(w.EnvironmentObjects)
	w.Ingresses = slices.Clone(w.Ingresses)
	w.Dashboards = slices.Clone(w.Dashboards)
	s.Labels, s.Env = slices.Clone(s.Labels), slices.Clone(s.Env)
	return nil
}
