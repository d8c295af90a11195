package main

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"portal/authoring"
)

// actionResult is what `portal workshop test` reports of one action block.
type actionResult struct {
	Page   string `json:"page"`
	File   string `json:"file,omitempty"` // below the workshop folder; "" when unknown
	Line   int    `json:"line,omitempty"` // of the block's opening fence; 0 when unknown
	Action string `json:"action"`         // the block's language: terminal:execute, execute-2…
	Status string `json:"status"`         // passed, failed or skipped
	// Message says why an action failed or was skipped.
	Message string `json:"message,omitempty"`
	// Output is the terminal's output of a failed terminal action, or the last lines of it.
	Output string `json:"output,omitempty"`
}

const (
	passed  = "passed"
	failed  = "failed"
	skipped = "skipped"
)

func workshopTest(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("workshop test", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: portal workshop test [--json] [--timeout D] [--start-timeout D] DIR")
		fs.PrintDefaults()
	}
	asJSON := fs.Bool("json", false, `print {"actions": [{"page", "file", "line", "action", "status", "message", "output"}…], "passed": N, "failed": N, "skipped": N}`)
	timeout := fs.Duration("timeout", time.Minute, "how long one action may take (a terminal command to finish, an examiner test with its retries)")
	startTimeout := fs.Duration("start-timeout", 2*time.Minute, "how long the portal and the session may take to start")
	dir, err := oneArgument(fs, args)
	if err != nil {
		return err
	}
	if *timeout <= 0 || *startTimeout <= 0 {
		fs.Usage()
		return errUsage
	}
	startCtx, cancel := context.WithTimeout(ctx, *startTimeout)
	defer cancel()
	p, err := startWorkshopPortal(startCtx, dir)
	if err != nil {
		return fmt.Errorf("workshop test: %w", err)
	}
	defer p.Close()
	name, base, client, err := p.openSession(startCtx)
	if name != "" {
		// Sessions outlive their portal: this one ends with the test.
		defer func() {
			stopCtx, cancelStop := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
			defer cancelStop()
			if err := p.endSession(stopCtx, name); err != nil {
				fmt.Fprintf(stderr, "portal: workshop test: stop session %s: %v\n", name, err)
			}
		}()
	}
	if err != nil {
		return fmt.Errorf("workshop test: %w", err)
	}
	r := &actionRunner{base: base, client: client, timeout: *timeout, terms: map[string]*actionTerm{}}
	results, err := r.run(ctx, dir)
	r.close()
	if err != nil {
		return fmt.Errorf("workshop test: %w", err)
	}
	count := map[string]int{}
	for _, a := range results {
		count[a.Status]++
	}
	if *asJSON {
		out := struct {
			Actions []actionResult `json:"actions"`
			Passed  int            `json:"passed"`
			Failed  int            `json:"failed"`
			Skipped int            `json:"skipped"`
		}{append([]actionResult{}, results...), count[passed], count[failed], count[skipped]}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
	} else {
		for _, a := range results {
			printResult(stdout, a)
		}
		fmt.Fprintf(stderr, "%s: %d passed, %d failed, %d skipped\n", dir, count[passed], count[failed], count[skipped])
	}
	if count[failed] > 0 {
		return quietExit(1)
	}
	return nil
}

// printResult prints one line for an action, "file:line: status: action (page)", and for a
// failure the output indented below it.
func printResult(w io.Writer, a actionResult) {
	where := a.File
	if where == "" {
		where = "page " + a.Page
	}
	if a.Line > 0 {
		where += ":" + strconv.Itoa(a.Line)
	}
	fmt.Fprintf(w, "%s: %s: %s", where, a.Status, a.Action)
	if a.Message != "" {
		fmt.Fprintf(w, ": %s", a.Message)
	}
	fmt.Fprintln(w)
	if a.Output != "" {
		for _, l := range strings.Split(strings.TrimRight(a.Output, "\n"), "\n") {
			fmt.Fprintf(w, "    | %s\n", l)
		}
	}
}

