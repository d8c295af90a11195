package editor

import (
	"bytes"
	"fmt"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// step is one step of a YAML path: a mapping key, a sequence index, or the sequence item
// whose mapping has Key: Value.
type step struct {
	key      string
	index    int // -1 = not an index
	matchKey string
	matchVal string
}

func (s step) String() string {
	switch {
	case s.index >= 0:
		return fmt.Sprintf("[%d]", s.index)
	case s.matchKey != "":
		return fmt.Sprintf("[%s=%s]", s.matchKey, s.matchVal)
	}
	return s.key
}

// parsePath reads a YAML path: keys separated by dots, [N] for a sequence's item N (from
// 0), [key=value] for the item with that key, ["key"] for a key with dots in it.
func parsePath(p string) ([]step, error) {
	var steps []step
	rest := p
	for rest != "" {
		switch {
		case rest[0] == '.':
			rest = rest[1:]
			if rest == "" || rest[0] == '.' || rest[0] == '[' {
				return nil, badEdit("path %q has an empty key", p)
			}
		case rest[0] == '[':
			end := strings.IndexByte(rest, ']')
			if strings.HasPrefix(rest, `["`) || strings.HasPrefix(rest, `['`) {
				q := rest[1]
				i := strings.IndexByte(rest[2:], q)
				if i < 0 || len(rest) < i+4 || rest[i+3] != ']' {
					return nil, badEdit("path %q has an unclosed quoted key", p)
				}
				steps = append(steps, step{key: rest[2 : i+2], index: -1})
				rest = rest[i+4:]
				continue
			}
			if end < 0 {
				return nil, badEdit("path %q has an unclosed [", p)
			}
			in := rest[1:end]
			rest = rest[end+1:]
			if k, v, ok := strings.Cut(in, "="); ok && k != "" {
				steps = append(steps, step{index: -1, matchKey: k, matchVal: v})
				continue
			}
			n, err := strconv.Atoi(in)
			if err != nil || n < 0 {
				return nil, badEdit("path %q: [%s] is neither an index (0 or more) nor key=value", p, in)
			}
			steps = append(steps, step{index: n})
		default:
			end := strings.IndexAny(rest, ".[")
			if end < 0 {
				end = len(rest)
			}
			steps = append(steps, step{key: rest[:end], index: -1})
			rest = rest[end:]
		}
	}
	if len(steps) == 0 {
		return nil, badEdit("path is missing")
	}
	return steps, nil
}

// mapValue is the index in m.Content of the value of key; -1 when m has no such key.
func mapValue(m *yaml.Node, key string) int {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return i + 1
		}
	}
	return -1
}

// seqItem is the index in s.Content of the item st names; -1 when none.
func seqItem(s *yaml.Node, st step) int {
	if st.index >= 0 {
		if st.index < len(s.Content) {
			return st.index
		}
		return -1
	}
	for i, item := range s.Content {
		if item.Kind == yaml.MappingNode {
			if j := mapValue(item, st.matchKey); j >= 0 && item.Content[j].Value == st.matchVal {
				return i
			}
		}
	}
	return -1
}

// slot is where a path ends: the node holding it (a mapping or a sequence) and the index
// of the value in its Content.
type slot struct {
	parent *yaml.Node
	i      int
	key    *yaml.Node // the key node, for a mapping
}

// walk follows steps from n. With create, missing mapping keys are added (as mappings
// on the way, as an empty value at the end); otherwise a missing step is an error.
func walk(n *yaml.Node, steps []step, create bool) (slot, error) {
	var at slot
	for k, st := range steps {
		last := k == len(steps)-1
		if st.index < 0 && st.matchKey == "" {
			if n.Kind == 0 || (n.Kind == yaml.ScalarNode && n.Tag == "!!null" && create) {
				*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			}
			if n.Kind != yaml.MappingNode {
				return slot{}, badEdit("%s is not a mapping", pathString(steps[:k]))
			}
			i := mapValue(n, st.key)
			if i < 0 {
				if !create {
					return slot{}, badEdit("the file has no %s", pathString(steps[:k+1]))
				}
				v := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
				if last {
					v = &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null"}
				}
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: st.key}, v)
				i = len(n.Content) - 1
			}
			at = slot{n, i, n.Content[i-1]}
		} else {
			if n.Kind != yaml.SequenceNode {
				return slot{}, badEdit("%s is not a sequence", pathString(steps[:k]))
			}
			i := seqItem(n, st)
			if i < 0 {
				return slot{}, badEdit("the file has no %s", pathString(steps[:k+1]))
			}
			at = slot{n, i, nil}
		}
		n = at.parent.Content[at.i]
	}
	return at, nil
}

func pathString(steps []step) string {
	if len(steps) == 0 {
		return "top level"
	}
	var b strings.Builder
	for i, s := range steps {
		if i > 0 && s.index < 0 && s.matchKey == "" {
			b.WriteByte('.')
		}
		b.WriteString(s.String())
	}
	return b.String()
}

// parseValue reads an action's value as a YAML node.
func parseValue(v string) (*yaml.Node, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(v), &doc); err != nil {
		return nil, badEdit("value is not valid YAML: %v", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}, nil
	}
	n := doc.Content[0]
	clearStyle(n)
	return n, nil
}

