package editor

import (
	"errors"
	"os"
	"strings"
	"testing"
)

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestApplyText applies each line and text kind to testdata/lines.txt.
func TestApplyText(t *testing.T) {
	sel := &Range{4, 11} // "two\nthr"
	tests := []struct {
		name string
		e    Edit
		want string
		line int
	}{
		{"open-file", Edit{Kind: "open-file", Line: 3}, "one\ntwo\nthree\nfour\nfive\n", 3},
		{"create-file", Edit{Kind: "create-file", Text: "new"}, "new\n", 1},
		{"append-lines-to-file", Edit{Kind: "append-lines-to-file", Text: "six\nseven"}, "one\ntwo\nthree\nfour\nfive\nsix\nseven\n", 6},
		{"prepend-lines-to-file", Edit{Kind: "prepend-lines-to-file", Text: "zero\n"}, "zero\none\ntwo\nthree\nfour\nfive\n", 1},
		{"insert-lines-before-line", Edit{Kind: "insert-lines-before-line", Line: 2, Text: "x"}, "one\nx\ntwo\nthree\nfour\nfive\n", 2},
		{"insert-lines-before-line past the end", Edit{Kind: "insert-lines-before-line", Line: 9, Text: "x"}, "one\ntwo\nthree\nfour\nfive\nx\n", 6},
		{"insert-lines-after-line", Edit{Kind: "insert-lines-after-line", Line: 2, Text: "x"}, "one\ntwo\nx\nthree\nfour\nfive\n", 3},
		{"append-lines-after-line", Edit{Kind: "append-lines-after-line", Line: 5, Text: "x"}, "one\ntwo\nthree\nfour\nfive\nx\n", 6},
		{"append-lines-after-match", Edit{Kind: "append-lines-after-match", Match: "hre", Text: "x"}, "one\ntwo\nthree\nx\nfour\nfive\n", 4},
		{"insert-lines-before-match", Edit{Kind: "insert-lines-before-match", Match: "four", Text: "x"}, "one\ntwo\nthree\nx\nfour\nfive\n", 4},
		{"replace-text-selection", Edit{Kind: "replace-text-selection", Selection: sel, Text: "2\n3"}, "one\n2\n3ee\nfour\nfive\n", 2},
		{"delete-text-selection", Edit{Kind: "delete-text-selection", Selection: sel}, "one\nee\nfour\nfive\n", 2},
		{"insert-lines-before-selection", Edit{Kind: "insert-lines-before-selection", Selection: sel, Text: "x"}, "one\nx\ntwo\nthree\nfour\nfive\n", 2},
		{"append-lines-after-selection", Edit{Kind: "append-lines-after-selection", Selection: sel, Text: "x"}, "one\ntwo\nthree\nx\nfour\nfive\n", 4},
		{"replace-matching-text", Edit{Kind: "replace-matching-text", Match: "o", Replacement: "0"}, "0ne\ntwo\nthree\nfour\nfive\n", 1},
		{"replace-matching-text every match", Edit{Kind: "replace-matching-text", Match: "o", Replacement: "0", Count: -1}, "0ne\ntw0\nthree\nf0ur\nfive\n", 1},
		{"replace-matching-text regex from line 2", Edit{Kind: "replace-matching-text", Match: `f(\w+)`, Replacement: "F$1", IsRegex: true, Start: 2, Count: -1}, "one\ntwo\nthree\nFour\nFive\n", 4},
		{"replace-matching-text group", Edit{Kind: "replace-matching-text", Match: `t(w)o`, Replacement: "W", IsRegex: true, Group: 1}, "one\ntWo\nthree\nfour\nfive\n", 2},
		{"replace-lines-in-range", Edit{Kind: "replace-lines-in-range", Start: 2, Stop: 3, Text: "x"}, "one\nx\nfour\nfive\n", 2},
		{"delete-lines-in-range", Edit{Kind: "delete-lines-in-range", Start: 4}, "one\ntwo\nthree\nfive\n", 4},
		{"delete-matching-lines", Edit{Kind: "delete-matching-lines", Match: "two", After: 1}, "one\nfour\nfive\n", 2},
		{"delete-matching-lines regex before", Edit{Kind: "delete-matching-lines", Match: "^f", IsRegex: true, Before: -1}, "", 1},
	}
	src := fixture(t, "lines.txt")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Apply(tt.e, src)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(res.Content); got != tt.want {
				t.Errorf("content = %q, want %q", got, tt.want)
			}
			if res.Line != tt.line {
				t.Errorf("line = %d, want %d", res.Line, tt.line)
			}
			if res.Changed != (tt.e.Kind != "open-file") {
				t.Errorf("changed = %v", res.Changed)
			}
		})
	}
}

