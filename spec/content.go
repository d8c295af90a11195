package spec

import (
	"fmt"
	"net/url"
	"strings"

	"portal"
)

// workshopFiles reads one v1beta1 spec.workshop.files entry (the reference's vendir
// contents: image, git or http, with includePaths, excludePaths, newRootPath and path).
// It reports false for an entry with none of those sources.
func workshopFiles(f *object, workshopVersion string) (portal.ContentSource, bool) {
	var src portal.ContentSource
	var from *object
	for _, kind := range []string{portal.ContentImage, portal.ContentGit, portal.ContentHTTP} {
		if !f.has(kind) {
			continue
		}
		if from != nil {
			f.d.fail(f.get(kind), f.at(kind), "only one of image, git and http may be given")
			continue
		}
		src.Kind, from = kind, f.obj(kind)
	}
	if from == nil {
		for _, k := range []string{"inline", "githubRelease", "helmChart", "manual"} {
			if f.has(k) {
				f.d.warn(f.get(k), f.at(k), "this kind of workshop files is not fetched by the portal; use image, git or http")
			}
		}
		f.ignore("includePaths", "excludePaths", "newRootPath", "directory", "lazy")
		return src, false
	}
	u, ok := from.str("url")
	if !ok || u == "" {
		f.d.fail(from.node, from.at("url"), "required field is missing")
	}
	src.URL = strings.ReplaceAll(u, "$(workshop_version)", workshopVersion)
	switch src.Kind {
	case portal.ContentGit:
		src.Ref = from.strOr("ref", "")
		from.ignore("secretRef", "lfsSkipSmudge", "verification", "depth", "refSelection", "sshKnownHostsSecretRef")
	case portal.ContentImage:
		from.ignore("secretRef", "tagSelection", "dangerousSkipTLSVerify")
	case portal.ContentHTTP:
		from.ignore("secretRef", "sha256", "disableUnpack")
	}
	from.finish()
	src.Include = f.strings("includePaths")
	src.Exclude = f.strings("excludePaths")
	src.NewRoot = f.strOr("newRootPath", "")
	src.Path = f.strOr("path", "")
	if src.Path == "." {
		src.Path = ""
	}
	for _, k := range []string{"newRootPath", "path"} {
		if v, _ := f.str(k); strings.Contains("/"+v+"/", "/../") {
			f.d.fail(f.get(k), f.at(k), "%q leaves the workshop's folder", v)
		}
	}
	return src, true
}

// contentRef reads the older spec.content.files forms of a published source:
//
//	github.com/org/repo[/folder][?ref=branch]  (and gitlab.com/…)  a git repository
//	imgpkg[+http|+https]://[user:password@]host/repo:tag[?path=folder]  an OCI image
//	git+https://host/repo[?ref=branch][&path=folder]  a git repository
//	http[s]://host/archive.tar.gz[?path=folder]  an archive
func contentRef(s string) (portal.ContentSource, error) {
	ref, query, _ := strings.Cut(s, "?")
	q, err := url.ParseQuery(query)
	if err != nil {
		return portal.ContentSource{}, fmt.Errorf("%q: bad query: %v", s, err)
	}
	scheme, rest, hasScheme := strings.Cut(ref, "://")
	switch {
	case !hasScheme:
		// host/org/repo[/folder]: a repository on a git host, as in the reference.
		parts := strings.SplitN(ref, "/", 4)
		if len(parts) < 3 || parts[1] == "" || parts[2] == "" {
			return portal.ContentSource{}, fmt.Errorf("%q: expected host/organization/repository[/folder][?ref=branch]", s)
		}
		src := portal.ContentSource{Kind: portal.ContentGit, URL: "https://" + strings.Join(parts[:3], "/"), Ref: q.Get("ref")}
		if len(parts) == 4 {
			src.NewRoot = strings.Trim(parts[3], "/")
		}
		return src, nil
	case scheme == "imgpkg" || scheme == "imgpkg+https" || scheme == "imgpkg+http":
		return portal.ContentSource{Kind: portal.ContentImage, URL: rest, Insecure: scheme == "imgpkg+http",
			NewRoot: q.Get("path")}, nil
	case scheme == "git+https" || scheme == "git+http" || scheme == "git+ssh" || scheme == "git+file":
		return portal.ContentSource{Kind: portal.ContentGit, URL: strings.TrimPrefix(scheme, "git+") + "://" + rest,
			Ref: q.Get("ref"), NewRoot: q.Get("path")}, nil
	case scheme == "http" || scheme == "https":
		// The path parameter is the reference's; any other query belongs to the server.
		root := q.Get("path")
		q.Del("path")
		u := ref
		if len(q) > 0 {
			u += "?" + q.Encode()
		}
		return portal.ContentSource{Kind: portal.ContentHTTP, URL: u, NewRoot: root}, nil
	}
	return portal.ContentSource{}, fmt.Errorf("%q: unknown kind of content source %q (expected a local folder, github.com/…, an http or https archive, imgpkg:// or git+https://)", s, scheme)
}
