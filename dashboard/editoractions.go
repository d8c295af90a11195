package dashboard

import (
	"encoding/json"
	"fmt"
	"maps"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"portal/dashboard/editor"
)

// homePrefixes are the ways an editor action's file names the session's home.
var homePrefixes = []string{"~/", "$HOME/", "${HOME}/", "/home/eduk8s/"}

// homeFile reads an editor action's file as a path relative to the session's home: "~/x",
// "$HOME/x" and the reference's home "/home/eduk8s/x" are x; a relative path is relative
// to the home. ok is false for a path that leaves the home.
func homeFile(p string) (string, bool) {
	for _, pre := range homePrefixes {
		if rest, found := strings.CutPrefix(p, pre); found {
			p = rest
			break
		}
	}
	p = path.Clean(p)
	return p, localPath(p) && p != "."
}

// editorBody is the YAML body of an editor:* action: the fields of editor.Edit, as the
// reference names them, and the file(s) it acts on.
type editorBody struct {
	File        string    `yaml:"file"`
	Src         string    `yaml:"src"`
	Dest        string    `yaml:"dest"`
	Text        string    `yaml:"text"`
	Match       string    `yaml:"match"`
	Replacement string    `yaml:"replacement"`
	IsRegex     bool      `yaml:"isRegex"`
	Group       int       `yaml:"group"`
	Line        int       `yaml:"line"`
	Start       int       `yaml:"start"`
	Stop        int       `yaml:"stop"`
	Before      int       `yaml:"before"`
	After       int       `yaml:"after"`
	Count       int       `yaml:"count"`
	Index       *int      `yaml:"index"`
	Path        string    `yaml:"path"`
	Value       yaml.Node `yaml:"value"`
	Command     string    `yaml:"command"`
	Args        []any     `yaml:"args"`
}

// fileOpKinds are the editor actions that make, rename or remove files and folders rather
// than edit a file's content (see terminal.FileOps).
var fileOpKinds = map[string]bool{"create-directory": true, "rename-file": true, "delete-file": true}

// editorKind reports whether editor:name is an editor action the dashboard offers.
func editorKind(name string) bool {
	return editor.Kinds[name] || name == "copy-file" || name == "close-file" || fileOpKinds[name] || name == "execute-command"
}

// editorCommands are the VS Code commands that editor:execute-command runs in the Editor
// tab, each with what the tab does for it. The ids of Monaco's own editor actions are
// VS Code's, so those run as they are; vscode.open is an editor:open-file of its first
// argument.
var editorCommands = map[string]string{
	"workbench.action.files.save":          "saves the file shown",
	"workbench.action.files.saveAll":       "saves every open file",
	"workbench.action.closeActiveEditor":   "closes the file shown",
	"workbench.action.closeAllEditors":     "closes every open file",
	"workbench.action.toggleMinimap":       "shows or hides the minimap",
	"editor.action.toggleWordWrap":         "turns word wrap on or off",
	"editor.action.formatDocument":         "formats the file shown (for the languages Monaco can format)",
	"editor.action.commentLine":            "comments or uncomments the selected lines",
	"editor.action.selectAll":              "selects the whole file",
	"editor.action.gotoLine":               "asks for a line to go to",
	"editor.foldAll":                       "folds every region",
	"editor.unfoldAll":                     "unfolds every region",
	"actions.find":                         "opens the find box",
	"editor.action.startFindReplaceAction": "opens the find and replace box",
	"vscode.open":                          "opens the file given as the first argument",
}

// parseEditorCommand fills a from the body of editor:execute-command: the data attribute
// "command" and an edit of kind execute-command, or for vscode.open an open-file edit of
// its file. A command the Editor tab has no equivalent for is an error saying so.
func parseEditorCommand(lang string, y editorBody, a *action) (string, error) {
	if y.Command == "" {
		return "", fmt.Errorf("%s: command is missing", lang)
	}
	if _, ok := editorCommands[y.Command]; !ok {
		return "", fmt.Errorf("%s: the command %q is not available: the editor here is Monaco, not VS Code, and runs only %s",
			lang, y.Command, strings.Join(slices.Sorted(maps.Keys(editorCommands)), ", "))
	}
	subject := fmt.Sprintf("Execute command %q", y.Command)
	e := editor.Edit{Kind: "execute-command"}
	if y.Command == "vscode.open" {
		var file string
		if len(y.Args) > 0 {
			file, _ = y.Args[0].(string)
		}
		rel, ok := homeFile(file)
		if !ok {
			return "", fmt.Errorf("%s: args[0] of vscode.open must be a file of the home folder (~/…, without ..), got %v", lang, file)
		}
		a.Data["file"] = rel
		e = editor.Edit{Kind: "open-file"}
		subject = fmt.Sprintf("Open file %q", file)
	} else {
		a.Data["command"] = y.Command
	}
	b, _ := json.Marshal(e)
	a.Data["edit"] = string(b)
	return subject, nil
}

