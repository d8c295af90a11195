// Package staticfs serves embedded files over HTTP without answering 500 for a name no
// file can have.
package staticfs

import (
	"io/fs"
	"unicode/utf8"
)

// Valid wraps fsys so that a name that is not a valid path (invalid UTF-8, "..", an empty
// element) is "not found": http.FileServerFS answers 404 for that, where the error of the
// embedded file system would make it answer 500.
func Valid(fsys fs.FS) fs.FS { return valid{fsys} }

type valid struct{ fs.FS }

func (v valid) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) || !utf8.ValidString(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return v.FS.Open(name)
}