// clearStyle drops the positions of a parsed value, so that it is laid out where it is
// placed.
func clearStyle(n *yaml.Node) {
	n.Line, n.Column = 0, 0
	for _, c := range n.Content {
		clearStyle(c)
	}
}

func editYAML(content []byte, e Edit) (Result, error) {
	steps, err := parsePath(e.Path)
	if err != nil {
		return Result{}, err
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(content, &doc); err != nil {
		return Result{}, badEdit("the file is not valid YAML: %v", err)
	}
	if doc.Kind == 0 {
		doc = yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{{Kind: yaml.MappingNode, Tag: "!!map"}}}
	}
	root := doc.Content[0]
	switch e.Kind {
	case "select-yaml-path":
		at, err := walk(root, steps, false)
		if err != nil {
			return Result{}, err
		}
		value := at.parent.Content[at.i]
		line := value.Line
		if at.key != nil {
			line = at.key.Line
		}
		src := string(content)
		r, err := lineRange(src, line, max(line, lastLine(value)))
		if err != nil {
			return Result{}, err
		}
		return Result{Content: content, Line: line, Select: &r}, nil
	case "delete-yaml-value":
		at, err := walk(root, steps, false)
		if err != nil {
			return Result{}, err
		}
		p := at.parent
		if at.key != nil {
			p.Content = append(p.Content[:at.i-1], p.Content[at.i+1:]...)
		} else {
			p.Content = append(p.Content[:at.i], p.Content[at.i+1:]...)
		}
		return encodeYAML(&doc, nil)
	}
	value, err := parseValue(e.Value)
	if err != nil {
		return Result{}, err
	}
	if e.Kind == "replace-yaml-item" {
		last := steps[len(steps)-1]
		if last.index < 0 && last.matchKey == "" {
			return Result{}, badEdit("path must end in an item: [N] or [key=value], got %q", e.Path)
		}
		at, err := walk(root, steps, false)
		if err != nil {
			return Result{}, err
		}
		at.parent.Content[at.i] = keepComments(at.parent.Content[at.i], value)
		return encodeYAML(&doc, steps)
	}
	at, err := walk(root, steps, true)
	if err != nil {
		return Result{}, err
	}
	target := at.parent.Content[at.i]
	empty := target.Kind == yaml.ScalarNode && target.Tag == "!!null"
	switch e.Kind {
	case "set-yaml-value":
		at.parent.Content[at.i] = keepComments(target, value)
	case "insert-yaml-item":
		if empty {
			*target = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		}
		if target.Kind != yaml.SequenceNode {
			return Result{}, badEdit("%s is not a sequence", e.Path)
		}
		if e.Index < 0 || e.Index > len(target.Content) {
			return Result{}, badEdit("index must be 0 to %d (the items of %s), got %d", len(target.Content), e.Path, e.Index)
		}
		target.Content = append(target.Content[:e.Index], append([]*yaml.Node{value}, target.Content[e.Index:]...)...)
		return encodeYAML(&doc, append(steps, step{index: e.Index}))
	case "add-yaml-item":
		if empty {
			*target = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq"}
		}
		if target.Kind != yaml.SequenceNode {
			return Result{}, badEdit("%s is not a sequence", e.Path)
		}
		target.Content = append(target.Content, value)
	case "merge-yaml-values", "insert-value-into-yaml":
		switch {
		case empty:
			at.parent.Content[at.i] = keepComments(target, value)
		case target.Kind == yaml.MappingNode && value.Kind == yaml.MappingNode:
			for i := 0; i+1 < len(value.Content); i += 2 {
				if j := mapValue(target, value.Content[i].Value); j >= 0 {
					target.Content[j] = keepComments(target.Content[j], value.Content[i+1])
				} else {
					target.Content = append(target.Content, value.Content[i], value.Content[i+1])
				}
			}
		case target.Kind == yaml.SequenceNode && e.Kind == "insert-value-into-yaml":
			if value.Kind == yaml.SequenceNode {
				target.Content = append(target.Content, value.Content...)
			} else {
				target.Content = append(target.Content, value)
			}
		case e.Kind == "merge-yaml-values":
			return Result{}, badEdit("%s and value must both be mappings", e.Path)
		default:
			at.parent.Content[at.i] = keepComments(target, value)
		}
	}
	return encodeYAML(&doc, steps)
}

// lastLine is the last line of n's tree that holds a node.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// keepComments is value with the comments of the node it replaces.
func keepComments(old, value *yaml.Node) *yaml.Node {
	if value.LineComment == "" {
		value.LineComment = old.LineComment
	}
	if value.HeadComment == "" {
		value.HeadComment = old.HeadComment
	}
	if value.FootComment == "" {
		value.FootComment = old.FootComment
	}
	return value
}

// encodeYAML writes doc back, with the line of steps' value (when set) as the line to show.
func encodeYAML(doc *yaml.Node, steps []step) (Result, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(doc); err != nil {
		return Result{}, badEdit("the edited file cannot be written as YAML: %v", err)
	}
	enc.Close()
	res := Result{Content: b.Bytes(), Changed: true}
	if steps != nil {
		var again yaml.Node
		if yaml.Unmarshal(res.Content, &again) == nil && again.Kind == yaml.DocumentNode {
			if at, err := walk(again.Content[0], steps, false); err == nil {
				res.Line = at.parent.Content[at.i].Line
				if at.key != nil {
					res.Line = at.key.Line
				}
			}
		}
	}
	return res, nil
}