// TestApplySelect checks the part each select kind selects in testdata/lines.txt.
func TestApplySelect(t *testing.T) {
	tests := []struct {
		name string
		e    Edit
		want string
	}{
		{"text", Edit{Kind: "select-matching-text", Text: "hre"}, "hre"},
		{"regex group", Edit{Kind: "select-matching-text", Text: `f(i)ve`, IsRegex: true, Group: 1}, "i"},
		{"whole line", Edit{Kind: "select-matching-text", Text: "hre", Before: 0, After: 1}, "hree\nfour\n"},
		{"lines around", Edit{Kind: "select-matching-text", Text: "three", Before: 1, After: 1}, "two\nthree\nfour\n"},
		{"from line 4", Edit{Kind: "select-matching-text", Text: `f\w+`, IsRegex: true, Start: 5}, "five"},
		{"before the last line", Edit{Kind: "select-matching-text", Text: `f\w+`, IsRegex: true, Start: -2, Stop: -1}, "four"},
		{"lines in range", Edit{Kind: "select-lines-in-range", Start: 2, Stop: 3}, "two\nthree\n"},
		{"one line", Edit{Kind: "select-lines-in-range", Start: 5}, "five\n"},
	}
	src := fixture(t, "lines.txt")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Apply(tt.e, src)
			if err != nil {
				t.Fatal(err)
			}
			if res.Select == nil {
				t.Fatal("nothing selected")
			}
			if got := string(src[res.Select.From:res.Select.To]); got != tt.want {
				t.Errorf("selected %q, want %q", got, tt.want)
			}
			if res.Changed || string(res.Content) != string(src) {
				t.Error("a select changed the file")
			}
		})
	}
}

