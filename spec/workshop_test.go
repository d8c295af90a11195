package spec

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portal"
)

// portalFor is a TrainingPortal offering workshop w.
func portalFor(w string) string {
	return portalDoc("    {}", "  - name: "+w+"\n    capacity: 1")
}

func TestWorkshopAllFields(t *testing.T) {
	doc := `apiVersion: training.eduk8s.io/v1alpha2
kind: Workshop
metadata:
  name: lab-k8s.fundamentals
  uid: 42
  generation: 3
spec:
  title: Kubernetes fundamentals
  description: Pods and services
  vendor: example.com
  authors: [Ada, Grace]
  difficulty: intermediate
  duration: 1h
  tags: [kubernetes, "101"]
  labels:
  - name: track
    value: k8s
  logo: data:image/png;base64,BBBB
  url: https://example.com/lab
  request:
    parameters:
    - name: WORKSHOP_USERNAME
      value: guest
    - name: WORKSHOP_PASSWORD
      generate: expression
      from: "[a-z]{8}"
  content:
    files: ./content
  session:
    env:
    - name: GREETING
      value: hello
    - name: EMPTY
    applications:
      terminal:
        layout: split
      editor:
        enabled: true
    resources:
      memory: 1Gi
      storage: 500Mi
      cpu: 500m
      processes: 300
    namespaces:
      role: edit
      budget: medium
      security:
        policy: baseline
        token:
          enabled: false
  environment:
    objects: []
`
	c := mustParse(t, portalFor("lab-k8s.fundamentals"), doc)
	want := portal.Workshop{
		Name:        "lab-k8s.fundamentals",
		UID:         "42",
		Generation:  3,
		Title:       "Kubernetes fundamentals",
		Description: "Pods and services",
		Vendor:      "example.com",
		Authors:     []string{"Ada", "Grace"},
		Difficulty:  "intermediate",
		Duration:    "1h",
		Tags:        []string{"kubernetes", "101"},
		Labels:      []portal.Label{{Name: "track", Value: "k8s"}},
		Logo:        "data:image/png;base64,BBBB",
		URL:         "https://example.com/lab",
		Params: []portal.ParamSpec{
			{Name: "WORKSHOP_USERNAME", Value: "guest"},
			{Name: "WORKSHOP_PASSWORD", Generate: "expression", From: "[a-z]{8}"},
		},
		ContentDir: "content",
		Terminals:  2,
		Editor:     true,
		Env:        []portal.EnvVar{{Name: "GREETING", Value: "hello"}, {Name: "EMPTY", Value: ""}},
		Resources:  portal.SessionResources{Memory: 1 << 30, Storage: 500 << 20, CPU: 500, Processes: 300},
		Namespaces: portal.SessionNamespaces{Role: "edit", Budget: "medium", SecurityPolicy: "baseline", TokenDisabled: true},
	}
	if diff := cmp.Diff(want, c.Workshops["lab-k8s.fundamentals"]); diff != "" {
		t.Errorf("workshop (-want +got):\n%s", diff)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

func TestWorkshopTerminals(t *testing.T) {
	tests := []struct {
		terminal string
		want     int
	}{
		{"", 1},
		{"{}", 1},
		{"{enabled: true}", 1},
		{"{layout: default}", 1},
		{"{layout: split}", 2},
		{"{layout: split/2}", 3},
		{"{layout: lower}", 1},
		{"{layout: none}", 0},
		{"{enabled: false}", 0},
		{"{enabled: false, layout: split}", 0},
	}
	for _, tt := range tests {
		t.Run(tt.terminal, func(t *testing.T) {
			doc := workshopDoc("w") + "  session:\n    applications:\n      terminal: " + tt.terminal + "\n"
			c := mustParse(t, portalFor("w"), doc)
			if got := c.Workshops["w"].Terminals; got != tt.want {
				t.Errorf("Terminals = %d, want %d", got, tt.want)
			}
		})
	}
}

func TestWorkshopDashboards(t *testing.T) {
	doc := workshopDoc("w") + `  session:
    dashboards:
    - name: Example
      url: https://example.test/
    - name: App
      url: $(ingress_protocol)://app-$(session_namespace).$(ingress_domain)/
    - name: Notes
      url: /files/notes.txt
    - name: Build
      url: terminal:build
`
	c := mustParse(t, portalFor("w"), doc)
	want := []portal.Dashboard{
		{Name: "Example", URL: "https://example.test/"},
		{Name: "App", URL: "$(ingress_protocol)://app-$(session_namespace).$(ingress_domain)/"},
		{Name: "Notes", URL: "/files/notes.txt"},
		{Name: "Build", URL: "terminal:build"},
	}
	if diff := cmp.Diff(want, c.Workshops["w"].Dashboards); diff != "" {
		t.Errorf("Dashboards (-want +got):\n%s", diff)
	}
	if len(c.Warnings) != 0 {
		t.Errorf("warnings: %q", c.Warnings)
	}
}

func TestWorkshopContentDir(t *testing.T) {
	tests := []struct {
		name    string
		version string
		spec    string
		want    string
		warning string
	}{
		{"relative", "training.eduk8s.io/v1alpha2", "  content:\n    files: lab", filepath.Join("conf", "lab"), ""},
		{"dot relative", "training.eduk8s.io/v1alpha1", "  content:\n    files: ../labs/one", "labs/one", ""},
		{"absolute", "training.educates.dev/v1beta1", "  content:\n    files: /srv/labs/one/", "/srv/labs/one", ""},
		{"none", "training.educates.dev/v1beta1", "", "", ""},
		{"content image is known", "training.eduk8s.io/v1alpha2", "  content:\n    image: quay.io/x/y", "", ""},
		{"v1beta1 workshop.files path", "training.educates.dev/v1beta1", "  workshop:\n    files:\n    - path: lab\n      includePaths: [/workshop/**]", filepath.Join("conf", "lab"), ""},
		{"content.files before workshop.files", "training.educates.dev/v1beta1", "  content:\n    files: a\n  workshop:\n    files:\n    - path: b", filepath.Join("conf", "a"), ""},
		{"local folder after published files", "training.educates.dev/v1beta1", "  workshop:\n    files:\n    - image:\n        url: a/b\n    - path: b", "", "cannot be combined"},
		{"published files after a local folder", "training.educates.dev/v1beta1", "  content:\n    files: a\n  workshop:\n    files:\n    - image:\n        url: a/b", filepath.Join("conf", "a"), "a local content folder is given before"},
		{"vendir kind not fetched", "training.educates.dev/v1beta1", "  workshop:\n    files:\n    - githubRelease:\n        slug: org/repo", "", "is not fetched by the portal"},
		{"workshop.files unknown before v1beta1", "training.eduk8s.io/v1alpha2", "  workshop:\n    files:\n    - path: b", "", "spec.workshop: unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(workshopDoc("w"), "training.educates.dev/v1beta1", tt.version, 1) + tt.spec + "\n"
			c, err := Parse(filepath.Join("conf", "portal.yaml"), []byte(portalFor("w")+"---\n"+doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Workshops["w"].ContentDir; got != tt.want {
				t.Errorf("ContentDir = %q, want %q", got, tt.want)
			}
			switch {
			case tt.warning == "" && len(c.Warnings) != 0:
				t.Errorf("warnings %q, want none", c.Warnings)
			case tt.warning != "" && (len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], tt.warning)):
				t.Errorf("warnings %q, want one containing %q", c.Warnings, tt.warning)
			}
		})
	}
}

func TestWorkshopErrors(t *testing.T) {
	tests := []struct {
		name     string
		spec     string // appended to a minimal Workshop spec
		path     string
		contains string
	}{
		{"difficulty", "  difficulty: easy", "spec.difficulty", "expected one of beginner, intermediate, advanced, extreme"},
		{"layout", "  session:\n    applications:\n      terminal:\n        layout: tiled", "spec.session.applications.terminal.layout", `got "tiled"`},
		{"terminal enabled", "  session:\n    applications:\n      terminal:\n        enabled: 2", "spec.session.applications.terminal.enabled", "expected true or false"},
		{"editor enabled", "  session:\n    applications:\n      editor:\n        enabled: yes please", "spec.session.applications.editor.enabled", "expected true or false"},
		{"authors", "  authors: Ada", "spec.authors", "expected a list"},
		{"author item", "  authors: [{name: Ada}]", "spec.authors[0]", "expected a string, got a mapping"},
		{"tags", "  tags: [a, [b]]", "spec.tags[1]", "expected a string, got a list"},
		{"env name", "  session:\n    env:\n    - name: A\n    - name: BAD-NAME", "spec.session.env[1].name", "not a valid environment variable name"},
		{"env twice", "  session:\n    env:\n    - name: A\n    - name: A", "spec.session.env[1].name", "listed twice"},
		{"content files scheme", "  content:\n    files: ftp://example.com/lab.tar", "spec.content.files", "unknown kind of content source"},
		{"files url missing", "  workshop:\n    files:\n    - image: {}", "spec.workshop.files[0].image.url", "required field is missing"},
		{"files two sources", "  workshop:\n    files:\n    - image: {url: a/b}\n      git: {url: https://x/y}", "spec.workshop.files[0].git", "only one of"},
		{"files path leaves", "  workshop:\n    files:\n    - image: {url: a/b}\n      newRootPath: ../x", "spec.workshop.files[0].newRootPath", "leaves"},
		{"param name", "  request:\n    parameters:\n    - value: x", "spec.request.parameters[0].name", "required"},
		{"param twice", "  request:\n    parameters:\n    - name: P\n    - name: P", "spec.request.parameters[1].name", "listed twice"},
		{"param generate", "  request:\n    parameters:\n    - name: P\n      generate: random", "spec.request.parameters[0].generate", "expected one of expression"},
		{"param from missing", "  request:\n    parameters:\n    - name: P\n      generate: expression", "spec.request.parameters[0].from", "required"},
		{"param from regex", "  request:\n    parameters:\n    - name: P\n      generate: expression\n      from: '[a-'", "spec.request.parameters[0].from", "regular expression"},
		{"content files", "  content:\n    files: [a]", "spec.content.files", "expected a string"},
		{"title", "  title: {a: b}", "spec.title", "expected a string"},
		{"namespace budget", "  session:\n    namespaces:\n      budget: huge", "spec.session.namespaces.budget", `got "huge"`},
		{"namespace role", "  session:\n    namespaces:\n      role: owner", "spec.session.namespaces.role", "expected one of admin, edit, view"},
		{"security policy", "  session:\n    namespaces:\n      security:\n        policy: open", "spec.session.namespaces.security.policy", "expected one of restricted, baseline, privileged"},
		{"dashboard name missing", "  session:\n    dashboards:\n    - url: /x", "spec.session.dashboards[0].name", "required field is missing"},
		{"dashboard url missing", "  session:\n    dashboards:\n    - name: Docs", "spec.session.dashboards[0].url", "required field is missing"},
		{"dashboard name form", "  session:\n    dashboards:\n    - name: \"<b>\"\n      url: /x", "spec.session.dashboards[0].name", `got "<b>"`},
		{"dashboard name list", "  session:\n    dashboards:\n    - name: [a]\n      url: /x", "spec.session.dashboards[0].name", "expected a string"},
		{"dashboard builtin", "  session:\n    dashboards:\n    - name: Terminal\n      url: /x", "spec.session.dashboards[0].name", "one of the dashboard's own tabs"},
		{"dashboard twice", "  session:\n    dashboards:\n    - name: Docs\n      url: /x\n    - name: docs\n      url: /y", "spec.session.dashboards[1].name", "listed twice"},
		{"dashboard url scheme", "  session:\n    dashboards:\n    - name: Docs\n      url: javascript:alert(1)", "spec.session.dashboards[0].url", "expected an http or https URL, a path starting with /, or terminal:<name>"},
		{"dashboard terminal name", "  session:\n    dashboards:\n    - name: Docs\n      url: terminal:1", "spec.session.dashboards[0].url", "expected terminal:<name>"},
		{"dashboards", "  session:\n    dashboards: {name: x}", "spec.session.dashboards", "expected a list"},
		{"token enabled", "  session:\n    namespaces:\n      security:\n        token:\n          enabled: maybe", "spec.session.namespaces.security.token.enabled", "expected true or false"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(workshopDoc("w"), "  title: Workshop w\n", "", 1) + "  title: W\n"
			if strings.HasPrefix(tt.spec, "  title:") {
				doc = strings.Replace(doc, "  title: W\n", "", 1)
			}
			e := parseError(t, portalFor("w"), doc+tt.spec+"\n")
			if e.Path != tt.path || !strings.Contains(e.Msg, tt.contains) || e.Doc != 2 {
				t.Errorf("error = %v\nwant document 2, path %q and a message containing %q", e, tt.path, tt.contains)
			}
		})
	}
}

