package spec

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"

	"portal"
)

// Difficulty levels of spec.difficulty.
var difficulties = []string{"beginner", "intermediate", "advanced", "extreme"}

// Fields of a Workshop spec, and of its session, that the portal does not use but that
// belong to the reference schema, so they draw no warning.
var (
	ignoredWorkshopSpec = []string{"publish", "packages"}
	ignoredEnvironment  = []string{"secrets", "assets", "images"}
	ignoredSession      = []string{
		"patches", "security", "volumes",
		"volumeMounts", "serviceAccount", "config", "variables",
	}
	ignoredApplications = []string{
		"console", "docker", "examiner", "files", "git", "registry", "sshd",
		"slides", "vcluster", "webdav", "workshop", "uploads",
	}
)

func readWorkshop(d *decoder, top *object, version, dir string) portal.Workshop {
	var w portal.Workshop
	w.Name, w.UID, w.Generation = readMetadata(d, top, resourceNamePattern, "Workshop")

	spec := top.obj("spec")
	w.Title = spec.strOr("title", "")
	if w.Title == "" {
		d.warn(spec.node, "spec.title", "missing; the Workshop name is used as the title")
		w.Title = w.Name
	}
	w.Description = spec.strOr("description", "")
	w.Vendor = spec.strOr("vendor", "")
	w.Authors = spec.strings("authors")
	w.Difficulty = spec.enum("difficulty", "", difficulties...)
	w.Duration = spec.strOr("duration", "")
	w.Tags = spec.strings("tags")
	w.Labels = spec.labels("labels")
	w.Logo = spec.strOr("logo", "")
	w.URL = spec.strOr("url", "")
	w.Params = readParams(d, spec.obj("request"))

	// The reference's $(workshop_version) in content URLs is spec.version, "latest" when
	// not given.
	workshopVersion := spec.strOr("version", "latest")
	content := spec.obj("content")
	if files, ok := content.str("files"); ok {
		if isRemote(files) {
			src, err := contentRef(strings.ReplaceAll(files, "$(workshop_version)", workshopVersion))
			if err != nil {
				d.fail(content.get("files"), content.at("files"), "%v", err)
			} else {
				w.Content = append(w.Content, src)
			}
		} else {
			w.ContentDir = contentDir(files, dir)
		}
	}
	// The older versions' spec.content.image is the workshop's image; v1beta1's
	// spec.workshop.image takes its place.
	if image, ok := content.str("image"); ok {
		w.Image = workshopImage(d, content, image)
	}
	content.finish()
	if version == "training.educates.dev/v1beta1" {
		workshop := spec.obj("workshop")
		local := w.ContentDir != "" || len(w.Content) > 0
		for i, n := range workshop.list("files") {
			f := d.object(n, index(workshop.at("files"), i))
			src, remote := workshopFiles(f, workshopVersion)
			switch {
			case remote && local && len(w.Content) == 0:
				d.warn(n, f.path, "a local content folder is given before; this entry is ignored")
			case remote:
				w.Content = append(w.Content, src)
			default:
				// An entry without a source is a local folder in path (the first one).
				if path, ok := f.str("path"); ok && len(w.Content) > 0 {
					d.warn(n, f.path, "a local folder cannot be combined with published content; this entry is ignored")
				} else if ok && !local {
					w.ContentDir = contentDir(path, dir)
					local = true
				}
				f.ignore("path")
			}
			f.finish()
		}
		if image, ok := workshop.str("image"); ok {
			w.Image = workshopImage(d, workshop, image)
		}
		workshop.ignore("packages")
		workshop.finish()
	}

	session := spec.obj("session")
	w.Env = session.env("env")
	applications := session.obj("applications")
	terminal := applications.obj("terminal")
	w.Terminals = 1
	// As in the reference: "lower" is one terminal (below the instructions there), "none"
	// none at all.
	switch terminal.enum("layout", "default", "default", "split", "split/2", "lower", "none") {
	case "split":
		w.Terminals = 2
	case "split/2":
		w.Terminals = 3
	case "none":
		w.Terminals = 0
	}
	if !terminal.boolOr("enabled", true) {
		w.Terminals = 0
	}
	terminal.finish()
	editor := applications.obj("editor")
	w.Editor = editor.boolOr("enabled", false)
	editor.finish()
	applications.ignore(ignoredApplications...)
	applications.finish()
	// The reference's memory and storage (the home's size), and two portal extensions.
	resources := session.obj("resources")
	w.Resources.Memory = resources.quantity("memory", 1)
	w.Resources.Storage = resources.quantity("storage", 1)
	w.Resources.CPU = resources.quantity("cpu", 1000)
	if n := resources.int64("processes"); n != nil {
		if *n <= 0 {
			d.fail(resources.get("processes"), resources.at("processes"), "expected a positive number of processes, got %d", *n)
		} else {
			w.Resources.Processes = *n
		}
	}
	resources.finish()
	w.Dashboards = readDashboards(d, session)
	readNamespaces(session.obj("namespaces"), &w.Namespaces)
	w.SessionObjects = readObjects(session, "objects")
	warnWorkshopAccount(session, "objects", w.SessionObjects)
	w.Ingresses = readIngresses(d, session)
	session.ignore(ignoredSession...)
	session.finish()
	environment := spec.obj("environment")
	w.EnvironmentObjects = readObjects(environment, "objects")
	environment.ignore(ignoredEnvironment...)
	environment.finish()

	spec.ignore(ignoredWorkshopSpec...)
	spec.finish()
	top.finish()
	return w
}

