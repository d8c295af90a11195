package spec

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"portal"
)

// decoder walks the yaml.Node tree of one document. It keeps the first error and every
// warning; after the first error the values it returns are zero and callers just go on, so
// that decoding code reads straight through without error checks at every field.
type decoder struct {
	file     string
	doc      int // 1-based document index, 0 when the file holds a single document
	warnings []*Error
	err      *Error
}

func (d *decoder) newError(n *yaml.Node, path, format string, args ...any) *Error {
	e := &Error{File: d.file, Doc: d.doc, Path: path, Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.Line = n.Line
	}
	return e
}

// fail records an error at path unless one is already recorded.
func (d *decoder) fail(n *yaml.Node, path, format string, args ...any) {
	if d.err == nil {
		d.err = d.newError(n, path, format, args...)
	}
}

func (d *decoder) warn(n *yaml.Node, path, format string, args ...any) {
	d.warnings = append(d.warnings, d.newError(n, path, format, args...))
}

// object is a mapping node being read. Every key read, or declared ignored, is marked;
// finish warns about the others.
type object struct {
	d    *decoder
	path string
	node *yaml.Node // nil when the mapping is absent or null
	keys map[string]int
	used map[string]bool
}

// object returns n as a mapping at path. A null or absent node gives an empty object; any
// other kind is an error.
func (d *decoder) object(n *yaml.Node, path string) *object {
	n = deref(n)
	o := &object{d: d, path: path, keys: map[string]int{}, used: map[string]bool{}}
	if n == nil || isNull(n) {
		return o
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, path, "expected a mapping, got %s", describe(n))
		return o
	}
	o.node = n
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := n.Content[i]
		if _, dup := o.keys[k.Value]; dup {
			d.fail(k, join(path, k.Value), "duplicate key")
			continue
		}
		o.keys[k.Value] = i
	}
	return o
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// deref follows aliases.
func deref(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool { return n.Kind == yaml.ScalarNode && n.Tag == "!!null" }

// describe names what n holds, for "expected X, got Y" messages.
func describe(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return strconv.Quote(n.Value)
	}
	return "nothing"
}

// at returns the path of a key of o.
func (o *object) at(key string) string { return join(o.path, key) }

// get marks key as read and returns its value node, or nil when it is absent or null.
func (o *object) get(key string) *yaml.Node {
	o.used[key] = true
	i, ok := o.keys[key]
	if !ok {
		return nil
	}
	v := deref(o.node.Content[i+1])
	if isNull(v) {
		return nil
	}
	return v
}

// has reports whether key is present with a non-null value, without marking it read.
func (o *object) has(key string) bool {
	i, ok := o.keys[key]
	return ok && !isNull(deref(o.node.Content[i+1]))
}

// ignore marks keys as known: fields of the reference schema the portal does not use.
func (o *object) ignore(keys ...string) {
	for _, k := range keys {
		o.used[k] = true
	}
}

// finish warns about every key that was neither read nor ignored.
func (o *object) finish() {
	if o.node == nil {
		return
	}
	for i := 0; i+1 < len(o.node.Content); i += 2 {
		k := o.node.Content[i]
		if !o.used[k.Value] {
			o.d.warn(k, o.at(k.Value), "unknown field, ignored")
		}
	}
}

func (o *object) obj(key string) *object { return o.d.object(o.get(key), o.at(key)) }

// scalar returns the scalar value of key, or nil after recording an error for any other
// kind of node.
func (o *object) scalar(key, what string) *yaml.Node {
	n := o.get(key)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.ScalarNode {
		o.d.fail(n, o.at(key), "expected %s, got %s", what, describe(n))
		return nil
	}
	return n
}

// str returns a string field; YAML numbers and booleans are taken as their text.
func (o *object) str(key string) (string, bool) {
	n := o.scalar(key, "a string")
	if n == nil {
		return "", false
	}
	return n.Value, true
}

// strOr returns a string field or def when it is absent.
func (o *object) strOr(key, def string) string {
	if s, ok := o.str(key); ok {
		return s
	}
	return def
}

// enum returns a string field that must be one of allowed, or def when absent.
func (o *object) enum(key, def string, allowed ...string) string {
	s, ok := o.str(key)
	if !ok {
		return def
	}
	for _, a := range allowed {
		if s == a {
			return s
		}
	}
	o.d.fail(o.get(key), o.at(key), "expected one of %s, got %q", strings.Join(allowed, ", "), s)
	return def
}

var intPattern = regexp.MustCompile(`^[-+]?[0-9]+$`)

