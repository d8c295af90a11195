package dashboard

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"portal/internal/filewatch"
)

// authorMode is the dashboard of `portal workshop serve`: it reads the workshop content
// again when its files change, and tells the open pages through GET /workshop/changes,
// a stream of server-sent events, so that they show the instructions again at once. A
// stream rather than pages polling for a version: a page learns of a change as soon as
// it is rendered, and asks nothing when nothing changes.
type authorMode struct {
	stop context.CancelFunc
	done chan struct{}

	mu   sync.Mutex
	subs map[chan authorEvent]struct{}
}

// authorEvent is one event of the stream: "changed" (the instructions were read again),
// or "failed" with the reason they could not be (the last good ones stay).
type authorEvent struct {
	Name  string
	Error string
}

// authorPoll is how often the content's files are looked at.
const authorPoll = 200 * time.Millisecond

// startAuthor watches the workshop folder of the content and reloads it on change.
func (s *Server) startAuthor() {
	ctx, stop := context.WithCancel(context.Background())
	a := &authorMode{stop: stop, done: make(chan struct{}), subs: map[chan authorEvent]struct{}{}}
	s.author = a
	w := &filewatch.Watcher{Root: filepath.Join(s.cfg.ContentDir, "workshop"), Every: authorPoll, Changed: s.reloadContent}
	go func() { defer close(a.done); w.Run(ctx) }()
}

// close ends the watch and waits for a reload under way.
func (a *authorMode) close() {
	a.stop()
	<-a.done
}

// publish sends ev to every open stream; a stream that is behind misses it (the next
// one shows the same content).
func (a *authorMode) publish(ev authorEvent) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for ch := range a.subs {
		select {
		case ch <- ev:
		default:
		}
	}
}

func (a *authorMode) subscribe() (<-chan authorEvent, func()) {
	ch := make(chan authorEvent, 4)
	a.mu.Lock()
	a.subs[ch] = struct{}{}
	a.mu.Unlock()
	return ch, func() {
		a.mu.Lock()
		delete(a.subs, ch)
		a.mu.Unlock()
	}
}

// reloadContent reads the content again, renders it with the session's values and, when
// that works, serves it in place of the old; a Hugo workshop is built again.
func (s *Server) reloadContent() {
	set, err := loadAssets(s.cfg.ContentDir)
	var w *workshop
	if err == nil {
		if hs, ok := set.source.(*hugoSource); ok {
			hs.single = true
		}
		s.mu.Lock()
		params := s.params
		s.mu.Unlock()
		if w, err = set.source.render(s.cfg.Vars, params); err != nil {
			set.release()
		}
	}
	if err != nil {
		s.log.Warn("author mode: the changed content does not load; the last good one stays", "err", err)
		s.author.publish(authorEvent{Name: "failed", Error: err.Error()})
		return
	}
	s.mu.Lock()
	old := s.release
	s.source, s.content, s.release = set.source, w, set.release
	s.mu.Unlock()
	if old != nil {
		old()
	}
	s.log.Info("author mode: content read again", "pages", len(w.pages))
	s.author.publish(authorEvent{Name: "changed"})
}

// handleChanges is GET /workshop/changes in author mode: a stream of server-sent events,
// "changed" when the instructions were read again and "failed" (data: {"error": …}) when
// the changed content does not load. Without author mode it is not found.
func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if s.author == nil || !ok {
		http.NotFound(w, r)
		return
	}
	events, stop := s.author.subscribe()
	defer stop()
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	fmt.Fprint(w, ": watching the workshop content\n\n")
	flusher.Flush()
	for {
		select {
		case <-r.Context().Done():
			return
		case ev := <-events:
			data, _ := json.Marshal(map[string]string{"error": ev.Error})
			fmt.Fprintf(w, "event: %s\ndata: %s\n\n", ev.Name, data)
			flusher.Flush()
		}
	}
}