// TestApplyYAML applies each YAML kind to testdata/deploy.yaml: comments and key order
// survive.
func TestApplyYAML(t *testing.T) {
	tests := []struct {
		name string
		e    Edit
		want string
		line int
	}{
		{"set-yaml-value", Edit{Kind: "set-yaml-value", Path: "spec.replicas", Value: "3"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # its name
spec:
  replicas: 3
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.19
        - name: sidecar
          image: busybox
`, 7},
		{"set-yaml-value new keys by item match", Edit{Kind: "set-yaml-value", Path: `spec.template.spec.containers[name=nginx].ports`, Value: "- containerPort: 80"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # its name
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.19
          ports:
            - containerPort: 80
        - name: sidecar
          image: busybox
`, 13},
		{"set-yaml-value quoted key", Edit{Kind: "set-yaml-value", Path: `metadata.labels["app.kubernetes.io/name"]`, Value: "web"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # its name
  labels:
    app.kubernetes.io/name: web
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.19
        - name: sidecar
          image: busybox
`, 7},
		{"insert-value-into-yaml", Edit{Kind: "insert-value-into-yaml", Path: "spec.template.spec.containers", Value: "- name: log\n  image: fluentd"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # its name
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.19
        - name: sidecar
          image: busybox
        - name: log
          image: fluentd
`, 10},
		{"add-yaml-item", Edit{Kind: "add-yaml-item", Path: "metadata.finalizers", Value: "keep"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # its name
  finalizers:
    - keep
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.19
        - name: sidecar
          image: busybox
`, 6},
		{"delete-yaml-value", Edit{Kind: "delete-yaml-value", Path: "spec.template.spec.containers[1]"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # its name
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.19
`, 0},
		{"insert-yaml-item", Edit{Kind: "insert-yaml-item", Path: "spec.template.spec.containers", Index: 1, Value: "name: log\nimage: fluentd"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # its name
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.19
        - name: log
          image: fluentd
        - name: sidecar
          image: busybox
`, 13},
		{"replace-yaml-item", Edit{Kind: "replace-yaml-item", Path: "spec.template.spec.containers[name=nginx]", Value: "name: nginx\nimage: nginx:1.25"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web # its name
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.25
        - name: sidecar
          image: busybox
`, 11},
		{"merge-yaml-values", Edit{Kind: "merge-yaml-values", Path: "metadata", Value: "name: api\nnamespace: demo"}, `# The web server.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: api # its name
  namespace: demo
spec:
  replicas: 1
  template:
    spec:
      containers:
        - name: nginx
          image: nginx:1.19
        - name: sidecar
          image: busybox
`, 4},
	}
	src := fixture(t, "deploy.yaml")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := Apply(tt.e, src)
			if err != nil {
				t.Fatal(err)
			}
			if got := string(res.Content); got != tt.want {
				t.Errorf("content:\n%s\nwant:\n%s", got, tt.want)
			}
			if res.Line != tt.line {
				t.Errorf("line = %d, want %d", res.Line, tt.line)
			}
		})
	}
}

// select-yaml-path selects the lines of the key and its whole value.
func TestSelectYAMLPath(t *testing.T) {
	src := fixture(t, "deploy.yaml")
	for path, want := range map[string]string{
		"spec.template.spec.containers[name=sidecar].image": "          image: busybox\n",
		"spec.template.spec.containers[0]":                  "        - name: nginx\n          image: nginx:1.19\n",
		"metadata":                                          "metadata:\n  name: web # its name\n",
	} {
		res, err := Apply(Edit{Kind: "select-yaml-path", Path: path}, src)
		if err != nil {
			t.Fatal(err)
		}
		if res.Select == nil || string(src[res.Select.From:res.Select.To]) != want {
			t.Errorf("%s: selected %+v, want %q", path, res.Select, want)
		}
	}
}

// TestApplyErrors: an edit that does not fit its file is an ErrBadEdit naming why.
func TestApplyErrors(t *testing.T) {
	tests := []struct {
		name, file string
		e          Edit
		want       string
	}{
		{"no match", "lines.txt", Edit{Kind: "append-lines-after-match", Match: "six", Text: "x"}, `no line contains "six"`},
		{"no selection", "lines.txt", Edit{Kind: "replace-text-selection", Text: "x"}, "nothing of the file is selected"},
		{"line range", "lines.txt", Edit{Kind: "delete-lines-in-range", Start: 4, Stop: 9}, "lines 4 to 9 are not lines of the file, which has 5"},
		{"bad regex", "lines.txt", Edit{Kind: "select-matching-text", Text: "(", IsRegex: true}, "not a regular expression"},
		{"line 0", "lines.txt", Edit{Kind: "insert-lines-before-line", Text: "x"}, "line must be 1 or more"},
		{"no yaml path", "deploy.yaml", Edit{Kind: "delete-yaml-value", Path: "spec.volumes"}, "the file has no spec.volumes"},
		{"not a sequence", "deploy.yaml", Edit{Kind: "add-yaml-item", Path: "spec.replicas", Value: "1"}, "spec.replicas is not a sequence"},
		{"bad path", "deploy.yaml", Edit{Kind: "set-yaml-value", Path: "spec[x]", Value: "1"}, "neither an index"},
		{"not yaml", "lines.txt", Edit{Kind: "set-yaml-value", Path: "a", Value: "1"}, "is not a mapping"},
		{"index past the end", "deploy.yaml", Edit{Kind: "insert-yaml-item", Path: "spec.template.spec.containers", Index: 3, Value: "x"}, "index must be 0 to 2"},
		{"replace a key", "deploy.yaml", Edit{Kind: "replace-yaml-item", Path: "spec.replicas", Value: "2"}, "path must end in an item"},
		{"replace a missing item", "deploy.yaml", Edit{Kind: "replace-yaml-item", Path: "spec.template.spec.containers[name=db]", Value: "x"}, "the file has no spec.template.spec.containers[name=db]"},
		{"bad value", "deploy.yaml", Edit{Kind: "set-yaml-value", Path: "a", Value: "[1"}, "value is not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Apply(tt.e, fixture(t, tt.file))
			if !errors.Is(err, ErrBadEdit) {
				t.Fatalf("err = %v, want an ErrBadEdit", err)
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want it to say %q", err, tt.want)
			}
		})
	}
}

// TestApplyNewFile: the kinds that create a file accept a missing one.
func TestApplyNewFile(t *testing.T) {
	res, err := Apply(Edit{Kind: "set-yaml-value", Path: "a.b", Value: "1"}, nil)
	if err != nil || string(res.Content) != "a:\n  b: 1\n" {
		t.Fatalf("got %q, %v", res.Content, err)
	}
	res, err = Apply(Edit{Kind: "append-lines-to-file", Text: "x"}, nil)
	if err != nil || string(res.Content) != "x\n" {
		t.Fatalf("got %q, %v", res.Content, err)
	}
}
