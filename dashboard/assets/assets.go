// Package assets holds the browser libraries that `make assets` copies from npm into
// dist (xterm.js and its fit addon, the terminal's font, Monaco). Only a placeholder is
// committed, so a build without them still works, without terminals.
package assets

import (
	"embed"
	"io/fs"
)

//go:embed all:dist
var dist embed.FS

// Dist is the contents of dist: xterm.js, xterm.css, addon-fit.js and the rest, at its
// root; empty but for a placeholder when the assets were not built.
func Dist() fs.FS {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic("assets: " + err.Error())
	}
	return sub
}
