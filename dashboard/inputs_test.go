package dashboard

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"gopkg.in/yaml.v3"
)

// parse reads the inputs of an examiner block's YAML.
func parse(t *testing.T, src string) (inputForm, error) {
	t.Helper()
	var y struct {
		Inputs yaml.Node `yaml:"inputs"`
	}
	if err := yaml.Unmarshal([]byte(src), &y); err != nil {
		t.Fatalf("%q: %v", src, err)
	}
	return parseInputs(&y.Inputs)
}

// The reference's example, jsonform's short schema, and the JSON-schema form with a
// required list and a layout that retitles a field.
func TestParseInputs(t *testing.T) {
	tests := []struct {
		name, src string
		want      inputForm
	}{
		{"reference example", `
inputs:
  schema:
    name: {type: string, title: "Name:", default: "my-app", required: true}
    replicas: {type: integer, title: "Replicas:", default: "1", required: true}
  form:
  - "*"
  - type: submit
    title: Deploy
`, inputForm{Submit: "Deploy", Fields: []inputField{
			{Name: "name", Type: "string", Title: "Name:", Default: "my-app", Required: true},
			{Name: "replicas", Type: "integer", Title: "Replicas:", Default: 1.0, Required: true},
		}}},
		{"json schema with a layout", `
inputs:
  schema:
    type: object
    required: [colour]
    properties:
      colour: {type: string, enum: [red, green], description: "Pick one"}
      ratio: {type: number, default: 0.5}
      sure: {type: boolean, default: true}
  form:
  - sure
  - {key: colour, title: Colour}
`, inputForm{Submit: "Submit", Fields: []inputField{
			{Name: "sure", Type: "boolean", Default: true},
			{Name: "colour", Type: "string", Title: "Colour", Description: "Pick one", Required: true, Enum: []any{"red", "green"}},
		}}},
		{"no layout", "inputs: {schema: {n: {type: number, enum: [1, 2.5]}}}", inputForm{Submit: "Submit",
			Fields: []inputField{{Name: "n", Type: "number", Enum: []any{1.0, 2.5}}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(t, tt.src)
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("form (-want +got):\n%s", d)
			}
		})
	}
}

// What the portal cannot render is refused with the field named.
func TestParseInputsRefuses(t *testing.T) {
	tests := []struct{ src, want string }{
		{"inputs: [a]", "inputs must be a mapping"},
		{"inputs: {schema: {a: {type: string}}, params: {}}", "inputs.params is not supported"},
		{"inputs: {form: [a]}", "inputs.schema must be a mapping"},
		{"inputs: {schema: {a: {type: object, properties: {b: {type: string}}}}}", "inputs.schema.a: type object is not supported"},
		{"inputs: {schema: {a: {type: array}}}", "inputs.schema.a: type array is not supported"},
		{"inputs: {schema: {a: {type: date}}}", `inputs.schema.a.type must be string, number, integer or boolean, got "date"`},
		{"inputs: {schema: {a: {}}}", `inputs.schema.a.type must be string`},
		{"inputs: {schema: {a: {type: string, pattern: x}}}", "inputs.schema.a.pattern is not supported"},
		{"inputs: {schema: {a: {type: integer, default: 1.5}}}", "inputs.schema.a.default: must be a whole number"},
		{"inputs: {schema: {a: {type: integer, default: many}}}", `inputs.schema.a.default: "many" is not a number`},
		{"inputs: {schema: {a: {type: string, enum: [x], default: y}}}", "inputs.schema.a.default: must be one of [x], got y"},
		{"inputs: {schema: {a: {type: boolean, enum: [true]}}}", "inputs.schema.a.enum is not supported on a boolean field"},
		{"inputs: {schema: {type: object, properties: {a: {type: string}}, additionalProperties: false}}", "inputs.schema.additionalProperties is not supported"},
		{"inputs: {schema: {a: {type: string}}, form: {a: 1}}", "inputs.form must be a list"},
		{"inputs: {schema: {a: {type: string}}, form: [b]}", `inputs.form[0]: key "b" is no field of inputs.schema`},
		{"inputs: {schema: {a: {type: string}}, form: [a, a]}", `inputs.form[1]: field "a" is in the form twice`},
		{"inputs: {schema: {a: {type: string}}, form: [{key: a, onChange: x}]}", "inputs.form[0].onChange is not supported"},
		{"inputs: {schema: {a: {type: string}}, form: [a, {type: fieldset}]}", `inputs.form[1]: type "fieldset" is not supported`},
		{"inputs: {schema: {a: {type: string, required: true}, b: {type: string}}, form: [b]}", `inputs.form leaves out the required field "a"`},
		{"inputs: {schema: {a: {type: string}}, form: [{type: submit}]}", "inputs.form shows no field"},
	}
	for _, tt := range tests {
		if _, err := parse(t, tt.src); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: error %v, want %q", tt.src, err, tt.want)
		}
	}
}

// The dashboard checks posted values against the form: types, whole numbers, choices,
// required fields, no other fields.
func TestInputsValidate(t *testing.T) {
	f, err := parse(t, `
inputs:
  schema:
    name: {type: string, required: true, maxLength: 5}
    replicas: {type: integer}
    ratio: {type: number}
    tls: {type: boolean}
    size: {type: string, enum: [s, m]}
`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ values, want string }{
		{`{"name": "web", "replicas": 3, "ratio": 0.5, "tls": true, "size": "m"}`, ""},
		{`{"name": "web"}`, ""},
		{`{}`, `"name" is required`},
		{`{"name": ""}`, `"name" is required`},
		{`{"name": "toolong"}`, `"name" must be at most 5 characters long`},
		{`{"name": 7}`, `"name" must be a string`},
		{`{"name": "web", "replicas": 1.5}`, `"replicas" must be a whole number`},
		{`{"name": "web", "replicas": "3"}`, `"replicas" must be a whole number`},
		{`{"name": "web", "ratio": true}`, `"ratio" must be a number`},
		{`{"name": "web", "tls": "on"}`, `"tls" must be true or false`},
		{`{"name": "web", "size": "xl"}`, `"size" must be one of [s m], got xl`},
		{`{"name": "web", "extra": 1}`, `"extra" is no field of the form`},
	}
	for _, tt := range tests {
		var values map[string]any
		if err := json.Unmarshal([]byte(tt.values), &values); err != nil {
			t.Fatal(err)
		}
		err := f.validate(values)
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%s: error %v, want %q", tt.values, err, tt.want)
		}
	}
}
