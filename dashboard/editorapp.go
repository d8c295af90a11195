package dashboard

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"path"

	"portal/dashboard/editor"
	"portal/dashboard/terminal"
)

// editRequest is the body of POST /editor/edit: an editor action on a file of the home.
type editRequest struct {
	File string      `json:"file"`          // relative to the home
	Src  string      `json:"src,omitempty"` // copy-file: the file copied to File
	Edit editor.Edit `json:"edit"`
}

// editAnswer is the answer of POST /editor/edit: the file after the edit, and what the
// editor shows of it.
type editAnswer struct {
	File    string        `json:"file"`
	Content string        `json:"content"`
	Changed bool          `json:"changed"`
	Line    int           `json:"line,omitempty"`
	Select  *editor.Range `json:"select,omitempty"`
}

// maxEditRequest bounds the body of POST /editor/edit.
const maxEditRequest = 1 << 20

// creates are the edit kinds that make a file that is not there.
var creates = map[string]bool{
	"create-file": true, "append-lines-to-file": true, "prepend-lines-to-file": true,
	"insert-value-into-yaml": true, "set-yaml-value": true, "add-yaml-item": true, "insert-yaml-item": true, "merge-yaml-values": true,
}

// handleEdit is POST /editor/edit (an editRequest): the edit is applied to the file in
// the session's home, and written back when it changed it. An edit that does not fit the
// file (no match, a line past the end) answers 422 with why. The create-directory,
// rename-file and delete-file kinds make, move or remove the file or folder instead, and
// answer with no content.
func (s *Server) handleEdit(w http.ResponseWriter, r *http.Request) {
	f := s.files()
	if f == nil {
		http.NotFound(w, r)
		return
	}
	var req editRequest
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxEditRequest)).Decode(&req); err != nil {
		http.Error(w, "Expected an edit as JSON.", http.StatusBadRequest)
		return
	}
	if !localPath(req.File) || (req.Src != "" && !localPath(req.Src)) {
		http.Error(w, "The file must be a path in the session's home.", http.StatusBadRequest)
		return
	}
	if !editor.Kinds[req.Edit.Kind] && !fileOpKinds[req.Edit.Kind] {
		http.Error(w, "No such editor action.", http.StatusBadRequest)
		return
	}
	s.editMu.Lock()
	defer s.editMu.Unlock()
	if fileOpKinds[req.Edit.Kind] {
		s.fileOp(w, r, req)
		return
	}
	from := req.File
	if req.Src != "" {
		from = req.Src
	}
	content, err := f.ReadFile(r.Context(), from)
	switch {
	case errors.Is(err, terminal.ErrNoFile) && creates[req.Edit.Kind]:
		content = nil
	case err != nil:
		terminal.WriteFileError(w, s.log, from, err)
		return
	}
	res, err := editor.Apply(req.Edit, content)
	if bad := (*editor.BadEdit)(nil); errors.As(err, &bad) {
		http.Error(w, "The edit does not apply to "+path.Base(req.File)+": "+bad.Reason+".", http.StatusUnprocessableEntity)
		return
	}
	if err != nil {
		http.Error(w, "No such editor action.", http.StatusBadRequest)
		return
	}
	if res.Changed || req.Src != "" {
		if err := f.WriteFile(r.Context(), req.File, bytes.NewReader(res.Content)); err != nil {
			terminal.WriteFileError(w, s.log, req.File, err)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(editAnswer{File: req.File, Content: string(res.Content), Changed: res.Changed || req.Src != "",
		Line: res.Line, Select: res.Select})
}

// fileOp does a create-directory, rename-file (Src to File) or delete-file edit request.
func (s *Server) fileOp(w http.ResponseWriter, r *http.Request, req editRequest) {
	ops, ok := s.terms.(terminal.FileOps)
	if !ok {
		http.NotFound(w, r)
		return
	}
	var err error
	name := req.File
	switch req.Edit.Kind {
	case "create-directory":
		err = ops.MakeDir(r.Context(), req.File)
	case "rename-file":
		if req.Src == "" {
			http.Error(w, "Expected the file to rename as src.", http.StatusBadRequest)
			return
		}
		name = req.Src
		err = ops.Rename(r.Context(), req.Src, req.File)
	case "delete-file":
		err = ops.Remove(r.Context(), req.File)
	}
	if err != nil {
		terminal.WriteFileError(w, s.log, name, err)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	json.NewEncoder(w).Encode(editAnswer{File: req.File, Changed: true})
}

// handleEditorSave is PUT /editor/files/{path...}: the body becomes the file, as the
// editor saves it.
func (s *Server) handleEditorSave(w http.ResponseWriter, r *http.Request) {
	f := s.files()
	if f == nil {
		http.NotFound(w, r)
		return
	}
	s.editMu.Lock()
	defer s.editMu.Unlock()
	terminal.ServeFiles(f, s.log, w, r)
}

// handleEditorTree is GET /editor/tree: the home's files, a terminal.Tree.
func (s *Server) handleEditorTree(w http.ResponseWriter, r *http.Request) {
	l, ok := s.terms.(terminal.Lister)
	if !ok {
		http.NotFound(w, r)
		return
	}
	terminal.ServeTree(l, s.log, w, r)
}
