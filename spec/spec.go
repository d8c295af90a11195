// Package spec reads TrainingPortal and Workshop documents, in the YAML schema of the
// Educates training portal, into the portal's settings.
//
// The API versions training.eduk8s.io/v1alpha1, training.eduk8s.io/v1alpha2 and
// training.educates.dev/v1beta1 are accepted for both kinds. A configuration holds exactly
// one TrainingPortal and any number of Workshop documents, in one multi-document file or
// spread over the *.yaml and *.yml files of a folder. All spec.portal and spec.workshops
// fields of the reference are read with the reference's defaults and clamping (the rules
// are listed at resolve, in portal.go). Fields of the reference schema the portal has no
// use for (theme, ingress, cookies, registry, session resources, …) are accepted silently;
// any other field is ignored with a warning. A value of the wrong type or form is an error
// naming the file, the field's path and the line.
//
// Additions of this portal, not in the reference schema:
//
//	spec:
//	  portal:
//	    rest:
//	      # Origins (scheme://host[:port]) an index_url of a REST request may point at.
//	      # When set, an index_url on any other origin is rejected. Default: any origin.
//	      indexOrigins: ["https://hub.example.com"]
//	      # What a session request naming an unknown `user` does: "new" (default) creates
//	      # a user with a fresh identifier, as the REST API document says; "adopt" creates
//	      # a user named by the supplied identifier, as the reference does.
//	      unknownUser: new
//
// metadata.name of the TrainingPortal is required and must be a DNS label (lower-case
// letters, digits and '-', at most 63), since environment, session and host names are made
// from it; metadata.uid defaults to "" (the scheduler assigns one) and metadata.generation
// to 1. Other metadata (namespace, labels, …) and a top-level status are accepted silently.
//
// Workshop content: spec.content.files names a local folder holding the workshop's
// instructions, absolute or relative to the folder of the file it was read from; in
// v1beta1 the path of the first spec.workshop.files[] entry is accepted too. Remote sources
// (an OCI image, a Git repository, an http URL, or a "github.com/…" reference) are not
// fetched: a warning is given and the dashboard shows the built-in sample content.
//
// Workshop objects: spec.session.objects and spec.environment.objects are read into the
// JSON text of each object, their $(variables) left for the provisioner to expand; each
// must be a mapping with apiVersion, kind and metadata.name.
package spec

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"portal"
)

// Config is a loaded configuration: the resolved portal and the Workshop definitions.
type Config struct {
	Portal portal.PortalSettings
	// Workshops holds every Workshop document by its resource name (metadata.name),
	// whether or not the portal lists it.
	Workshops map[string]portal.Workshop
	// Warnings are the unknown fields and other doubtful but accepted values, each
	// formatted as "file: path: message".
	Warnings []string
}

// Error is a configuration mistake: the file, the document within it when the file holds
// several, the path of the field (e.g. "spec.workshops[0].capacity") and what is wrong.
type Error struct {
	File string
	Doc  int // 1-based index of the document in File; 0 when File holds one document
	Path string
	Line int // 0 when unknown
	Msg  string
}

// Error formats as "portal.yaml: spec.portal.sessions.maximum: expected an integer, got
// "abc" (line 7)", with "document N: " after the file name when the file holds several
// documents.
func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
		b.WriteString(": ")
	}
	if e.Doc > 0 {
		fmt.Fprintf(&b, "document %d: ", e.Doc)
	}
	if e.Path != "" {
		b.WriteString(e.Path)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	if e.Line > 0 {
		fmt.Fprintf(&b, " (line %d)", e.Line)
	}
	return b.String()
}

// source is one file's content. dir is the folder relative content paths are resolved
// against.
type source struct {
	name string
	dir  string
	data []byte
}

// Load reads a configuration from a file, or from every *.yaml and *.yml file of a folder
// in name order. Relative content folders become absolute paths.
func Load(path string) (*Config, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load config: %w", err)
	}
	var names []string
	if info.IsDir() {
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, fmt.Errorf("load config: %w", err)
		}
		for _, e := range entries {
			ext := filepath.Ext(e.Name())
			if e.Type().IsRegular() && (ext == ".yaml" || ext == ".yml") {
				names = append(names, filepath.Join(path, e.Name()))
			}
		}
		if len(names) == 0 {
			return nil, &Error{File: path, Msg: "no *.yaml or *.yml files in this folder"}
		}
		slices.Sort(names)
	} else {
		names = []string{path}
	}
	var sources []source
	for _, name := range names {
		data, err := os.ReadFile(name)
		if err != nil {
			return nil, fmt.Errorf("load config: %w", err)
		}
		dir, err := filepath.Abs(filepath.Dir(name))
		if err != nil {
			return nil, fmt.Errorf("load config: %w", err)
		}
		sources = append(sources, source{name: name, dir: dir, data: data})
	}
	return parse(path, sources)
}

// Parse parses one file's content. name is used in messages, and its folder is the base of
// relative content folders.
func Parse(name string, data []byte) (*Config, error) {
	return parse(name, []source{{name: name, dir: filepath.Dir(name), data: data}})
}

//go:embed sample.yaml
var sampleYAML []byte

// Sample returns the built-in sample configuration, used when no configuration is given:
// a portal named "portal" with one workshop, "portal-sample", whose content is the
// dashboard's embedded sample.
func Sample() *Config {
	c, err := Parse("sample.yaml", sampleYAML)
	if err != nil {
		panic("spec: the embedded sample does not parse: " + err.Error())
	}
	return c
}

// document is one decoded document with where it came from.
type document struct {
	src  source
	doc  int
	node *yaml.Node
}