// int64 returns an integer field, or nil when absent. A quoted decimal integer is accepted.
func (o *object) int64(key string) *int64 {
	n := o.scalar(key, "an integer")
	if n == nil {
		return nil
	}
	if intPattern.MatchString(n.Value) {
		if v, err := strconv.ParseInt(n.Value, 10, 64); err == nil {
			return &v
		}
		o.d.fail(n, o.at(key), "integer %s is out of range", n.Value)
		return nil
	}
	o.d.fail(n, o.at(key), "expected an integer, got %s", describe(n))
	return nil
}

// int returns an integer field that fits an int32, or nil when absent.
func (o *object) int(key string) *int {
	v := o.int64(key)
	if v == nil {
		return nil
	}
	if *v > 1<<31-1 || *v < -1<<31 {
		o.d.fail(o.get(key), o.at(key), "integer %d is out of range", *v)
		return nil
	}
	i := int(*v)
	return &i
}

// bool returns a boolean field, or nil when absent. The strings "true" and "false" are
// accepted as well.
func (o *object) bool(key string) *bool {
	n := o.scalar(key, "true or false")
	if n == nil {
		return nil
	}
	if n.Tag == "!!bool" || n.Tag == "!!str" {
		switch strings.ToLower(n.Value) {
		case "true":
			b := true
			return &b
		case "false":
			b := false
			return &b
		}
	}
	o.d.fail(n, o.at(key), "expected true or false, got %s", describe(n))
	return nil
}

func (o *object) boolOr(key string, def bool) bool {
	if b := o.bool(key); b != nil {
		return *b
	}
	return def
}

var durationPattern = regexp.MustCompile(`^(-?)([0-9]+)(s|m|h)?$`)

// duration returns a duration field, or nil when absent. The forms are those of the
// reference: an integer with an s, m or h suffix, or a bare integer (YAML number or string)
// counting seconds. A negative value gives 0.
func (o *object) duration(key string) *time.Duration {
	n := o.scalar(key, "a duration")
	if n == nil {
		return nil
	}
	d, ok := parseDuration(n.Value)
	if !ok {
		o.d.fail(n, o.at(key), `expected a duration such as "30m", "2h", "90s" or a number of seconds, got %s`, describe(n))
		return nil
	}
	return &d
}

func parseDuration(s string) (time.Duration, bool) {
	m := durationPattern.FindStringSubmatch(s)
	if m == nil {
		return 0, false
	}
	if m[1] == "-" {
		return 0, true
	}
	v, err := strconv.ParseInt(m[2], 10, 64)
	unit := time.Second
	switch m[3] {
	case "m":
		unit = time.Minute
	case "h":
		unit = time.Hour
	}
	// Anything longer than about a century is a typo; refuse rather than overflow.
	if err != nil || v > int64(100*365*24*time.Hour/unit) {
		return 0, false
	}
	return time.Duration(v) * unit, true
}

// list returns the items of a sequence field, or nil when absent.
func (o *object) list(key string) []*yaml.Node {
	n := o.get(key)
	if n == nil {
		return nil
	}
	if n.Kind != yaml.SequenceNode {
		o.d.fail(n, o.at(key), "expected a list, got %s", describe(n))
		return nil
	}
	items := make([]*yaml.Node, len(n.Content))
	for i, c := range n.Content {
		items[i] = deref(c)
	}
	return items
}

// strings returns a list of strings.
func (o *object) strings(key string) []string {
	var out []string
	for i, n := range o.list(key) {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			o.d.fail(n, index(o.at(key), i), "expected a string, got %s", describe(n))
			continue
		}
		out = append(out, n.Value)
	}
	return out
}

// pairs reads a list of {name, value} mappings; name is required and unique.
func (o *object) pairs(key string) [][2]string {
	var out [][2]string
	seen := map[string]bool{}
	for i, n := range o.list(key) {
		p := o.d.object(n, index(o.at(key), i))
		name, ok := p.str("name")
		switch {
		case !ok || name == "":
			o.d.fail(n, p.at("name"), "required field is missing")
		case seen[name]:
			o.d.fail(n, p.at("name"), "%q is listed twice", name)
		}
		seen[name] = true
		out = append(out, [2]string{name, p.strOr("value", "")})
		p.finish()
	}
	return out
}

func (o *object) labels(key string) []portal.Label {
	var out []portal.Label
	for _, p := range o.pairs(key) {
		out = append(out, portal.Label{Name: p[0], Value: p[1]})
	}
	return out
}

var envNamePattern = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

func (o *object) env(key string) []portal.EnvVar {
	var out []portal.EnvVar
	for i, p := range o.pairs(key) {
		if p[0] != "" && !envNamePattern.MatchString(p[0]) {
			o.d.fail(o.list(key)[i], join(index(o.at(key), i), "name"),
				"%q is not a valid environment variable name", p[0])
		}
		out = append(out, portal.EnvVar{Name: p[0], Value: p[1]})
	}
	return out
}
