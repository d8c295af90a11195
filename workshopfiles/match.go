package workshopfiles

import (
	"path"
	"strings"
)

// selected reports whether the file rel (a slash path below the source's top) is taken:
// it matches one of include (or include is empty) and none of exclude.
func selected(rel string, include, exclude []string) bool {
	if len(include) > 0 && !matchAny(include, rel) {
		return false
	}
	return !matchAny(exclude, rel)
}

func matchAny(patterns []string, rel string) bool {
	for _, p := range patterns {
		if match(p, rel) {
			return true
		}
	}
	return false
}

// match reports whether the file rel matches pattern: segments separated by "/" are
// matched as path.Match does, "**" matches any number of segments (none too), and a
// leading "/" (as in the reference's "/workshop/**") is the top of the source. A pattern
// naming a folder matches the files below it.
func match(pattern, rel string) bool {
	pattern = strings.Trim(pattern, "/")
	if pattern == "" {
		return false
	}
	return matchSegments(strings.Split(pattern, "/"), strings.Split(rel, "/"))
}

func matchSegments(pat, name []string) bool {
	for len(pat) > 0 {
		if pat[0] == "**" {
			rest := pat[1:]
			for i := 0; i <= len(name); i++ {
				if matchSegments(rest, name[i:]) {
					return true
				}
			}
			return false
		}
		if len(name) == 0 {
			return false
		}
		if ok, err := path.Match(pat[0], name[0]); err != nil || !ok {
			return false
		}
		pat, name = pat[1:], name[1:]
	}
	// Every segment matched: the file itself, or a file below a matched folder.
	return true
}
