package authoring

import (
	"os"
	"path/filepath"
	"strings"

	"portal/dashboard"
)

// ActionLines returns the line numbers of the action blocks (valid or not) of the page
// name of the workshop in dir, in page order, and the page's file relative to dir: the
// page name as a session's dashboard gives it ("exercises/checks", "01-intro"). A page
// with no file of its own (made by the workshop's layouts) gives "" and no lines.
func ActionLines(dir, name string) (file string, lines []int) {
	for _, rel := range []string{name + ".md", name + "/index.md", name + "/_index.md"} {
		src, err := os.ReadFile(filepath.Join(dir, contentDir, filepath.FromSlash(rel)))
		if err == nil {
			return contentDir + "/" + rel, actionLines(string(src))
		}
	}
	return "", nil
}

// actionLines returns the line numbers of the opening fences of the action blocks of the
// Markdown page src, as lintPage finds them.
func actionLines(src string) []int {
	var (
		out   []int
		fence string
	)
	lines := strings.Split(strings.ReplaceAll(src, "\r\n", "\n"), "\n")
	start := 0
	if len(lines) > 0 && (lines[0] == "---" || lines[0] == "+++") {
		for i := 1; i < len(lines); i++ {
			if lines[i] == lines[0] {
				start = i + 1
				break
			}
		}
	}
	for i := start; i < len(lines); i++ {
		line := lines[i]
		if fence == "" {
			if m := fenceOpen.FindStringSubmatch(line); m != nil && !(m[1][0] == '`' && strings.Contains(line[strings.Index(line, m[1])+len(m[1]):], "`")) {
				fence = m[1]
				if isAction, _ := dashboard.CheckAction(m[2], ""); isAction {
					out = append(out, i+1)
				}
			}
			continue
		}
		if t := strings.TrimSpace(line); strings.HasPrefix(t, fence) && strings.Trim(t, fence[:1]) == "" && len(line)-len(strings.TrimLeft(line, " ")) < 4 {
			fence = ""
		}
	}
	return out
}