var (
	// pageName, pageBody and nextPage read a dashboard page (dashboard/templates/page.html).
	pageName = regexp.MustCompile(`<main class="instructions" id="instructions" data-page="([^"]*)"`)
	pageBody = regexp.MustCompile(`(?s)<article class="page-body">(.*)</article>`)
	nextPage = regexp.MustCompile(`<a class="next" rel="next" href="([^"]+)"`)
	// actionBlock is an action block as the dashboard renders it (dashboard.actionHTML):
	// a clickable <pre class="action …"> or an unusable block's warning.
	actionBlock = regexp.MustCompile(`(?s)<pre class="action action-([^"]+)"([^>]*)><code>(.*?)</code></pre>|<div class="action-invalid" role="note"><p class="warning">&#9888; This block does nothing here: (.*?)\.</p>`)
	attr        = regexp.MustCompile(`data-([a-z-]+)="([^"]*)"`)
	// namespaces are the first parts of the YAML-bodied actions' names.
	namespaces = []string{"terminal", "workshop", "dashboard", "examiner", "section", "files", "editor"}
)

// block is an action block of a page, read from the page's HTML.
type block struct {
	lang    string
	data    map[string]string
	text    string
	invalid string // why the block does nothing; "" for a usable one
}

// parseBlocks reads the action blocks of a page's body in page order.
func parseBlocks(body string) []block {
	var out []block
	for _, m := range actionBlock.FindAllStringSubmatch(body, -1) {
		if m[1] == "" {
			out = append(out, block{lang: "invalid", invalid: html.UnescapeString(m[4])})
			continue
		}
		b := block{lang: m[1], data: map[string]string{}, text: html.UnescapeString(m[3])}
		for _, ns := range namespaces {
			if strings.HasPrefix(b.lang, ns+"-") {
				b.lang = ns + ":" + b.lang[len(ns)+1:]
			}
		}
		for _, a := range attr.FindAllStringSubmatch(m[2], -1) {
			b.data[a[1]] = html.UnescapeString(a[2])
		}
		if t, ok := b.data["text"]; ok {
			b.text = t
		}
		out = append(out, b)
	}
	return out
}

// actionRunner runs a session's action blocks through its dashboard's endpoints, as the
// dashboard's page does when they are clicked.
type actionRunner struct {
	base    string // the dashboard's URL
	client  *http.Client
	timeout time.Duration
	terms   map[string]*actionTerm
	marks   int
}

// run walks the pages from the first one and runs each page's actions in order.
func (r *actionRunner) run(ctx context.Context, dir string) ([]actionResult, error) {
	var results []actionResult
	next := r.base + "/"
	for seen := map[string]bool{}; next != "" && !seen[next]; {
		seen[next] = true
		b, final, err := r.get(ctx, next)
		if err != nil {
			return results, fmt.Errorf("page %s: %w", next, err)
		}
		m := pageName.FindSubmatch(b)
		body := pageBody.FindSubmatch(b)
		if m == nil || body == nil {
			return results, fmt.Errorf("page %s: not a dashboard page", final)
		}
		name := html.UnescapeString(string(m[1]))
		file, lines := authoring.ActionLines(dir, name)
		blocks := parseBlocks(string(body[1]))
		for i, blk := range blocks {
			res := actionResult{Page: name, File: file, Action: blk.lang}
			// Blocks made by shortcodes or hidden by conditions leave the lines unknown.
			if len(lines) == len(blocks) {
				res.Line = lines[i]
			}
			if blk.data["action"] == "execute" {
				if then := ender(blocks[i+1:], blk.data["terminal"]); then != "" {
					// A command that the page ends or answers later is meant to keep running.
					res.Status, res.Message, res.Output = r.input(ctx, blk.data["terminal"], blk.text, true, blk.data["clear"] == "true")
					if res.Status == passed {
						res.Message = "left running: a " + then + " on its terminal follows"
					}
					results = append(results, res)
					continue
				}
			}
			res.Status, res.Message, res.Output = r.perform(ctx, blk)
			results = append(results, res)
		}
		next = ""
		if n := nextPage.FindSubmatch(b); n != nil {
			u, err := final.Parse(html.UnescapeString(string(n[1])))
			if err != nil {
				return results, err
			}
			next = u.String()
		}
	}
	return results, nil
}

