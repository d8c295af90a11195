package dashboard

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"

	"gopkg.in/yaml.v3"
)

// An examiner block's inputs is a form the learner fills in before the test runs; the
// test program reads the values as one JSON object on its standard input, as in the
// reference. The portal takes the subset of the reference's jsonform format that needs no
// script: a schema of flat fields and a form layout of field names, "*" and a submit
// button.

// maxInputsSize bounds the JSON of a form's values, as the program reads it.
const maxInputsSize = 16 << 10

// inputField is one field of an examiner block's form.
type inputField struct {
	Name        string `json:"name"`
	Type        string `json:"type"` // string, number, integer or boolean
	Title       string `json:"title,omitempty"`
	Description string `json:"description,omitempty"`
	Required    bool   `json:"required,omitempty"`
	Enum        []any  `json:"enum,omitempty"`
	Default     any    `json:"default,omitempty"`
	MaxLength   int    `json:"maxLength,omitempty"`
}

// inputForm is an examiner block's form, in the order it shows its fields; the page's
// script renders it from the block's data-inputs attribute and posts it back with the
// values, which the dashboard checks against it.
type inputForm struct {
	Fields []inputField `json:"fields"`
	Submit string       `json:"submit"` // the submit button's caption
}

// fieldKeys are the keys a schema's field may have.
var fieldKeys = []string{"type", "title", "description", "required", "enum", "default", "maxLength"}

// parseInputs reads an examiner block's inputs (a mapping with schema and an optional
// form) into a form. Its error names the field of the block that the portal cannot use.
func parseInputs(n *yaml.Node) (inputForm, error) {
	var f inputForm
	if n.Kind != yaml.MappingNode {
		return f, fmt.Errorf("inputs must be a mapping with schema and form")
	}
	var schema, layout *yaml.Node
	for i := 0; i < len(n.Content); i += 2 {
		switch k := n.Content[i].Value; k {
		case "schema":
			schema = n.Content[i+1]
		case "form":
			layout = n.Content[i+1]
		default:
			return f, fmt.Errorf("inputs.%s is not supported (only schema and form)", k)
		}
	}
	if schema == nil || schema.Kind != yaml.MappingNode {
		return f, fmt.Errorf("inputs.schema must be a mapping of field names to fields")
	}
	props, required, err := schemaProperties(schema)
	if err != nil {
		return f, err
	}
	all := make([]inputField, 0, len(props.Content)/2)
	for i := 0; i < len(props.Content); i += 2 {
		fd, err := parseField(props.Content[i].Value, props.Content[i+1])
		if err != nil {
			return f, err
		}
		fd.Required = fd.Required || slices.Contains(required, fd.Name)
		all = append(all, fd)
	}
	if len(all) == 0 {
		return f, fmt.Errorf("inputs.schema has no fields")
	}
	f.Submit = "Submit"
	if layout == nil {
		f.Fields = all
		return f, nil
	}
	if layout.Kind != yaml.SequenceNode {
		return f, fmt.Errorf("inputs.form must be a list")
	}
	used := map[string]bool{}
	add := func(fd inputField) { f.Fields, used[fd.Name] = append(f.Fields, fd), true }
	find := func(name string) (inputField, bool) {
		i := slices.IndexFunc(all, func(fd inputField) bool { return fd.Name == name })
		if i < 0 {
			return inputField{}, false
		}
		return all[i], true
	}
	for i, item := range layout.Content {
		where := fmt.Sprintf("inputs.form[%d]", i)
		var el struct {
			Key         string `yaml:"key"`
			Type        string `yaml:"type"`
			Title       string `yaml:"title"`
			Description string `yaml:"description"`
		}
		switch {
		case item.Kind == yaml.ScalarNode && item.Value == "*":
			for _, fd := range all {
				if !used[fd.Name] {
					add(fd)
				}
			}
			continue
		case item.Kind == yaml.ScalarNode:
			el.Key = item.Value
		case item.Kind == yaml.MappingNode:
			for j := 0; j < len(item.Content); j += 2 {
				if k := item.Content[j].Value; !slices.Contains([]string{"key", "type", "title", "description"}, k) {
					return f, fmt.Errorf("%s.%s is not supported (only key, type, title and description)", where, k)
				}
			}
			if err := item.Decode(&el); err != nil {
				return f, fmt.Errorf("%s: %v", where, err)
			}
		default:
			return f, fmt.Errorf("%s must be a field name, \"*\" or a mapping", where)
		}
		switch {
		case el.Key == "" && el.Type == "submit":
			f.Submit = cmp.Or(el.Title, "Submit")
		case el.Key == "":
			return f, fmt.Errorf("%s: type %q is not supported (only fields and a submit button)", where, el.Type)
		default:
			fd, ok := find(el.Key)
			if !ok {
				return f, fmt.Errorf("%s: key %q is no field of inputs.schema", where, el.Key)
			}
			if used[fd.Name] {
				return f, fmt.Errorf("%s: field %q is in the form twice", where, el.Key)
			}
			fd.Title, fd.Description = cmp.Or(el.Title, fd.Title), cmp.Or(el.Description, fd.Description)
			add(fd)
		}
	}
	for _, fd := range all {
		if fd.Required && !used[fd.Name] {
			return f, fmt.Errorf("inputs.form leaves out the required field %q", fd.Name)
		}
	}
	if len(f.Fields) == 0 {
		return f, fmt.Errorf("inputs.form shows no field")
	}
	return f, nil
}

