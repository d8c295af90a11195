package web

import (
	"cmp"
	"net/url"
	"slices"
	"strings"

	"portal"
)

// listColumn is a sortable column head of an admin table.
type listColumn struct {
	Label string
	Href  string // the page sorted by this column (descending when it already sorts ascending)
	Sort  string // "ascending", "descending" or "" (for aria-sort)
}

// listView is the search and sort of an admin table, read from ?q=&sort=: sort is a
// column key, with a leading "-" for descending order.
type listView struct {
	Query   string
	Sort    string // the sort parameter as given when it names a column
	Key     string
	Desc    bool
	Columns []listColumn
}

// readList reads the search and the sort of an admin table whose sortable columns are
// keys (labels are their headings), sorted by def when the page asks for no known key.
func readList(u *url.URL, keys, labels []string, def string) listView {
	q := u.Query()
	l := listView{Query: strings.TrimSpace(q.Get("q"))}
	l.Key, l.Desc = strings.CutPrefix(q.Get("sort"), "-")
	if slices.Contains(keys, l.Key) {
		l.Sort = q.Get("sort")
	} else {
		l.Key, l.Desc = strings.CutPrefix(def, "-")
	}
	for i, k := range keys {
		c := listColumn{Label: labels[i]}
		next := k
		if k == l.Key {
			c.Sort = "ascending"
			if l.Desc {
				c.Sort = "descending"
			} else {
				next = "-" + k
			}
		}
		v := url.Values{}
		for name, vals := range q {
			if name != "sort" && name != "done" && name != "target" {
				v[name] = vals
			}
		}
		v.Set("sort", next)
		c.Href = u.Path + "?" + v.Encode()
		l.Columns = append(l.Columns, c)
	}
	return l
}

// Match reports whether any of the fields contains the search, ignoring case.
func (l listView) Match(fields ...string) bool {
	if l.Query == "" {
		return true
	}
	q := strings.ToLower(l.Query)
	for _, f := range fields {
		if strings.Contains(strings.ToLower(f), q) {
			return true
		}
	}
	return false
}

// order returns the comparison for slices.SortStableFunc in the chosen direction.
func order[T any](desc bool, by func(a, b T) int) func(a, b T) int {
	if desc {
		return func(a, b T) int { return by(b, a) }
	}
	return by
}

// displayName is how an admin page names a user: "First Last", else "".
func displayName(u *portal.User) string {
	if u == nil {
		return ""
	}
	return strings.TrimSpace(u.FirstName + " " + u.LastName)
}

// fold compares strings ignoring case.
func fold(a, b string) int { return cmp.Compare(strings.ToLower(a), strings.ToLower(b)) }
