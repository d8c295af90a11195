// Package editor applies the workshop's editor actions (editor:append-lines-to-file,
// editor:set-yaml-value and the like) to a file's content: each edit is a pure function
// of the content and the action, so that the same action on the same file always gives
// the same file. YAML edits go through the yaml.v3 node tree, so that comments and the
// order of keys survive.
package editor

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Range is a part of a file as byte offsets, From inclusive, To exclusive.
type Range struct {
	From int `json:"from"`
	To   int `json:"to"`
}

// Edit is one editor action, with the fields of the reference's YAML body that its kind
// reads. Line numbers count from 1.
type Edit struct {
	Kind        string `json:"kind"`
	Text        string `json:"text,omitempty"`
	Match       string `json:"match,omitempty"`
	Replacement string `json:"replacement,omitempty"`
	IsRegex     bool   `json:"isRegex,omitempty"`
	Group       int    `json:"group,omitempty"`
	Line        int    `json:"line,omitempty"`
	Start       int    `json:"start,omitempty"`
	Stop        int    `json:"stop,omitempty"`
	Before      int    `json:"before,omitempty"`
	After       int    `json:"after,omitempty"`
	Count       int    `json:"count,omitempty"` // replace-matching-text: 0 = 1, -1 = every match
	Index       int    `json:"index,omitempty"` // insert-yaml-item: the new item's place, from 0
	Path        string `json:"path,omitempty"`  // a YAML path: a.b[0].c[name=x]["d.e"]
	Value       string `json:"value,omitempty"` // a YAML document: the value the YAML edits set
	// Selection is the part selected by the last select-* action on the file, which the
	// *-selection kinds act on.
	Selection *Range `json:"selection,omitempty"`
}

// Result is the file after an edit, and what the editor shows of it.
type Result struct {
	Content []byte
	// Changed is false for the kinds that only show (open-file, select-*).
	Changed bool
	// Line is the line to show (0 = none); Select the part to select (nil = none).
	Line   int
	Select *Range
}

// ErrBadEdit is what every BadEdit is (errors.Is).
var ErrBadEdit = errors.New("the edit does not apply to the file")

// BadEdit is the error of an edit that does not apply to its file (no match, a line
// beyond the end, a YAML path that is not there). Reason is a sentence for the learner.
type BadEdit struct{ Reason string }

func (e *BadEdit) Error() string        { return ErrBadEdit.Error() + ": " + e.Reason }
func (e *BadEdit) Is(target error) bool { return target == ErrBadEdit }

func badEdit(format string, args ...any) error {
	return &BadEdit{Reason: fmt.Sprintf(format, args...)}
}

// Kinds are the edit kinds Apply knows, the reference's action names without "editor:".
var Kinds = map[string]bool{
	"open-file": true, "create-file": true, "append-lines-to-file": true, "prepend-lines-to-file": true,
	"insert-lines-before-line": true, "insert-lines-after-line": true, "append-lines-after-line": true,
	"append-lines-after-match": true, "insert-lines-before-match": true,
	"select-matching-text": true, "select-lines-in-range": true, "replace-text-selection": true,
	"delete-text-selection": true, "insert-lines-before-selection": true, "append-lines-after-selection": true,
	"replace-matching-text": true, "replace-lines-in-range": true, "delete-lines-in-range": true,
	"delete-matching-lines":  true,
	"insert-value-into-yaml": true, "set-yaml-value": true, "add-yaml-item": true,
	"delete-yaml-value": true, "merge-yaml-values": true, "select-yaml-path": true,
	"insert-yaml-item": true, "replace-yaml-item": true,
}