func TestWorkshopName(t *testing.T) {
	for _, name := range []string{"Lab", "lab_1", "-lab", "lab-"} {
		t.Run(name, func(t *testing.T) {
			e := parseError(t, portalFor("w"), workshopDoc(name))
			if e.Path != "metadata.name" || !strings.Contains(e.Msg, "not a valid Workshop name") {
				t.Errorf("error = %v, want an invalid name at metadata.name", e)
			}
		})
	}
}

func TestWorkshopMissingTitle(t *testing.T) {
	doc := "apiVersion: training.educates.dev/v1beta1\nkind: Workshop\nmetadata:\n  name: w\nspec:\n  description: D\n"
	c := mustParse(t, portalFor("w"), doc)
	if got, want := c.Workshops["w"].Title, "w"; got != want {
		t.Errorf("Title = %q, want the name %q", got, want)
	}
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "spec.title: missing") {
		t.Errorf("warnings = %q, want one about the missing title", c.Warnings)
	}
}

func TestParseQuantity(t *testing.T) {
	for _, tc := range []struct {
		in    string
		scale float64
		want  int64
		ok    bool
	}{
		{"512Mi", 1, 512 << 20, true},
		{"1Gi", 1, 1 << 30, true},
		{"1G", 1, 1e9, true},
		{"1.5Gi", 1, 3 << 29, true},
		{"2", 1000, 2000, true},
		{"500m", 1000, 500, true},
		{"0.25", 1000, 250, true},
		{"1GB", 1, 0, false},
		{"-1Gi", 1, 0, false},
		{"", 1, 0, false},
	} {
		got, ok := parseQuantity(tc.in, tc.scale)
		if got != tc.want || ok != tc.ok {
			t.Errorf("parseQuantity(%q, %v) = %d, %v; want %d, %v", tc.in, tc.scale, got, ok, tc.want, tc.ok)
		}
	}
}