// ender returns "terminal:interrupt" or "terminal:input" when that is the next terminal
// action (execute, input, interrupt or clear) of blocks that types into terminal id, else "".
func ender(blocks []block, id string) string {
	for _, b := range blocks {
		t := b.data["terminal"]
		if t != id && t != "all" && id != "all" {
			continue
		}
		switch b.data["action"] {
		case "interrupt", "input":
			return "terminal:" + b.data["action"]
		case "execute", "clear":
			return ""
		}
	}
	return ""
}

// get fetches a dashboard page and returns it with its final URL.
func (r *actionRunner) get(ctx context.Context, u string) ([]byte, *url.URL, error) {
	req, _ := http.NewRequestWithContext(ctx, "GET", u, nil)
	resp, err := r.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("status %s", resp.Status)
	}
	return b, resp.Request.URL, err
}

// post sends a JSON body to the dashboard as its page does (same origin) and returns the
// answer's status and body.
func (r *actionRunner) post(ctx context.Context, path string, body any) (int, []byte, error) {
	b, _ := json.Marshal(body)
	req, _ := http.NewRequestWithContext(ctx, "POST", r.base+path, bytes.NewReader(b))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Origin", r.base)
	req.Header.Set("X-Requested-With", "dashboard")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	return resp.StatusCode, out, err
}

// skipReasons are the actions that need a person or a browser, with why they are skipped.
var skipReasons = map[string]string{
	"copy":             "copies to the browser's clipboard",
	"copy-and-edit":    "copies to the browser's clipboard",
	"open-url":         "opens a browser window",
	"select":           "selects a terminal in the browser",
	"section-begin":    "opens a section of the page in the browser",
	"section-end":      "ends a section of the page",
	"section-heading":  "a heading of the page",
	"upload-file":      "needs a person to choose a file",
	"upload-files":     "needs a person to choose files",
	"open-dashboard":   "shows a dashboard tab in the browser",
	"create-dashboard": "makes a dashboard tab in the browser",
	"reload-dashboard": "reloads a dashboard tab in the browser",
	"delete-dashboard": "removes a dashboard tab in the browser",
}

