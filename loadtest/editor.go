package loadtest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// editorFile is the file of the session's home that each learner's use of the editor
// makes (by an editor action), saves and opens again.
const editorFile = "loadtest-editor.txt"

// monacoScript is the editor's main script, which the browser fetches once, the first
// time the Editor tab is shown or an editor action runs.
const monacoScript = "/static/vendor/monaco/vs/editor/editor.main.js"

// editorOps are the operations of one use of the editor, in order.
var editorOps = []string{"editor-tree", "editor-script", "editor-edit", "editor-save", "editor-open"}

// errReadBack is a saved file that, opened again, is not what was saved.
var errReadBack = errors.New("the saved file does not read back")

// useEditor uses the Editor tab of l's dashboard as the browser does, with l's cookies
// and the session host's origin: it lists the home (editor-tree), fetches Monaco's main
// script (editor-script), appends a line to editorFile by an editor action, which makes
// the file when it is not there and answers with its text (editor-edit), saves the text
// with line typed at its end (editor-save), and opens the file again (editor-open). Every
// request must answer 2xx; the file opened must be what was saved, else the error wraps
// errReadBack.
func (c *client) useEditor(ctx context.Context, l learner, line string) error {
	lu, err := url.Parse(l.landing)
	if err != nil {
		return err
	}
	host := lu.Scheme + "://" + lu.Host
	origin := http.Header{"Origin": {host}}
	call := func(method, path string, body []byte, hdr http.Header) ([]byte, error) {
		resp, b, err := do(ctx, l.browser, method, host+path, "", bytes.NewReader(body), hdr)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode/100 != 2 {
			return nil, &statusError{resp.StatusCode, string(b)}
		}
		return b, nil
	}
	fileURL := "/editor/files/" + url.PathEscape(editorFile)
	if err := c.timed(ctx, "editor-tree", func() (int, error) {
		b, err := call(http.MethodGet, "/editor/tree", nil, nil)
		if err != nil {
			return 0, err
		}
		var tree struct {
			Files *[]json.RawMessage `json:"files"`
		}
		if err := json.Unmarshal(b, &tree); err != nil || tree.Files == nil {
			return 0, fmt.Errorf("the home's list is not a tree: %.200s", b)
		}
		return len(b), nil
	}); err != nil {
		return err
	}
	if err := c.timed(ctx, "editor-script", func() (int, error) {
		b, err := call(http.MethodGet, monacoScript, nil, nil)
		if err == nil && len(b) == 0 {
			err = errors.New("Monaco's main script is empty")
		}
		return len(b), err
	}); err != nil {
		return err
	}
	var text string
	if err := c.timed(ctx, "editor-edit", func() (int, error) {
		req, _ := json.Marshal(map[string]any{"file": editorFile,
			"edit": map[string]string{"kind": "append-lines-to-file", "text": line}})
		b, err := call(http.MethodPost, "/editor/edit", req, origin)
		if err != nil {
			return 0, err
		}
		var ans struct {
			Content string `json:"content"`
		}
		if err := json.Unmarshal(b, &ans); err != nil || !strings.Contains(ans.Content, line) {
			return 0, fmt.Errorf("the editor action's answer has not the line appended: %.200s", b)
		}
		text = ans.Content
		return len(b), nil
	}); err != nil {
		return err
	}
	if text != "" && !strings.HasSuffix(text, "\n") {
		text += "\n"
	}
	saved := text + line + " (typed)\n"
	if err := c.timed(ctx, "editor-save", func() (int, error) {
		b, err := call(http.MethodPut, fileURL, []byte(saved), origin)
		return len(b), err
	}); err != nil {
		return err
	}
	return c.timed(ctx, "editor-open", func() (int, error) {
		b, err := call(http.MethodGet, "/files/"+url.PathEscape(editorFile), nil, nil)
		if err == nil && string(b) != saved {
			err = fmt.Errorf("%w: %d bytes saved, %d read", errReadBack, len(saved), len(b))
		}
		return len(b), err
	})
}

// editorChecks checks, when the learners used the editor, that every editor request of
// every learner whose dashboard answered was answered 2xx, and that every saved file
// read back.
func (r *run) editorChecks(ls []learner) {
	if !r.cfg.Editor {
		return
	}
	ready, answered, readBack := 0, 0, 0
	for _, l := range ls {
		if l.dashboard.IsZero() {
			continue
		}
		ready++
		if l.edited || errors.Is(l.err, errReadBack) {
			answered++
		}
		if l.edited {
			readBack++
		}
	}
	var errs []string
	for _, o := range r.c.rec.stats(0) {
		if slices.Contains(editorOps, o.Name) && o.Errors > 0 {
			errs = append(errs, fmt.Sprintf("%s: %d (%s)", o.Name, o.Errors, o.FirstError))
		}
	}
	detail := "none failed"
	if len(errs) > 0 {
		detail = strings.Join(errs, "; ")
	}
	r.rep.check("every editor request answered 2xx", answered == ready && ready > 0,
		"%d of %d learners; errors: %s", answered, ready, detail)
	r.rep.check("every saved file read back", readBack == ready && ready > 0, "%d of %d learners", readBack, ready)
}