// parseEditor fills a (an action of kind "editor") from the body of editor:name: the
// data attributes "file" (the home-relative path acted on), "edit" (an editor.Edit as
// JSON) and, for copy-file, "src". It returns the caption's subject.
func parseEditor(lang, name, body string, a *action) (string, error) {
	var y editorBody
	if err := yaml.Unmarshal([]byte(body), &y); err != nil {
		return "", fmt.Errorf("%s: the block is not valid YAML: %v", lang, err)
	}
	if name == "execute-command" {
		return parseEditorCommand(lang, y, a)
	}
	field, file := "file", y.File
	switch name {
	case "copy-file", "rename-file":
		src, ok := homeFile(y.Src)
		if !ok {
			return "", fmt.Errorf("%s: src must be a file of the home folder (~/…, without ..), got %q", lang, y.Src)
		}
		a.Data["src"] = src
		field, file = "dest", y.Dest
	case "create-directory":
		field, file = "path", y.Path
	}
	rel, ok := homeFile(file)
	if !ok {
		what := "a file"
		if name == "create-directory" {
			what = "a folder"
		}
		return "", fmt.Errorf("%s: %s must be %s of the home folder (~/…, without ..), got %q", lang, field, what, file)
	}
	a.Data["file"] = rel
	e := editor.Edit{Kind: name, Text: y.Text, Match: y.Match, Replacement: y.Replacement, IsRegex: y.IsRegex,
		Group: y.Group, Line: y.Line, Start: y.Start, Stop: y.Stop, Before: y.Before, After: y.After,
		Count: y.Count, Path: y.Path}
	if name == "copy-file" {
		e.Kind = "open-file"
	}
	if y.Index != nil {
		e.Index = *y.Index
	}
	if y.Value.Kind != 0 {
		v, err := yaml.Marshal(&y.Value)
		if err != nil {
			return "", fmt.Errorf("%s: value: %v", lang, err)
		}
		e.Value = string(v)
	}
	need := func(field string, missing bool) error {
		if missing {
			return fmt.Errorf("%s: %s is missing", lang, field)
		}
		return nil
	}
	var err error
	switch name {
	case "insert-lines-before-line", "insert-lines-after-line", "append-lines-after-line":
		err = need("line", y.Line < 1)
	case "append-lines-after-match", "insert-lines-before-match", "replace-matching-text", "delete-matching-lines":
		err = need("match", y.Match == "")
	case "select-matching-text":
		err = need("text", y.Text == "")
	case "select-lines-in-range", "replace-lines-in-range", "delete-lines-in-range":
		err = need("start", y.Start < 1)
	case "insert-value-into-yaml", "set-yaml-value", "add-yaml-item", "delete-yaml-value", "merge-yaml-values",
		"select-yaml-path", "replace-yaml-item":
		err = need("path", y.Path == "")
	case "insert-yaml-item":
		if err = need("path", y.Path == ""); err == nil {
			err = need("index", y.Index == nil)
		}
	}
	if err != nil {
		return "", err
	}
	if fileOpKinds[name] {
		e = editor.Edit{Kind: name}
	}
	b, _ := json.Marshal(e)
	a.Data["edit"] = string(b)
	switch name {
	case "create-file", "append-lines-to-file", "prepend-lines-to-file", "insert-lines-before-line",
		"insert-lines-after-line", "append-lines-after-line", "append-lines-after-match", "insert-lines-before-match",
		"replace-text-selection", "insert-lines-before-selection", "append-lines-after-selection", "replace-lines-in-range":
		a.Text = strings.TrimRight(y.Text, "\n")
	case "replace-matching-text":
		a.Text = y.Replacement
	case "insert-value-into-yaml", "set-yaml-value", "add-yaml-item", "merge-yaml-values", "insert-yaml-item", "replace-yaml-item":
		a.Text = strings.TrimRight(e.Value, "\n")
	}
	subject := fmt.Sprintf("%s in file %q", editorVerbs[name], file)
	switch name {
	case "open-file", "create-file", "close-file":
		subject = fmt.Sprintf("%s file %q", editorVerbs[name], file)
	case "copy-file":
		subject = fmt.Sprintf("Copy file %q to %q", y.Src, y.Dest)
	case "rename-file":
		subject = fmt.Sprintf("Rename file %q to %q", y.Src, y.Dest)
	case "create-directory":
		subject = fmt.Sprintf("Create folder %q", file)
	case "delete-file":
		subject = fmt.Sprintf("Delete file %q", file)
	}
	return subject, nil
}

// editorVerbs are the captions' verbs of the editor actions.
var editorVerbs = map[string]string{
	"open-file": "Open", "create-file": "Create", "close-file": "Close",
	"append-lines-to-file": "Append lines", "prepend-lines-to-file": "Prepend lines",
	"insert-lines-before-line": "Insert lines before a line", "insert-lines-after-line": "Insert lines after a line",
	"append-lines-after-line": "Append lines after a line", "append-lines-after-match": "Append lines after a match",
	"insert-lines-before-match": "Insert lines before a match", "select-matching-text": "Select text",
	"select-lines-in-range": "Select lines", "replace-text-selection": "Replace the selection",
	"delete-text-selection": "Delete the selection", "insert-lines-before-selection": "Insert lines before the selection",
	"append-lines-after-selection": "Append lines after the selection", "replace-matching-text": "Replace text",
	"replace-lines-in-range": "Replace lines", "delete-lines-in-range": "Delete lines",
	"delete-matching-lines": "Delete matching lines", "insert-value-into-yaml": "Insert a value",
	"set-yaml-value": "Set a value", "add-yaml-item": "Add an item", "delete-yaml-value": "Delete a value",
	"merge-yaml-values": "Merge values", "select-yaml-path": "Select a value",
	"insert-yaml-item": "Insert an item", "replace-yaml-item": "Replace an item",
}

// editorUnsupported are the reference's editor actions the dashboard does not offer, and why.
var editorUnsupported = func() map[string]string {
	m := map[string]string{}
	for _, n := range []string{"open-terminal", "close-terminal", "send-to-terminal", "interrupt-terminal", "clear-terminal"} {
		m["editor:"+n] = "the editor has no terminals of its own, and which of the dashboard's terminals would stand for one is not known; use the terminal:* actions"
	}
	return m
}()

// editorCaption is the caption of an editor action with no text of its own.
func editorCaption(a action) bool { return a.Kind == "editor" && a.Text == "" }
