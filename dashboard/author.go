package dashboard

import (
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"
)

// What a workshop's author, and a tool that checks a workshop, may learn of how the
// dashboard reads workshop content.

// CheckAction reads a fenced code block of language lang as the dashboard does: isAction
// says whether the block is an action block (else it is shown as plain code), and err why
// an action block cannot run (an unknown action, a body that is not valid YAML, a missing
// or wrong field), which the dashboard shows with the block.
func CheckAction(lang, body string) (isAction bool, err error) {
	_, isAction, err = parseAction(lang, body)
	return isAction, err
}

// kubeVarNames are the names of the variables kubeVars gives.
var kubeVarNames = []string{"kubernetes_api_url", "kubernetes_token", "kubernetes_ca_crt"}

// InstructionVarNames returns the names of the session variables a workshop's instructions
// may use ({{ name }} in the classic layout, {{< param name >}} in the Hugo layout), sorted:
// those the portal gives every session, pathway_name, and those of sessions on Kubernetes.
// Request parameters, and the Hugo layout's config.yaml params, come on top.
func InstructionVarNames() []string {
	names := append([]string(nil), kubeVarNames...)
	for _, v := range varEnv {
		names = append(names, v[0])
	}
	sort.Strings(names)
	return names
}

// ThemeShortcodes returns the names of the shortcodes the Hugo layout's theme gives every
// workshop, sorted.
func ThemeShortcodes() []string {
	entries, err := fs.ReadDir(hugoTheme, "hugotheme/layouts/shortcodes")
	if err != nil {
		panic("dashboard: the embedded theme has no shortcodes: " + err.Error())
	}
	var names []string
	for _, e := range entries {
		names = append(names, strings.TrimSuffix(e.Name(), path.Ext(e.Name())))
	}
	sort.Strings(names)
	return names
}

// IsHugoLayout reports whether the workshop in the folder dir uses the Hugo layout (it has
// neither workshop/workshop.yaml nor workshop/modules.yaml), else the classic one.
func IsHugoLayout(dir string) bool { return isHugoLayout(os.DirFS(dir)) }

// PreviewPage is one page of a workshop as a session sees it.
type PreviewPage struct {
	Name  string // below workshop/content, without .md ("exercises/01-setup", "intro")
	Title string
	HTML  string // the page's body, action blocks as the dashboard serves them
}

// Preview renders the workshop in the folder dir as a session with the variables vars
// sees it, in the workshop's order; a workshop of the Hugo layout is built with hugo. The
// error is the one a session's dashboard would give.
func Preview(dir string, vars map[string]string) ([]PreviewPage, error) {
	var src instructions
	if IsHugoLayout(dir) {
		h, err := loadHugo(dir)
		if err != nil {
			return nil, err
		}
		defer h.close()
		h.single = true
		src = h
	} else {
		c, err := loadWorkshop(os.DirFS(dir))
		if err != nil {
			return nil, err
		}
		src = c
	}
	w, err := src.render(vars, nil)
	if err != nil {
		return nil, err
	}
	pages := make([]PreviewPage, len(w.pages))
	for i, p := range w.pages {
		pages[i] = PreviewPage{Name: p.Name, Title: p.Title, HTML: string(p.Body)}
	}
	return pages, nil
}