// dashboardName is the form of a dashboard tab's name (the dashboard's actions match tabs
// by name without regard to case); terminalName that of a named terminal.
var (
	dashboardName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9 _-]{0,63}$`)
	terminalName  = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,31}$`)
	// sessionVar is a $(name) the portal expands in a dashboard's URL.
	sessionVar = regexp.MustCompile(`\$\([a-z_]+\)`)
)

// builtinTabs are the names of the dashboard's own tabs, which session.dashboards cannot
// take.
var builtinTabs = []string{"terminal", "slides", "editor", "console"}

// readDashboards reads session.dashboards: a list of {name, url}, url an http or https
// URL, a path starting with "/", or terminal:<name>; names unique without regard to case.
func readDashboards(d *decoder, session *object) []portal.Dashboard {
	var out []portal.Dashboard
	seen := map[string]bool{}
	for i, n := range session.list("dashboards") {
		o := d.object(n, index(session.at("dashboards"), i))
		var db portal.Dashboard
		var nameOK, urlOK bool
		db.Name, nameOK = o.str("name")
		db.URL, urlOK = o.str("url")
		key := strings.ToLower(db.Name)
		switch {
		case !o.has("name"):
			d.fail(n, o.at("name"), "required field is missing")
		case !nameOK:
			// str said why
		case !dashboardName.MatchString(db.Name):
			d.fail(o.get("name"), o.at("name"), "expected letters, digits, spaces, - or _ (up to 64, starting with a letter or digit), got %q", db.Name)
		case slices.Contains(builtinTabs, key):
			d.fail(o.get("name"), o.at("name"), "%q is the name of one of the dashboard's own tabs", db.Name)
		case seen[key]:
			d.fail(o.get("name"), o.at("name"), "%q is listed twice", db.Name)
		}
		seen[key] = true
		if !o.has("url") {
			d.fail(n, o.at("url"), "required field is missing")
		} else if !urlOK {
			// str said why
		} else if why := dashboardURLProblem(db.URL); why != "" {
			d.fail(o.get("url"), o.at("url"), "%s, got %q", why, db.URL)
		}
		o.finish()
		out = append(out, db)
	}
	return out
}

// dashboardURLProblem says what is wrong with a dashboard tab's url ("" = nothing).
func dashboardURLProblem(raw string) string {
	if name, ok := strings.CutPrefix(raw, "terminal:"); ok {
		if !terminalName.MatchString(name) || name == "all" {
			return "expected terminal:<name>, the name a letter, then up to 31 letters, digits, - or _"
		}
		return ""
	}
	if strings.HasPrefix(raw, "/") && !strings.HasPrefix(raw, "//") {
		return ""
	}
	// $(ingress_protocol) is http or https; other variables are parts of a host or path.
	s := strings.ReplaceAll(raw, "$(ingress_protocol)", "http")
	s = sessionVar.ReplaceAllString(s, "x")
	if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "expected an http or https URL, a path starting with /, or terminal:<name>"
	}
	return ""
}

// readParams reads spec.request.parameters.
func readParams(d *decoder, request *object) []portal.ParamSpec {
	var out []portal.ParamSpec
	seen := map[string]bool{}
	for i, n := range request.list("parameters") {
		p := d.object(n, index(request.at("parameters"), i))
		var ps portal.ParamSpec
		ps.Name, _ = p.str("name")
		switch {
		case ps.Name == "":
			d.fail(n, p.at("name"), "required field is missing")
		case seen[ps.Name]:
			d.fail(p.get("name"), p.at("name"), "%q is listed twice", ps.Name)
		}
		seen[ps.Name] = true
		ps.Value = p.strOr("value", "")
		ps.Generate = p.enum("generate", "", "expression")
		ps.From = p.strOr("from", "")
		if ps.Generate != "" {
			if ps.From == "" {
				d.fail(n, p.at("from"), "required when generate is set")
			} else if _, err := syntax.Parse(ps.From, syntax.Perl); err != nil {
				d.fail(p.get("from"), p.at("from"), "not a regular expression the portal can generate from: %v", err)
			}
		}
		p.finish()
		out = append(out, ps)
	}
	request.finish()
	return out
}

// contentDir resolves a local content folder against dir, the folder of the file being
// read.
func contentDir(value, dir string) string {
	if value == "" {
		return ""
	}
	if filepath.IsAbs(value) {
		return filepath.Clean(value)
	}
	return filepath.Join(dir, value)
}

