package dashboard

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"path"
	"path/filepath"
	"regexp"

	"portal/dashboard/terminal"
)

// examinerTests is where the workshop content keeps the examiner's test programs.
const examinerTests = "workshop/examiner/tests/"

// uploadsDir is the folder of the session's home that file uploads go to, as in the
// reference.
const uploadsDir = "uploads"

// testName is the form of an examiner test's name: one file name of the tests folder.
var testName = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9._-]*$`)

// examinerResult is the answer of POST /examiner/test/{name}, in the reference's shape
// (success and message) with what the portal adds.
type examinerResult struct {
	Success  bool   `json:"success"`
	Message  string `json:"message"`
	TimedOut bool   `json:"timed_out"`
}

// handleExaminerTest is POST /examiner/test/{name} with {"args": […], "timeout": seconds}:
// it runs the content's test program in the session and answers whether it passed. 404
// for a test the workshop lacks.
func (s *Server) handleExaminerTest(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	runner, ok := s.terms.(terminal.Runner)
	if !testName.MatchString(name) || !ok {
		http.Error(w, "The workshop has no examiner test "+name+".", http.StatusNotFound)
		return
	}
	var body struct {
		Args    []string       `json:"args"`
		Timeout float64        `json:"timeout"`
		Form    map[string]any `json:"form"`
		Inputs  *inputForm     `json:"inputs"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10)).Decode(&body); err != nil && !errors.Is(err, io.EOF) {
		http.Error(w, `Expected {"args": ["…"], "timeout": seconds, "form": {…}, "inputs": {…}}.`, http.StatusBadRequest)
		return
	}
	stdin, err := formInput(body.Form, body.Inputs)
	if err != nil {
		http.Error(w, "The form's values are not accepted: "+err.Error()+".", http.StatusBadRequest)
		return
	}
	res, err := runner.Run(r.Context(), terminal.RunRequest{Program: examinerTests + name, Args: body.Args, Timeout: body.Timeout, Stdin: stdin})
	if errors.Is(err, terminal.ErrNoProgram) {
		http.Error(w, "The workshop has no examiner test "+name+".", http.StatusNotFound)
		return
	}
	if err != nil {
		terminal.WriteError(w, s.log, "examiner", err)
		return
	}
	s.touch(false)
	s.emit("Examiner/Result", map[string]any{"name": name, "success": res.Passed()})
	ans := examinerResult{Success: res.Passed(), Message: "Test successfully completed", TimedOut: res.TimedOut}
	switch {
	case res.TimedOut:
		ans.Message = "Test did not finish in time"
	case !res.Passed():
		ans.Message = "Test failed to complete"
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(ans)
}

// formInput returns what a test program reads on its standard input: the form's values
// as one JSON object ("{}" without a form, as in the reference), once they pass the form
// the block showed (inputs) and the size limit.
func formInput(values map[string]any, inputs *inputForm) (string, error) {
	if values == nil {
		values = map[string]any{}
	}
	switch {
	case inputs == nil && len(values) > 0:
		return "", errors.New("the test has no form")
	case inputs != nil:
		if err := inputs.checkForm(); err != nil {
			return "", err
		}
		if err := inputs.validate(values); err != nil {
			return "", err
		}
	}
	b, err := json.Marshal(values)
	if err != nil {
		return "", err
	}
	if len(b) > maxInputsSize {
		return "", fmt.Errorf("the values are longer than %d bytes", maxInputsSize)
	}
	return string(b), nil
}

// files returns the session's files, or nil when its terminals reach none.
func (s *Server) files() terminal.Files {
	f, _ := s.terms.(terminal.Files)
	return f
}

// handleFile is GET /files/{path...}: a file of the session's home (path relative to it),
// as an attachment.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("path")
	f := s.files()
	if f == nil {
		http.NotFound(w, r)
		return
	}
	b, err := f.ReadFile(r.Context(), name)
	if err != nil {
		terminal.WriteFileError(w, s.log, name, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(name)}))
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Write(b)
}

// maxUploads bounds the files of one POST /upload/files.
const maxUploads = 4

// handleUpload is POST /upload/file (a multipart form: "path", then "file") and POST
// /upload/files ("directory", then the "files"): the files are written under the home's
// uploads folder, at path, or in directory under their own names. It answers "OK".
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	f := s.files()
	if f == nil {
		http.NotFound(w, r)
		return
	}
	many := r.URL.Path == "/upload/files"
	limit := int64(terminal.MaxFileSize + 1<<20)
	if many {
		limit = maxUploads*terminal.MaxFileSize + 1<<20
	}
	r.Body = http.MaxBytesReader(w, r.Body, limit)
	parts, err := r.MultipartReader()
	if err != nil {
		http.Error(w, "Expected a multipart form.", http.StatusBadRequest)
		return
	}
	dest, n := "", 0
	for {
		p, err := parts.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			terminal.WriteFileError(w, s.log, "upload", err)
			return
		}
		switch field := p.FormName(); {
		case field == "path" && !many, field == "directory" && many:
			v, _ := io.ReadAll(io.LimitReader(p, 4096))
			dest = string(v)
		case field == "file" && !many, field == "files" && many:
			var name string
			switch {
			case !many && dest != "":
				name = path.Join(uploadsDir, dest)
			case !many:
				name = path.Join(uploadsDir, p.FileName())
			default:
				name = path.Join(uploadsDir, dest, p.FileName())
			}
			if n++; n > maxUploads || (!many && n > 1) {
				http.Error(w, "Too many files in one upload.", http.StatusBadRequest)
				return
			}
			if p.FileName() == "" || !filepath.IsLocal(name) {
				terminal.WriteFileError(w, s.log, name, terminal.ErrNoFile)
				return
			}
			if err := f.WriteFile(r.Context(), name, p); err != nil {
				terminal.WriteFileError(w, s.log, name, err)
				return
			}
		}
	}
	if n == 0 {
		http.Error(w, "No file was uploaded.", http.StatusBadRequest)
		return
	}
	s.touch(false)
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.WriteString(w, "OK")
}