// Apply applies e to content. A file that does not exist is passed as nil content: the
// kinds that create a file accept it, the others give an ErrBadEdit.
func Apply(e Edit, content []byte) (Result, error) {
	src := string(content)
	switch e.Kind {
	case "open-file":
		return Result{Content: content, Line: e.Line}, nil
	case "create-file":
		return changed(lines(e.Text), 1), nil
	case "append-lines-to-file":
		return changed(withNewline(src)+lines(e.Text), lineCount(withNewline(src))+1), nil
	case "prepend-lines-to-file":
		return changed(lines(e.Text)+src, 1), nil
	case "insert-lines-before-line", "insert-lines-after-line", "append-lines-after-line":
		if e.Line < 1 {
			return Result{}, badEdit("line must be 1 or more, got %d", e.Line)
		}
		at := e.Line
		if e.Kind != "insert-lines-before-line" {
			at++
		}
		return insertAt(src, at, e.Text), nil
	case "append-lines-after-match", "insert-lines-before-match":
		if e.Match == "" {
			return Result{}, badEdit("match is missing")
		}
		n := lineContaining(src, e.Match)
		if n == 0 {
			return Result{}, badEdit("no line contains %q", e.Match)
		}
		if e.Kind == "append-lines-after-match" {
			n++
		}
		return insertAt(src, n, e.Text), nil
	case "select-matching-text":
		r, err := findText(src, e.Text, e.IsRegex, e.Group, e.Start, e.Stop)
		if err != nil {
			return Result{}, err
		}
		r = widen(src, r, e.Before, e.After)
		return Result{Content: content, Line: lineOf(src, r.From), Select: &r}, nil
	case "select-lines-in-range":
		r, err := lineRange(src, e.Start, e.Stop)
		if err != nil {
			return Result{}, err
		}
		return Result{Content: content, Line: e.Start, Select: &r}, nil
	case "replace-text-selection", "delete-text-selection", "insert-lines-before-selection", "append-lines-after-selection":
		r := e.Selection
		if r == nil || r.From < 0 || r.To < r.From || r.To > len(src) {
			return Result{}, badEdit("nothing of the file is selected: select text first")
		}
		switch e.Kind {
		case "replace-text-selection":
			return splice(src, *r, e.Text), nil
		case "delete-text-selection":
			return splice(src, *r, ""), nil
		case "insert-lines-before-selection":
			return insertAt(src, lineOf(src, r.From), e.Text), nil
		}
		end := lineOf(src, max(r.From, r.To-1))
		return insertAt(src, end+1, e.Text), nil
	case "replace-matching-text":
		return replaceMatching(src, e)
	case "replace-lines-in-range", "delete-lines-in-range":
		stop := e.Stop
		if e.Kind == "replace-lines-in-range" && stop == 0 {
			return Result{}, badEdit("stop is missing")
		}
		r, err := lineRange(src, e.Start, stop)
		if err != nil {
			return Result{}, err
		}
		if e.Kind == "delete-lines-in-range" {
			return splice(src, r, ""), nil
		}
		return splice(src, r, lines(e.Text)), nil
	case "delete-matching-lines":
		return deleteMatching(src, e)
	case "insert-value-into-yaml", "set-yaml-value", "add-yaml-item", "delete-yaml-value", "merge-yaml-values",
		"select-yaml-path", "insert-yaml-item", "replace-yaml-item":
		return editYAML(content, e)
	}
	return Result{}, fmt.Errorf("editor:%s is not an edit the dashboard knows", e.Kind)
}

func changed(s string, line int) Result {
	return Result{Content: []byte(s), Changed: true, Line: line}
}

// lines is text as whole lines: ending in a newline, unless empty.
func lines(text string) string {
	if text == "" || strings.HasSuffix(text, "\n") {
		return text
	}
	return text + "\n"
}

// withNewline is src with its last line ended.
func withNewline(src string) string { return lines(src) }

// lineCount is the number of lines of src.
func lineCount(src string) int {
	if src == "" {
		return 0
	}
	n := strings.Count(src, "\n")
	if !strings.HasSuffix(src, "\n") {
		n++
	}
	return n
}

// lineStart is the offset where line n (from 1) starts; past the last line, the end of
// src with its last line ended.
func lineStart(src string, n int) (string, int) {
	off := 0
	for i := 1; i < n; i++ {
		j := strings.IndexByte(src[off:], '\n')
		if j < 0 {
			src = withNewline(src)
			return src, len(src)
		}
		off += j + 1
	}
	return src, off
}

// lineOf is the line (from 1) of offset off.
func lineOf(src string, off int) int {
	return strings.Count(src[:min(off, len(src))], "\n") + 1
}

// insertAt inserts text as lines before line n; past the end, at the end.
func insertAt(src string, n int, text string) Result {
	src, off := lineStart(src, n)
	out := src[:off] + lines(text) + src[off:]
	return Result{Content: []byte(out), Changed: true, Line: lineOf(out, off)}
}

func splice(src string, r Range, text string) Result {
	out := src[:r.From] + text + src[r.To:]
	sel := Range{r.From, r.From + len(text)}
	return Result{Content: []byte(out), Changed: true, Line: lineOf(out, r.From), Select: &sel}
}

// lineContaining is the first line (from 1) that contains s; 0 when none does.
func lineContaining(src, s string) int {
	i := strings.Index(src, s)
	if i < 0 {
		return 0
	}
	return lineOf(src, i)
}

// lineRange is lines start to stop (inclusive; stop 0 = start) as a range, newline
// included.
func lineRange(src string, start, stop int) (Range, error) {
	if stop == 0 {
		stop = start
	}
	n := lineCount(src)
	if start < 1 || stop < start || stop > n {
		return Range{}, badEdit("lines %d to %d are not lines of the file, which has %d", start, stop, n)
	}
	_, from := lineStart(src, start)
	to := len(src)
	if stop < n {
		_, to = lineStart(src, stop+1)
	}
	return Range{from, to}, nil
}