// isRemote reports whether a content reference names something to download: a URL, or a
// reference starting with a host name such as "github.com/org/repo".
func isRemote(s string) bool {
	if strings.Contains(s, "://") {
		return true
	}
	first, _, _ := strings.Cut(s, "/")
	return first != "." && first != ".." && strings.Contains(first, ".") && strings.Contains(s, "/")
}

// readNamespaces reads spec.session.namespaces: what a session's namespace on Kubernetes
// gets. The local provisioner ignores it.
func readNamespaces(ns *object, out *portal.SessionNamespaces) {
	out.Role = ns.enum("role", "", "admin", "edit", "view")
	out.Budget = ns.enum("budget", "", "default", "custom", "small", "medium", "large", "x-large", "xx-large", "xxx-large")
	security := ns.obj("security")
	out.SecurityPolicy = security.enum("policy", "", "restricted", "baseline", "privileged")
	token := security.obj("token")
	out.TokenDisabled = !token.boolOr("enabled", true)
	token.finish()
	security.finish()
	ns.ignore("limits", "secondary")
	ns.finish()
}

// readObjects reads a list of Kubernetes objects (session.objects, environment.objects)
// into the JSON text of each. An object needs apiVersion, kind and metadata.name; the rest
// is the cluster's to check when the objects are applied. The local provisioner ignores
// them.
func readObjects(o *object, key string) []string {
	var out []string
	for i, n := range o.list(key) {
		path := index(o.at(key), i)
		if n.Kind != yaml.MappingNode {
			o.d.fail(n, path, "expected a Kubernetes object (a mapping with apiVersion, kind and metadata.name), got %s", describe(n))
			continue
		}
		var v any
		if err := n.Decode(&v); err != nil {
			o.d.fail(n, path, "%v", err)
			continue
		}
		obj, _ := jsonValue(v).(map[string]any)
		meta, _ := obj["metadata"].(map[string]any)
		for _, f := range []struct {
			path  string
			value any
			ok    bool
		}{
			{"apiVersion", obj["apiVersion"], obj["apiVersion"] != nil},
			{"kind", obj["kind"], obj["kind"] != nil},
			{"metadata.name", meta["name"], meta["name"] != nil},
		} {
			if !f.ok {
				o.d.fail(n, join(path, f.path), "required field is missing: every object needs apiVersion, kind and metadata.name")
			} else if s, _ := f.value.(string); s == "" {
				o.d.fail(n, join(path, f.path), "expected a non-empty string, got %v", f.value)
			}
		}
		b, err := json.Marshal(obj)
		if err != nil {
			o.d.fail(n, path, "not representable as JSON: %v", err)
			continue
		}
		out = append(out, string(b))
	}
	return out
}

// jsonValue converts a decoded YAML value into one that encoding/json can write:
// mappings with other than string keys (numbers, booleans) get their keys as text, as
// YAML-to-JSON conversion does for Kubernetes.
func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, e := range v {
			v[k] = jsonValue(e)
		}
		return v
	case map[any]any:
		m := make(map[string]any, len(v))
		for k, e := range v {
			m[fmt.Sprint(k)] = jsonValue(e)
		}
		return m
	case []any:
		for i, e := range v {
			v[i] = jsonValue(e)
		}
		return v
	}
	return v
}

// warnWorkshopAccount warns about a session object's binding subject that names the
// session's ServiceAccount in $(workshop_namespace), as the reference's examples do: the
// portal's session account is in the session's own namespace, so the binding would grant
// nothing.
func warnWorkshopAccount(o *object, key string, objects []string) {
	for i, text := range objects {
		var obj struct {
			Subjects []struct {
				Kind      string `json:"kind"`
				Name      string `json:"name"`
				Namespace string `json:"namespace"`
			} `json:"subjects"`
		}
		if json.Unmarshal([]byte(text), &obj) != nil {
			continue
		}
		for j, s := range obj.Subjects {
			if s.Kind == "ServiceAccount" && s.Name == "$(service_account)" && s.Namespace == "$(workshop_namespace)" {
				path := fmt.Sprintf("%s.subjects[%d].namespace", index(o.at(key), i), j)
				o.d.warn(o.list(key)[i], path, "the session's ServiceAccount is in $(session_namespace) on this portal; $(workshop_namespace) names the environment's namespace, so this binding grants the session nothing")
			}
		}
	}
}

// workshopImage reads spec.workshop.image. The reference's base-environment alias (with any
// version, e.g. "base-environment:*") is the portal's own session image: "". Its other
// aliases name the reference's images, which the portal does not know: they warn and give
// the session image too. Anything else is an image reference, used as it is.
func workshopImage(d *decoder, o *object, image string) string {
	name, _, _ := strings.Cut(image, ":")
	switch {
	case name == "base-environment":
		return ""
	case strings.HasSuffix(name, "-environment") && !strings.ContainsAny(name, "/."):
		d.warn(o.get("image"), o.at("image"), "%q is an alias of one of the reference's workshop images, which the portal does not know; sessions get the portal's session image (give the image's full name instead)", image)
		return ""
	}
	return image
}