// splitDocuments decodes every document of a file. Empty documents are skipped.
func splitDocuments(src source) ([]document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src.data))
	var docs []document
	for i := 1; ; i++ {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, &Error{File: src.name, Msg: strings.TrimPrefix(err.Error(), "yaml: ")}
		}
		if n.Kind == yaml.DocumentNode && len(n.Content) == 1 && !isNull(n.Content[0]) {
			docs = append(docs, document{src: src, doc: i, node: n.Content[0]})
		}
	}
	if len(docs) > 1 {
		return docs, nil
	}
	for i := range docs {
		docs[i].doc = 0 // a single document needs no index in messages
	}
	return docs, nil
}

// API versions accepted for both kinds.
var apiVersions = []string{
	"training.eduk8s.io/v1alpha1",
	"training.eduk8s.io/v1alpha2",
	"training.educates.dev/v1beta1",
}

// parse reads the documents of sources; origin is the file or folder they come from.
func parse(origin string, sources []source) (*Config, error) {
	cfg := &Config{Workshops: map[string]portal.Workshop{}}
	var (
		tp      *trainingPortal
		tpWhere string
		where   = map[string]string{} // Workshop name → where it was defined
	)
	for _, src := range sources {
		docs, err := splitDocuments(src)
		if err != nil {
			return nil, err
		}
		for _, doc := range docs {
			d := &decoder{file: src.name, doc: doc.doc}
			top := d.object(doc.node, "")
			version, _ := top.str("apiVersion")
			kind, _ := top.str("kind")
			top.ignore("status")
			if d.err != nil {
				return nil, d.err
			}
			if !slices.Contains(apiVersions, version) {
				n := top.get("apiVersion")
				if n == nil {
					n = doc.node
				}
				d.fail(n, "apiVersion", "unsupported API version %q; expected one of %s",
					version, strings.Join(apiVersions, ", "))
				return nil, d.err
			}
			here := docName(doc)
			switch kind {
			case "TrainingPortal":
				p := readTrainingPortal(d, top)
				if d.err != nil {
					return nil, d.err
				}
				if tp != nil {
					d.fail(top.get("kind"), "kind", "a second TrainingPortal; the first is in %s", tpWhere)
					return nil, d.err
				}
				tp, tpWhere = p, here
			case "Workshop":
				w := readWorkshop(d, top, version, src.dir)
				if d.err != nil {
					return nil, d.err
				}
				if first, dup := where[w.Name]; dup {
					d.fail(top.obj("metadata").get("name"), "metadata.name",
						"Workshop %q is defined twice; the first is in %s", w.Name, first)
					return nil, d.err
				}
				where[w.Name] = here
				cfg.Workshops[w.Name] = w
			default:
				n := top.get("kind")
				if n == nil {
					n = doc.node
				}
				d.fail(n, "kind", "unsupported kind %q; expected TrainingPortal or Workshop", kind)
				return nil, d.err
			}
			for _, w := range d.warnings {
				cfg.Warnings = append(cfg.Warnings, w.Error())
			}
		}
	}
	if tp == nil {
		return nil, &Error{File: origin, Msg: "no TrainingPortal document found"}
	}
	for i, e := range tp.entries {
		w, ok := cfg.Workshops[e.resource]
		if !ok {
			err := tp.d.newError(e.nameNode, index("spec.workshops", i)+".name",
				"no Workshop document named %q", e.resource)
			return nil, err
		}
		tp.settings.Workshops[i].Labels = portal.MergedLabels(e.defaultLabels, w.Labels, e.labels)
	}
	cfg.Portal = tp.settings
	return cfg, nil
}

// ParseWorkshops reads a file of Workshop documents only, such as a workshop folder's
// resources/workshop.yaml, with the checks, errors and warnings Load gives for the same
// documents. name is used in messages, and its folder is the base of relative content
// folders. A document of another kind is an error.
func ParseWorkshops(name string, data []byte) (workshops []portal.Workshop, warnings []*Error, err error) {
	src := source{name: name, dir: filepath.Dir(name), data: data}
	docs, err := splitDocuments(src)
	if err != nil {
		return nil, nil, err
	}
	if len(docs) == 0 {
		return nil, nil, &Error{File: name, Msg: "no Workshop document found"}
	}
	seen := map[string]bool{}
	for _, doc := range docs {
		d := &decoder{file: src.name, doc: doc.doc}
		top := d.object(doc.node, "")
		version, _ := top.str("apiVersion")
		kind, _ := top.str("kind")
		top.ignore("status")
		switch {
		case d.err != nil:
		case !slices.Contains(apiVersions, version):
			d.fail(cmpNode(top.get("apiVersion"), doc.node), "apiVersion", "unsupported API version %q; expected one of %s",
				version, strings.Join(apiVersions, ", "))
		case kind != "Workshop":
			d.fail(cmpNode(top.get("kind"), doc.node), "kind", "unsupported kind %q; expected Workshop", kind)
		default:
			w := readWorkshop(d, top, version, src.dir)
			if d.err == nil && seen[w.Name] {
				d.fail(top.obj("metadata").get("name"), "metadata.name", "Workshop %q is defined twice", w.Name)
			}
			seen[w.Name] = true
			workshops = append(workshops, w)
		}
		if d.err != nil {
			return nil, nil, d.err
		}
		warnings = append(warnings, d.warnings...)
	}
	return workshops, warnings, nil
}

// cmpNode returns n, or def when n is nil.
func cmpNode(n, def *yaml.Node) *yaml.Node {
	if n == nil {
		return def
	}
	return n
}

// docName names a document in messages: the file, and the index when it holds several.
func docName(doc document) string {
	if doc.doc > 0 {
		return fmt.Sprintf("%s document %d", doc.src.name, doc.doc)
	}
	return doc.src.name
}