// schemaProperties returns a schema's fields: the schema itself (jsonform's short form)
// or, for {type: object, properties, required}, its properties and required names.
func schemaProperties(schema *yaml.Node) (*yaml.Node, []string, error) {
	var typ string
	var props, req *yaml.Node
	for i := 0; i < len(schema.Content); i += 2 {
		switch schema.Content[i].Value {
		case "type":
			typ = schema.Content[i+1].Value
		case "properties":
			props = schema.Content[i+1]
		case "required":
			req = schema.Content[i+1]
		}
	}
	if typ != "object" || props == nil || props.Kind != yaml.MappingNode {
		return schema, nil, nil
	}
	for i := 0; i < len(schema.Content); i += 2 {
		if k := schema.Content[i].Value; !slices.Contains([]string{"type", "properties", "required", "title", "description"}, k) {
			return nil, nil, fmt.Errorf("inputs.schema.%s is not supported", k)
		}
	}
	var required []string
	if req != nil {
		if err := req.Decode(&required); err != nil {
			return nil, nil, fmt.Errorf("inputs.schema.required must be a list of field names")
		}
	}
	return props, required, nil
}

// parseField reads one field of a schema.
func parseField(name string, n *yaml.Node) (inputField, error) {
	where := "inputs.schema." + name
	fd := inputField{Name: name}
	if name == "" {
		return fd, fmt.Errorf("inputs.schema has a field without a name")
	}
	if n.Kind != yaml.MappingNode {
		return fd, fmt.Errorf("%s must be a mapping with type and title", where)
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k, v := n.Content[i].Value, n.Content[i+1].Value; k == "type" && (v == "object" || v == "array") {
			return fd, fmt.Errorf("%s: type %s is not supported (only string, number, integer and boolean fields)", where, v)
		}
	}
	for i := 0; i < len(n.Content); i += 2 {
		if k := n.Content[i].Value; !slices.Contains(fieldKeys, k) {
			return fd, fmt.Errorf("%s.%s is not supported", where, k)
		}
	}
	var y struct {
		Type        string `yaml:"type"`
		Title       string `yaml:"title"`
		Description string `yaml:"description"`
		Required    bool   `yaml:"required"`
		Enum        []any  `yaml:"enum"`
		Default     any    `yaml:"default"`
		MaxLength   int    `yaml:"maxLength"`
	}
	if err := n.Decode(&y); err != nil {
		return fd, fmt.Errorf("%s: %v", where, err)
	}
	switch y.Type {
	case "string", "number", "integer", "boolean":
	default:
		return fd, fmt.Errorf("%s.type must be string, number, integer or boolean, got %q", where, y.Type)
	}
	if y.MaxLength < 0 || (y.MaxLength > 0 && y.Type != "string") {
		return fd, fmt.Errorf("%s.maxLength must be a positive length of a string field", where)
	}
	fd.Type, fd.Title, fd.Description, fd.Required, fd.MaxLength = y.Type, y.Title, y.Description, y.Required, y.MaxLength
	if y.Type == "boolean" && len(y.Enum) > 0 {
		return fd, fmt.Errorf("%s.enum is not supported on a boolean field", where)
	}
	for i, v := range y.Enum {
		c, err := fd.coerce(v)
		if err != nil {
			return fd, fmt.Errorf("%s.enum[%d]: %v", where, i, err)
		}
		fd.Enum = append(fd.Enum, c)
	}
	if y.Default != nil {
		c, err := fd.coerce(y.Default)
		if err == nil {
			err = fd.check(c)
		}
		if err != nil {
			return fd, fmt.Errorf("%s.default: %v", where, err)
		}
		fd.Default = c
	}
	return fd, nil
}

