package dashboard

import (
	"bytes"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"portal/dashboard/terminal"
)

// ownerPost sends body to target as the session's owner from the dashboard's own page.
func ownerPost(s *Server, c *http.Cookie, target, contentType string, body io.Reader) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", target, body)
	r.Header.Set("Origin", "http://example.com") // httptest's host
	r.Header.Set("Content-Type", contentType)
	return do(s, withCookie(r, c))
}

// The examiner endpoint runs the content's test program in the session's home with the
// block's arguments: a pass, a failure, a timeout, and 404 for a test the content lacks.
func TestExaminerEndpoint(t *testing.T) {
	content, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(content, "workshop", "content", "01.md"), "# One\n", 0o644)
	tests := filepath.Join(content, "workshop", "examiner", "tests")
	writeFile(t, filepath.Join(tests, "has-file"), "#!/bin/sh\ntest -f \"$HOME/$1\"\n", 0o755)
	writeFile(t, filepath.Join(tests, "slow"), "#!/bin/sh\nsleep 30\n", 0o755)
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir, c.WorkDir = content, home })
	c := login(t, s, clock.Now())
	run := func(name, body string) (int, examinerResult) {
		t.Helper()
		w := ownerPost(s, c, "/examiner/test/"+name, "application/json", strings.NewReader(body))
		var res examinerResult
		if w.Code == http.StatusOK {
			if err := json.Unmarshal(w.Body.Bytes(), &res); err != nil {
				t.Fatalf("answer %q: %v", w.Body, err)
			}
		}
		return w.Code, res
	}
	if code, res := run("has-file", `{"args": ["done.txt"]}`); code != 200 || res.Success || res.Message != "Test failed to complete" {
		t.Errorf("before the file: %d %+v", code, res)
	}
	writeFile(t, filepath.Join(home, "done.txt"), "", 0o644)
	if code, res := run("has-file", `{"args": ["done.txt"], "timeout": 5}`); code != 200 || !res.Success {
		t.Errorf("with the file: %d %+v", code, res)
	}
	if code, res := run("slow", `{"timeout": 0.2}`); code != 200 || res.Success || !res.TimedOut {
		t.Errorf("past the timeout: %d %+v", code, res)
	}
	for _, name := range []string{"missing", ".hidden", "..%2Fcontent%2F01.md"} {
		if code, _ := run(name, `{}`); code != http.StatusNotFound {
			t.Errorf("test %q: status %d, want 404", name, code)
		}
	}
}

// Uploads land in the home's uploads folder, within the size limit and never out of it;
// a download gives the file as an attachment.
func TestUploadAndDownload(t *testing.T) {
	home := t.TempDir()
	s, clock := newTestServer(t, func(c *Config) { c.WorkDir = home })
	c := login(t, s, clock.Now())
	form := func(fields [][2]string, files map[string]string, field string) (string, io.Reader) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		for _, f := range fields {
			mw.WriteField(f[0], f[1])
		}
		for name, text := range files {
			fw, _ := mw.CreateFormFile(field, name)
			io.WriteString(fw, text)
		}
		mw.Close()
		return mw.FormDataContentType(), &b
	}
	ct, body := form([][2]string{{"path", "conf/kube.yaml"}}, map[string]string{"local.yaml": "apiVersion: v1\n"}, "file")
	if w := ownerPost(s, c, "/upload/file", ct, body); w.Code != 200 || w.Body.String() != "OK" {
		t.Fatalf("upload: %d %q", w.Code, w.Body)
	}
	if b, err := os.ReadFile(filepath.Join(home, "uploads", "conf", "kube.yaml")); err != nil || string(b) != "apiVersion: v1\n" {
		t.Errorf("uploaded file: %q, %v", b, err)
	}
	ct, body = form([][2]string{{"directory", "data"}}, map[string]string{"a.txt": "a", "b.txt": "b"}, "files")
	if w := ownerPost(s, c, "/upload/files", ct, body); w.Code != 200 {
		t.Fatalf("upload of two files: %d %q", w.Code, w.Body)
	}
	for _, n := range []string{"a", "b"} {
		if b, _ := os.ReadFile(filepath.Join(home, "uploads", "data", n+".txt")); string(b) != n {
			t.Errorf("%s.txt holds %q", n, b)
		}
	}
	ct, body = form([][2]string{{"path", "../../escaped"}}, map[string]string{"x": "x"}, "file")
	if w := ownerPost(s, c, "/upload/file", ct, body); w.Code != http.StatusNotFound {
		t.Errorf("upload out of the uploads folder: %d, want 404", w.Code)
	}
	ct, body = form([][2]string{{"directory", "../.."}}, map[string]string{"x": "x"}, "files")
	if w := ownerPost(s, c, "/upload/files", ct, body); w.Code != http.StatusNotFound {
		t.Errorf("uploads out of the uploads folder: %d, want 404", w.Code)
	}
	many := map[string]string{}
	for i := range maxUploads + 1 {
		many[string(rune('a'+i))] = "x"
	}
	ct, body = form(nil, many, "files")
	if w := ownerPost(s, c, "/upload/files", ct, body); w.Code != http.StatusBadRequest {
		t.Errorf("%d files at once: %d, want 400", len(many), w.Code)
	}
	ct, body = form([][2]string{{"path", "big"}}, map[string]string{"big": strings.Repeat("x", terminal.MaxFileSize+1)}, "file")
	if w := ownerPost(s, c, "/upload/file", ct, body); w.Code != http.StatusRequestEntityTooLarge {
		t.Errorf("a file over the limit: %d, want 413", w.Code)
	}
	if _, err := os.Stat(filepath.Join(home, "uploads", "big")); err == nil {
		t.Errorf("the file over the limit was kept")
	}

	w := do(s, withCookie(httptest.NewRequest("GET", "/files/uploads/conf/kube.yaml", nil), c))
	if w.Code != 200 || w.Body.String() != "apiVersion: v1\n" || w.Header().Get("Content-Disposition") != `attachment; filename=kube.yaml` {
		t.Errorf("download: %d %q %v", w.Code, w.Body, w.Header())
	}
	if w := do(s, withCookie(httptest.NewRequest("GET", "/files/..%2F..%2Fetc%2Fpasswd", nil), c)); w.Code != http.StatusNotFound {
		t.Errorf("download out of the home: %d, want 404", w.Code)
	}
}