// spec.workshop.image (spec.content.image before v1beta1) is the sessions' image on
// Kubernetes; the reference's base-environment alias is the portal's own session image, its
// other aliases warn.
func TestWorkshopImage(t *testing.T) {
	for _, tt := range []struct {
		name, version, spec, want, warning string
	}{
		{"full name", "training.educates.dev/v1beta1", "  workshop:\n    image: ghcr.io/example/lab-image:1.2", "ghcr.io/example/lab-image:1.2", ""},
		{"base alias", "training.educates.dev/v1beta1", "  workshop:\n    image: base-environment:*", "", ""},
		{"other alias", "training.educates.dev/v1beta1", "  workshop:\n    image: jdk17-environment:*", "", "alias of one of the reference's workshop images"},
		{"registry host with -environment", "training.educates.dev/v1beta1", "  workshop:\n    image: registry.example.com/java-environment:3", "registry.example.com/java-environment:3", ""},
		{"older content.image", "training.eduk8s.io/v1alpha2", "  content:\n    image: quay.io/example/lab:latest", "quay.io/example/lab:latest", ""},
		{"none", "training.educates.dev/v1beta1", "", "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(workshopDoc("w"), "training.educates.dev/v1beta1", tt.version, 1) + tt.spec + "\n"
			c, err := Parse(filepath.Join("conf", "portal.yaml"), []byte(portalFor("w")+"---\n"+doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := c.Workshops["w"].Image; got != tt.want {
				t.Errorf("Image = %q, want %q", got, tt.want)
			}
			switch {
			case tt.warning == "" && len(c.Warnings) != 0:
				t.Errorf("warnings %q, want none", c.Warnings)
			case tt.warning != "" && (len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], tt.warning)):
				t.Errorf("warnings %q, want one containing %q", c.Warnings, tt.warning)
			}
		})
	}
}