// coerce turns a value written in the block's YAML into the field's type; a number
// written as a string ("1", as the reference's examples do) counts as a number.
func (fd inputField) coerce(v any) (any, error) {
	if s, ok := v.(string); ok && (fd.Type == "number" || fd.Type == "integer") {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			return nil, fmt.Errorf("%q is not a number", s)
		}
		v = f
	}
	switch n := v.(type) {
	case int:
		v = float64(n)
	case json.Number:
		f, err := n.Float64()
		if err != nil {
			return nil, fmt.Errorf("%s is not a number", n)
		}
		v = f
	}
	if err := fd.typeOK(v); err != nil {
		return nil, err
	}
	return v, nil
}

// typeOK reports whether v (as decoded from JSON, numbers as float64) has the field's type.
func (fd inputField) typeOK(v any) error {
	ok := false
	switch fd.Type {
	case "string":
		_, ok = v.(string)
	case "boolean":
		_, ok = v.(bool)
	case "number", "integer":
		f, isNum := v.(float64)
		ok = isNum && !math.IsInf(f, 0) && !math.IsNaN(f) && (fd.Type == "number" || f == math.Trunc(f))
	}
	if !ok {
		return fmt.Errorf("must be %s, got %v", map[string]string{"string": "a string", "boolean": "true or false",
			"number": "a number", "integer": "a whole number"}[fd.Type], v)
	}
	return nil
}

// check reports whether v is a value the field accepts.
func (fd inputField) check(v any) error {
	if err := fd.typeOK(v); err != nil {
		return err
	}
	if s, ok := v.(string); ok && fd.MaxLength > 0 && len([]rune(s)) > fd.MaxLength {
		return fmt.Errorf("must be at most %d characters long", fd.MaxLength)
	}
	if len(fd.Enum) > 0 && !slices.Contains(fd.Enum, v) {
		return fmt.Errorf("must be one of %v, got %v", fd.Enum, v)
	}
	return nil
}

// validate checks a form's values, as the page posted them: only the form's fields, each
// of its type and choices, the required ones present (a required string not empty).
func (f inputForm) validate(values map[string]any) error {
	for name := range values {
		if !slices.ContainsFunc(f.Fields, func(fd inputField) bool { return fd.Name == name }) {
			return fmt.Errorf("%q is no field of the form", name)
		}
	}
	for _, fd := range f.Fields {
		v, ok := values[fd.Name]
		if !ok || v == nil {
			if fd.Required {
				return fmt.Errorf("%q is required", fd.Name)
			}
			continue
		}
		if err := fd.check(v); err != nil {
			return fmt.Errorf("%q %v", fd.Name, err)
		}
		if s, _ := v.(string); fd.Required && fd.Type == "string" && s == "" {
			return fmt.Errorf("%q is required", fd.Name)
		}
	}
	return nil
}

// checkForm reports whether a form posted back by the page is one the portal renders:
// fields of known types with distinct names, and choices of their field's type.
func (f inputForm) checkForm() error {
	seen := map[string]bool{}
	for _, fd := range f.Fields {
		if fd.Name == "" || seen[fd.Name] {
			return fmt.Errorf("a field has no name or the name of another")
		}
		seen[fd.Name] = true
		if err := fd.typeOK(map[string]any{"string": "", "boolean": false, "number": 0.0, "integer": 0.0}[fd.Type]); err != nil {
			return fmt.Errorf("field %q has type %q", fd.Name, fd.Type)
		}
		for _, v := range fd.Enum {
			if err := fd.typeOK(v); err != nil {
				return fmt.Errorf("field %q: a choice %v", fd.Name, err)
			}
		}
	}
	if len(f.Fields) == 0 {
		return fmt.Errorf("the form has no fields")
	}
	return nil
}