// quizForm is the form of an examiner block asking for a name and a number of replicas,
// as the page posts it back.
const quizForm = `{"fields": [{"name": "name", "type": "string", "required": true},
	{"name": "replicas", "type": "integer"}], "submit": "Deploy"}`

// A test program reads the form's values as JSON on its standard input ("{}" without a
// form); values that fail the form never reach it.
func TestExaminerInputs(t *testing.T) {
	content, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(content, "workshop", "content", "01.md"), "# One\n", 0o644)
	// The program keeps what it read and passes for the name "web".
	writeFile(t, filepath.Join(content, "workshop", "examiner", "tests", "quiz"),
		"#!/bin/sh\ncat > \"$HOME/stdin.json\"\ngrep -q '\"name\":\"web\"' \"$HOME/stdin.json\"\n", 0o755)
	s, clock := newTestServer(t, func(c *Config) { c.ContentDir, c.WorkDir = content, home })
	c := login(t, s, clock.Now())
	run := func(body string) (int, string) {
		t.Helper()
		os.Remove(filepath.Join(home, "stdin.json"))
		w := ownerPost(s, c, "/examiner/test/quiz", "application/json", strings.NewReader(body))
		return w.Code, w.Body.String()
	}
	stdin := func() string {
		b, err := os.ReadFile(filepath.Join(home, "stdin.json"))
		if err != nil {
			return "(not run)"
		}
		return string(b)
	}
	if code, body := run(`{"form": {"name": "web", "replicas": 2}, "inputs": ` + quizForm + `}`); code != 200 || !strings.Contains(body, `"success":true`) {
		t.Errorf("right answer: %d %s", code, body)
	}
	if got, want := stdin(), `{"name":"web","replicas":2}`; got != want {
		t.Errorf("standard input %s, want %s", got, want)
	}
	if code, body := run(`{"form": {"name": "db"}, "inputs": ` + quizForm + `}`); code != 200 || !strings.Contains(body, `"success":false`) {
		t.Errorf("wrong answer: %d %s", code, body)
	}
	if got, want := stdin(), `{"name":"db"}`; got != want {
		t.Errorf("standard input %s, want %s", got, want)
	}
	if code, body := run(`{"args": []}`); code != 200 || stdin() != "{}" {
		t.Errorf("without a form: %d %s, standard input %s, want {}", code, body, stdin())
	}
	for _, body := range []string{
		`{"form": {"replicas": 2}, "inputs": ` + quizForm + `}`,
		`{"form": {"name": "web", "replicas": 2.5}, "inputs": ` + quizForm + `}`,
		`{"form": {"name": "web", "admin": true}, "inputs": ` + quizForm + `}`,
		`{"form": {"name": "web"}}`,
		`{"form": {"name": "web"}, "inputs": {"fields": [{"name": "name", "type": "file"}]}}`,
		`{"form": {"name": "web"}, "inputs": {"fields": [{"name": "name", "type": "string", "enum": ["web", {"a": 1}]}]}}`,
		`{"form": {"name": "` + strings.Repeat("x", maxInputsSize) + `"}, "inputs": ` + quizForm + `}`,
	} {
		if code, answer := run(body); code != http.StatusBadRequest || stdin() != "(not run)" {
			t.Errorf("%.80s: %d %s, standard input %s; want 400 and no run", body, code, answer, stdin())
		}
	}
}

// Each examiner run is reported to the portal as an Examiner/Result event with the test's
// name and outcome, which the instructor view shows.
func TestExaminerResultEvent(t *testing.T) {
	content, home := t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(content, "workshop", "content", "01.md"), "# One\n", 0o644)
	writeFile(t, filepath.Join(content, "workshop", "examiner", "tests", "fails"), "#!/bin/sh\nexit 1\n", 0o755)
	s, clock, fp := newTestServerPortal(t, func(c *Config) { c.ContentDir, c.WorkDir = content, home })
	c := login(t, s, clock.Now())
	if w := ownerPost(s, c, "/examiner/test/fails", "application/json", strings.NewReader(`{}`)); w.Code != http.StatusOK {
		t.Fatalf("examiner: status %d %q", w.Code, w.Body)
	}
	fp.events(s) // waits for the events in flight
	got := fp.eventData(s, "Examiner/Result")
	if want := map[string]any{"name": "fails", "success": false}; !reflect.DeepEqual(got, want) {
		t.Fatalf("Examiner/Result data = %v, want %v", got, want)
	}
}