// Published content sources: the older spec.content.files forms and v1beta1's
// spec.workshop.files entries, with $(workshop_version) from spec.version.
func TestWorkshopContentSources(t *testing.T) {
	tests := []struct {
		name    string
		version string
		spec    string
		want    []portal.ContentSource
	}{
		{"github reference", "training.eduk8s.io/v1alpha2", "  content:\n    files: github.com/eduk8s/lab-markdown-sample",
			[]portal.ContentSource{{Kind: portal.ContentGit, URL: "https://github.com/eduk8s/lab-markdown-sample"}}},
		{"gitlab folder and ref", "training.eduk8s.io/v1alpha2", "  content:\n    files: gitlab.com/org/repo/labs/one?ref=develop",
			[]portal.ContentSource{{Kind: portal.ContentGit, URL: "https://gitlab.com/org/repo", Ref: "develop", NewRoot: "labs/one"}}},
		{"tarball with path", "training.eduk8s.io/v1alpha2", "  content:\n    files: https://example.com/lab.tar.gz?path=lab-main",
			[]portal.ContentSource{{Kind: portal.ContentHTTP, URL: "https://example.com/lab.tar.gz", NewRoot: "lab-main"}}},
		{"imgpkg", "training.eduk8s.io/v1alpha2", "  content:\n    files: imgpkg://ghcr.io/org/lab-files:1.0?path=workshop",
			[]portal.ContentSource{{Kind: portal.ContentImage, URL: "ghcr.io/org/lab-files:1.0", NewRoot: "workshop"}}},
		{"imgpkg over http", "training.eduk8s.io/v1alpha2", "  content:\n    files: imgpkg+http://registry.local:5000/lab-files:$(workshop_version)\n  version: \"2.1\"",
			[]portal.ContentSource{{Kind: portal.ContentImage, URL: "registry.local:5000/lab-files:2.1", Insecure: true}}},
		{"git+https", "training.eduk8s.io/v1alpha2", "  content:\n    files: git+https://git.example.com/lab.git?ref=v2&path=docs",
			[]portal.ContentSource{{Kind: portal.ContentGit, URL: "https://git.example.com/lab.git", Ref: "v2", NewRoot: "docs"}}},
		{"v1beta1 image", "training.educates.dev/v1beta1", `  workshop:
    files:
    - image:
        url: $(image_repository)/lab-files:$(workshop_version)
        secretRef:
          name: pull
      includePaths: [/workshop/**, /README.md]
      excludePaths: ["**/*.tmp"]
      newRootPath: lab
      path: .`,
			[]portal.ContentSource{{Kind: portal.ContentImage, URL: "$(image_repository)/lab-files:latest",
				Include: []string{"/workshop/**", "/README.md"}, Exclude: []string{"**/*.tmp"}, NewRoot: "lab"}}},
		{"v1beta1 git and http", "training.educates.dev/v1beta1", `  workshop:
    files:
    - git:
        url: https://github.com/org/lab
        ref: origin/main
    - http:
        url: https://example.com/extra.zip
      path: extra`,
			[]portal.ContentSource{{Kind: portal.ContentGit, URL: "https://github.com/org/lab", Ref: "origin/main"},
				{Kind: portal.ContentHTTP, URL: "https://example.com/extra.zip", Path: "extra"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(workshopDoc("w"), "training.educates.dev/v1beta1", tt.version, 1) + tt.spec + "\n"
			c, err := Parse(filepath.Join("conf", "portal.yaml"), []byte(portalFor("w")+"---\n"+doc))
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if len(c.Warnings) != 0 {
				t.Errorf("warnings %q, want none", c.Warnings)
			}
			w := c.Workshops["w"]
			if diff := cmp.Diff(tt.want, w.Content); diff != "" {
				t.Errorf("Content (-want +got):\n%s", diff)
			}
			if w.ContentDir != "" {
				t.Errorf("ContentDir = %q, want none", w.ContentDir)
			}
		})
	}
}