// searchArea is the part of src from line start to before line stop, as the reference
// reads them: 0 = the file's start or end, negative = counted from the end.
func searchArea(src string, start, stop int) (int, int) {
	n := lineCount(src)
	abs := func(l int) int {
		if l < 0 {
			return max(n+l+1, 1)
		}
		return l
	}
	from, to := 0, len(src)
	if start != 0 {
		_, from = lineStart(src, abs(start))
	}
	if stop != 0 {
		_, to = lineStart(src, abs(stop))
	}
	return min(from, len(src)), max(min(to, len(src)), min(from, len(src)))
}

func compile(pattern string, isRegex bool) (*regexp.Regexp, error) {
	if !isRegex {
		pattern = regexp.QuoteMeta(pattern)
	}
	re, err := regexp.Compile("(?m)" + pattern)
	if err != nil {
		return nil, badEdit("not a regular expression: %v", err)
	}
	return re, nil
}

// findText finds the first match of text (a regular expression when isRegex, its group
// when group > 0) between lines start and stop.
func findText(src, text string, isRegex bool, group, start, stop int) (Range, error) {
	if text == "" {
		return Range{}, badEdit("text is missing")
	}
	re, err := compile(text, isRegex)
	if err != nil {
		return Range{}, err
	}
	from, to := searchArea(src, start, stop)
	m := re.FindStringSubmatchIndex(src[from:to])
	if m == nil {
		return Range{}, badEdit("the file has no text matching %q", text)
	}
	if group < 0 || 2*group+1 >= len(m) || m[2*group] < 0 {
		return Range{}, badEdit("the match of %q has no group %d", text, group)
	}
	return Range{from + m[2*group], from + m[2*group+1]}, nil
}

// widen extends r by whole lines: before/after lines more (0 = the match's own lines
// whole, -1 = to the file's start/end). Both 0 and unset read as unset.
func widen(src string, r Range, before, after int) Range {
	if before != 0 {
		first := lineOf(src, r.From)
		l := first - before
		if before < 0 || l < 1 {
			l = 1
		}
		_, r.From = lineStart(src, l)
	}
	if after != 0 {
		last := lineOf(src, max(r.From, r.To-1))
		l := last + after
		if after < 0 || l >= lineCount(src) {
			r.To = len(src)
		} else {
			_, r.To = lineStart(src, l+1)
		}
	}
	return r
}

func replaceMatching(src string, e Edit) (Result, error) {
	if e.Match == "" {
		return Result{}, badEdit("match is missing")
	}
	re, err := compile(e.Match, e.IsRegex)
	if err != nil {
		return Result{}, err
	}
	from, to := searchArea(src, e.Start, e.Stop)
	count := e.Count
	if count == 0 {
		count = 1
	}
	var out strings.Builder
	out.WriteString(src[:from])
	area, done, last, first := src[from:to], 0, 0, -1
	for _, m := range re.FindAllStringSubmatchIndex(area, -1) {
		if count > 0 && done == count {
			break
		}
		g := e.Group
		if g < 0 || 2*g+1 >= len(m) || m[2*g] < 0 {
			return Result{}, badEdit("the match of %q has no group %d", e.Match, g)
		}
		out.WriteString(area[last:m[2*g]])
		if first < 0 {
			first = out.Len()
		}
		if e.IsRegex && g == 0 {
			out.Write(re.ExpandString(nil, e.Replacement, area, m))
		} else {
			out.WriteString(e.Replacement)
		}
		last = m[2*g+1]
		done++
	}
	if done == 0 {
		return Result{}, badEdit("the file has no text matching %q", e.Match)
	}
	out.WriteString(area[last:])
	out.WriteString(src[to:])
	s := out.String()
	return Result{Content: []byte(s), Changed: true, Line: lineOf(s, first)}, nil
}

func deleteMatching(src string, e Edit) (Result, error) {
	if e.Match == "" {
		return Result{}, badEdit("match is missing")
	}
	re, err := compile(e.Match, e.IsRegex)
	if err != nil {
		return Result{}, err
	}
	ls := strings.SplitAfter(src, "\n")
	if ls[len(ls)-1] == "" {
		ls = ls[:len(ls)-1]
	}
	drop := make([]bool, len(ls))
	found := 0
	for i, l := range ls {
		if !re.MatchString(strings.TrimSuffix(l, "\n")) {
			continue
		}
		found++
		lo, hi := i-e.Before, i+e.After
		if e.Before < 0 {
			lo = 0
		}
		if e.After < 0 {
			hi = len(ls) - 1
		}
		for j := max(lo, 0); j <= min(hi, len(ls)-1); j++ {
			drop[j] = true
		}
	}
	if found == 0 {
		return Result{}, badEdit("no line matches %q", e.Match)
	}
	var out bytes.Buffer
	firstGone := 0
	for i, l := range ls {
		if drop[i] {
			if firstGone == 0 {
				firstGone = lineCount(out.String()) + 1
			}
			continue
		}
		out.WriteString(l)
	}
	return Result{Content: out.Bytes(), Changed: true, Line: firstGone}, nil
}