// perform runs one block and returns its status, a message and the output to show.
func (r *actionRunner) perform(ctx context.Context, b block) (status, message, output string) {
	if b.invalid != "" {
		return failed, "the block does nothing: " + b.invalid, ""
	}
	kind := b.data["action"]
	if why, ok := skipReasons[kind]; ok {
		return skipped, why, ""
	}
	if kind == "interrupt" {
		return r.interrupt(ctx, b.data["terminal"])
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	switch kind {
	case "execute":
		return r.execute(ctx, b)
	case "input":
		return r.input(ctx, b.data["terminal"], b.text, b.data["enter"] != "false", false)
	case "clear":
		code, body, err := r.post(ctx, "/terminal/"+url.PathEscape(b.data["terminal"])+"/clear", struct{}{})
		return answer(code, body, err)
	case "examiner":
		return r.examine(ctx, b)
	case "editor":
		var edit map[string]any
		if err := json.Unmarshal([]byte(b.data["edit"]), &edit); err != nil {
			return failed, "the block's edit is not JSON: " + err.Error(), ""
		}
		if edit["kind"] == "close-file" {
			return skipped, "closes a file of the browser's editor", ""
		}
		body := map[string]any{"file": b.data["file"], "edit": edit}
		if src, ok := b.data["src"]; ok {
			body["src"] = src
		}
		code, ans, err := r.post(ctx, "/editor/edit", body)
		return answer(code, ans, err)
	case "download-file", "copy-file":
		if b.data["path"] == "" {
			return skipped, "fetches " + b.data["url"] + " in the browser", ""
		}
		var p []string
		for _, s := range strings.Split(b.data["path"], "/") {
			p = append(p, url.PathEscape(s))
		}
		if _, _, err := r.get(ctx, r.base+"/files/"+strings.Join(p, "/")); err != nil {
			return failed, "the file " + b.data["path"] + ": " + err.Error(), ""
		}
		return passed, "", ""
	}
	return skipped, "not an action this test knows", ""
}

// answer turns a dashboard endpoint's answer into an action's status.
func answer(code int, body []byte, err error) (string, string, string) {
	switch {
	case err != nil:
		return failed, err.Error(), ""
	case code/100 != 2:
		return failed, fmt.Sprintf("the dashboard answered %d: %s", code, strings.TrimSpace(string(body))), ""
	}
	return passed, "", ""
}

// terminalIDs returns the terminals an action of terminal id types into: the ones the
// test has open for "all" (at least the first).
func (r *actionRunner) terminalIDs(ctx context.Context, id string) ([]*actionTerm, error) {
	if id == "" {
		id = "1"
	}
	if id != "all" {
		t, err := r.terminal(ctx, id)
		return []*actionTerm{t}, err
	}
	if _, err := r.terminal(ctx, "1"); err != nil {
		return nil, err
	}
	var out []*actionTerm
	for _, t := range r.terms {
		out = append(out, t)
	}
	return out, nil
}

// input types text into the terminal id without waiting for anything.
func (r *actionRunner) input(ctx context.Context, id, text string, enter, clear bool) (string, string, string) {
	if _, err := r.terminalIDs(ctx, id); err != nil {
		return failed, err.Error(), ""
	}
	code, body, err := r.post(ctx, "/terminal/"+url.PathEscape(cmp.Or(id, "1"))+"/input",
		map[string]any{"text": text, "enter": enter, "clear": clear})
	return answer(code, body, err)
}

// settleTimeout bounds how long an interrupted shell may take to read commands again.
const settleTimeout = 30 * time.Second

// interrupt sends Ctrl-C to the terminal id and waits (up to settleTimeout) for its shell
// to read commands again.
func (r *actionRunner) interrupt(ctx context.Context, id string) (string, string, string) {
	ctx, cancel := context.WithTimeout(ctx, settleTimeout)
	defer cancel()
	terms, err := r.terminalIDs(ctx, id)
	if err != nil {
		return failed, err.Error(), ""
	}
	for _, t := range terms {
		if err := r.settle(ctx, t, true); err != nil {
			return failed, fmt.Sprintf("terminal %s: the shell does not read commands after the interrupt: %v", t.id, err), ""
		}
	}
	return passed, "", ""
}

// settle waits until the shell of terminal t reads commands: it types a line that prints
// a marker, and again, after a wait that doubles from a second, until one of them shows,
// as a line typed while the shell handles an interrupt may be lost (Ctrl-U first drops
// what is left of one). With interrupt, Ctrl-C goes before each line, as one that comes
// while the shell starts a command may not reach the command; and a marker typed after
// the last Ctrl-C must show too, as the command may start after the first marker.
func (r *actionRunner) settle(ctx context.Context, t *actionTerm, interrupt bool) error {
	var marks []string
	for wait := time.Second; ; wait *= 2 {
		if interrupt {
			if st, msg, _ := r.input(ctx, t.id, "<ctrl-c>", false, false); st != passed {
				return errors.New(msg)
			}
		}
		ok, err := r.echoMark(ctx, t, wait, &marks)
		if ok && interrupt {
			confirm := []string{}
			ok, err = r.echoMark(ctx, t, wait, &confirm)
		}
		if ok || err != nil {
			return err
		}
	}
}

// echoMark types a line that prints a new marker and reports whether it, or one of the
// earlier marks, shows within wait. The error is ctx's or the dashboard's.
func (r *actionRunner) echoMark(ctx context.Context, t *actionTerm, wait time.Duration, marks *[]string) (bool, error) {
	r.marks++
	*marks = append(*marks, strconv.Itoa(r.marks))
	if st, msg, _ := r.input(ctx, t.id, "\x15echo \"__PORTAL_TEST_"+strconv.Itoa(r.marks)+"=$((6*7))\"", true, false); st != passed {
		return false, errors.New(msg)
	}
	try, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	_, err := t.waitFor(try, regexp.MustCompile(`(__PORTAL_TEST_(?:`+strings.Join(*marks, "|")+`))=42`))
	if ctx.Err() != nil {
		return false, ctx.Err()
	}
	return err == nil, nil
}

// execute types a command into its terminals, then a marker that prints the command's
// exit status, and waits for the marker: the command passes when its status is 0.
func (r *actionRunner) execute(ctx context.Context, b block) (string, string, string) {
	terms, err := r.terminalIDs(ctx, b.data["terminal"])
	if err != nil {
		return failed, err.Error(), ""
	}
	starts := make([]int, len(terms))
	for i, t := range terms {
		starts[i] = t.size()
	}
	if st, msg, out := r.input(ctx, b.data["terminal"], b.text, true, b.data["clear"] == "true"); st != passed {
		return st, msg, out
	}
	for i, t := range terms {
		r.marks++
		mark := fmt.Sprintf("__PORTAL_TEST_%d", r.marks)
		if st, msg, out := r.input(ctx, t.id, `echo "`+mark+`=$?"`, true, false); st != passed {
			return st, msg, out
		}
		code, err := t.waitFor(ctx, regexp.MustCompile(mark+`=(\d+)`))
		out := lastLines(fromCommand(cleanOutput(t.since(starts[i]), mark), b.text), 20)
		if err != nil {
			// Interrupted, the command leaves the terminal to the actions after it.
			if st, msg, _ := r.interrupt(context.WithoutCancel(ctx), t.id); st != passed {
				return failed, fmt.Sprintf("terminal %s: the command did not finish within %v: %s", t.id, r.timeout, msg), out
			}
			return failed, fmt.Sprintf("terminal %s: the command did not finish within %v and was interrupted", t.id, r.timeout), out
		}
		if code != "0" {
			return failed, fmt.Sprintf("terminal %s: the command exited with status %s", t.id, code), out
		}
	}
	return passed, "", ""
}

// examine runs an examiner test as the page does: again after data-delay seconds (1 by
// default) while it fails and data-retries allows ("inf": until the action's timeout).
func (r *actionRunner) examine(ctx context.Context, b block) (string, string, string) {
	if b.data["url"] != "" {
		return skipped, "the test runs at " + b.data["url"] + ", outside the session", ""
	}
	if b.data["inputs"] != "" {
		return skipped, "the test needs a person to fill in its form", ""
	}
	var args []string
	json.Unmarshal([]byte(cmp.Or(b.data["args"], "[]")), &args)
	t, _ := strconv.ParseFloat(b.data["timeout"], 64)
	if t <= 0 {
		t = 15
	}
	retries := -1.0 // without end
	if b.data["retries"] != "inf" {
		retries, _ = strconv.ParseFloat(b.data["retries"], 64)
	}
	delay, err := strconv.ParseFloat(b.data["delay"], 64)
	if err != nil {
		delay = 1
	}
	body := map[string]any{"args": args, "timeout": t, "form": map[string]any{}}
	for attempt := 1; ; attempt++ {
		code, ans, err := r.post(ctx, "/examiner/test/"+url.PathEscape(b.data["name"]), body)
		var res struct {
			Success bool   `json:"success"`
			Message string `json:"message"`
		}
		msg := ""
		switch {
		case err != nil:
			msg = err.Error()
		case code == http.StatusNotFound:
			msg = "no such test: " + strings.TrimSpace(string(ans))
		case code != http.StatusOK:
			msg = fmt.Sprintf("the dashboard answered %d: %s", code, strings.TrimSpace(string(ans)))
		case json.Unmarshal(ans, &res) != nil:
			msg = "the dashboard's answer is not JSON: " + string(ans)
		case res.Success:
			return passed, "", ""
		default:
			msg = res.Message
		}
		tries := ""
		if attempt > 1 {
			tries = fmt.Sprintf(" (%d attempts)", attempt)
		}
		if retries >= 0 && float64(attempt) > retries || ctx.Err() != nil {
			return failed, fmt.Sprintf("examiner test %s: %s%s", b.data["name"], msg, tries), ""
		}
		if pause(ctx, time.Duration(delay*float64(time.Second))) != nil {
			return failed, fmt.Sprintf("examiner test %s: %s%s, out of time", b.data["name"], msg, tries), ""
		}
	}
}

func (r *actionRunner) close() {
	for _, t := range r.terms {
		t.conn.Close(websocket.StatusNormalClosure, "")
	}
}

// actionTerm is a terminal's WebSocket with everything it has printed.
type actionTerm struct {
	id   string
	conn *websocket.Conn
	mu   sync.Mutex
	out  bytes.Buffer
	err  error
	more chan struct{} // closed and replaced on new output
}

// terminal returns terminal id's connection, opening it on first use.
func (r *actionRunner) terminal(ctx context.Context, id string) (*actionTerm, error) {
	if t := r.terms[id]; t != nil {
		return t, nil
	}
	u := "ws" + strings.TrimPrefix(r.base, "http") + "/terminal/" + url.PathEscape(id)
	hc := *r.client
	hc.Timeout = 0
	conn, _, err := websocket.Dial(ctx, u, &websocket.DialOptions{HTTPClient: &hc, HTTPHeader: http.Header{"Origin": {r.base}}})
	if err != nil {
		return nil, fmt.Errorf("terminal %s: %w", id, err)
	}
	conn.SetReadLimit(4 << 20)
	t := &actionTerm{id: id, conn: conn, more: make(chan struct{})}
	go func() {
		for {
			_, msg, err := conn.Read(context.Background())
			t.mu.Lock()
			if err != nil {
				t.err = err
			} else {
				t.out.Write(msg)
			}
			close(t.more)
			t.more = make(chan struct{})
			t.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	// A wide terminal keeps the shell's echo of long commands on one line.
	if err := conn.Write(ctx, websocket.MessageText, []byte(`{"type":"resize","cols":250,"rows":50}`)); err != nil {
		return nil, fmt.Errorf("terminal %s: %w", id, err)
	}
	r.terms[id] = t
	// The shell may still be starting.
	if err := r.settle(ctx, t, false); err != nil {
		return nil, fmt.Errorf("terminal %s: the shell does not read commands: %w", id, err)
	}
	return t, nil
}

func (t *actionTerm) size() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.out.Len()
}

func (t *actionTerm) since(n int) string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.out.String()[n:]
}

// waitFor waits until the output matches re and returns the first submatch.
func (t *actionTerm) waitFor(ctx context.Context, re *regexp.Regexp) (string, error) {
	for {
		t.mu.Lock()
		m := re.FindStringSubmatch(t.out.String())
		more, err := t.more, t.err
		t.mu.Unlock()
		if m != nil {
			return m[1], nil
		}
		if err != nil {
			return "", err
		}
		select {
		case <-more:
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
}

// ansi matches the terminal's escape sequences.
var ansi = regexp.MustCompile(`\x1b\[[0-9;?<>=]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(\x07|\x1b\\)|\x1b[()][0-9A-Za-z]|\x1b[=>78]`)

// cleanOutput returns terminal output as text: without escape sequences, carriage returns
// and the lines of the test's marker.
func cleanOutput(s, mark string) string {
	s = ansi.ReplaceAllString(s, "")
	var keep []string
	for _, l := range strings.Split(strings.ReplaceAll(s, "\r\n", "\n"), "\n") {
		if i := strings.LastIndexByte(l, '\r'); i >= 0 {
			l = l[i+1:]
		}
		if !strings.Contains(l, mark) {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// fromCommand drops what the terminal printed before the echo of the command typed: the
// shell's prompt, which may come before or after the output was first read.
func fromCommand(out, command string) string {
	first, _, _ := strings.Cut(command, "\n")
	if first = strings.TrimSpace(first); first == "" {
		return out
	}
	if i := strings.Index(out, first); i >= 0 {
		return out[i:]
	}
	return out
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
