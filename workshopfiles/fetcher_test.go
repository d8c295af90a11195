package workshopfiles_test

import (
	"context"
	"errors"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"portal"
	"portal/workshopfiles"
	"portal/workshopfiles/filestest"
)

// tree returns the regular files below dir with their contents.
func tree(t *testing.T, dir string) filestest.Files {
	t.Helper()
	out := filestest.Files{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !d.Type().IsRegular() {
			t.Errorf("%s is not a regular file (%v)", p, d.Type())
			return nil
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// serve serves archives by path on the loopback address.
func serve(t *testing.T, files map[string][]byte) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := files[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Write(b)
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

var lab = filestest.Files{
	"workshop/":                 "",
	"workshop/content/intro.md": "# Intro",
	"workshop/content/x.tmp":    "scratch",
	"exercises/app.yaml":        "kind: App",
	"README.md":                 "readme",
	"notes/private.md":          "not published",
}

func TestFetchSources(t *testing.T) {
	reg := filestest.Registry(t)
	filestest.PushImage(t, reg+"/lab-files:1", lab)
	filestest.PushImage(t, reg+"/nested:1", filestest.Files{"lab/workshop/content/a.md": "A", "other.md": "O"})
	// A second layer deletes a file of the first.
	filestest.PushImage(t, reg+"/layered:1", filestest.Files{"a.md": "A", "b.md": "B"}, filestest.Files{".wh.b.md": ""})
	repo := filestest.GitRepo(t, lab)
	first := filestest.Git(t, repo, "rev-parse", "HEAD")
	filestest.Git(t, repo, "checkout", "-q", "-b", "develop")
	filestest.Commit(t, repo, filestest.Files{"README.md": "develop readme"})
	filestest.Git(t, repo, "checkout", "-q", "main")
	web := serve(t, map[string][]byte{
		"/lab.tar.gz": filestest.TarGz(t, filestest.Files{"lab-main/workshop/content/intro.md": "# Intro", "lab-main/README.md": "readme"}),
		"/lab.zip":    filestest.Zip(t, lab),
		"/lab.tar":    filestest.Tar(t, filestest.Files{"README.md": "plain tar"}),
	})
	published := []string{"/workshop/**", "/exercises/**", "/README.md"}

	tests := []struct {
		name    string
		sources []portal.ContentSource
		want    filestest.Files
	}{
		{"image with includePaths and excludePaths", []portal.ContentSource{{Kind: portal.ContentImage, URL: reg + "/lab-files:1",
			Include: published, Exclude: []string{"**/*.tmp"}}},
			filestest.Files{"workshop/content/intro.md": "# Intro", "exercises/app.yaml": "kind: App", "README.md": "readme"}},
		{"image with $(image_repository)", []portal.ContentSource{{Kind: portal.ContentImage, URL: "$(image_repository)/lab-files:1",
			Include: []string{"README.md"}}},
			filestest.Files{"README.md": "readme"}},
		{"image newRootPath", []portal.ContentSource{{Kind: portal.ContentImage, URL: reg + "/nested:1", NewRoot: "/lab"}},
			filestest.Files{"workshop/content/a.md": "A"}},
		{"image layers and whiteouts", []portal.ContentSource{{Kind: portal.ContentImage, URL: reg + "/layered:1"}},
			filestest.Files{"a.md": "A"}},
		{"git default branch", []portal.ContentSource{{Kind: portal.ContentGit, URL: repo, Include: []string{"/README.md"}}},
			filestest.Files{"README.md": "readme"}},
		{"git origin/branch", []portal.ContentSource{{Kind: portal.ContentGit, URL: "file://" + repo, Ref: "origin/develop", Include: []string{"/README.md"}}},
			filestest.Files{"README.md": "develop readme"}},
		{"git commit", []portal.ContentSource{{Kind: portal.ContentGit, URL: repo, Ref: first, Exclude: []string{"notes", "workshop", "exercises"}}},
			filestest.Files{"README.md": "readme"}},
		{"http tar.gz with newRootPath", []portal.ContentSource{{Kind: portal.ContentHTTP, URL: web + "/lab.tar.gz", NewRoot: "lab-main"}},
			filestest.Files{"workshop/content/intro.md": "# Intro", "README.md": "readme"}},
		{"http zip", []portal.ContentSource{{Kind: portal.ContentHTTP, URL: web + "/lab.zip", Include: []string{"/exercises/**"}}},
			filestest.Files{"exercises/app.yaml": "kind: App"}},
		{"two sources, one into a path", []portal.ContentSource{
			{Kind: portal.ContentHTTP, URL: web + "/lab.tar"},
			{Kind: portal.ContentImage, URL: reg + "/lab-files:1", Include: []string{"/exercises/**"}, Path: "extra"}},
			filestest.Files{"README.md": "plain tar", "extra/exercises/app.yaml": "kind: App"}},
	}
	f := &workshopfiles.Fetcher{Dir: t.TempDir(), ImageRepository: reg}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir, err := f.Fetch(context.Background(), tt.name, tt.sources)
			if err != nil {
				t.Fatalf("Fetch: %v", err)
			}
			if diff := cmp.Diff(tt.want, tree(t, dir)); diff != "" {
				t.Errorf("content (-want +got):\n%s", diff)
			}
		})
	}
}

// The same image is unpacked once, whatever environments use it; an environment keeps
// its content when the tag moves, and a new environment gets the new image.
func TestFetchCacheByDigest(t *testing.T) {
	reg := filestest.Registry(t)
	filestest.PushImage(t, reg+"/lab:latest", filestest.Files{"README.md": "one"})
	cache := t.TempDir()
	f := &workshopfiles.Fetcher{Dir: cache}
	src := []portal.ContentSource{{Kind: portal.ContentImage, URL: reg + "/lab:latest"}}
	ctx := context.Background()
	a, err := f.Fetch(ctx, "env-a", src)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.Fetch(ctx, "env-b", src)
	if err != nil {
		t.Fatal(err)
	}
	if a != b {
		t.Errorf("two environments of one image got %s and %s, want one folder", a, b)
	}
	images, _ := filepath.Glob(filepath.Join(cache, "image-*"))
	if len(images) != 1 {
		t.Errorf("unpacked images %q, want one", images)
	}

	filestest.PushImage(t, reg+"/lab:latest", filestest.Files{"README.md": "two"})
	again, err := f.Fetch(ctx, "env-a", src)
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(t, again)["README.md"]; got != "one" {
		t.Errorf("env-a after the tag moved: README.md = %q, want the content it had", got)
	}
	fresh, err := f.Fetch(ctx, "env-c", src)
	if err != nil {
		t.Fatal(err)
	}
	if got := tree(t, fresh)["README.md"]; got != "two" {
		t.Errorf("a new environment: README.md = %q, want the moved tag's content", got)
	}
	f.Forget("env-a")
	if d, _ := f.Fetch(ctx, "env-a", src); d != fresh {
		t.Errorf("env-a after Forget = %s, want the new content %s", d, fresh)
	}
}

func TestFetchRefusals(t *testing.T) {
	reg := filestest.Registry(t)
	web := serve(t, map[string][]byte{
		"/escape.tar.gz":  filestest.TarGz(t, filestest.Files{"../evil.sh": "x"}),
		"/absolute.tar":   filestest.Tar(t, filestest.Files{"/etc/evil": "x"}),
		"/link-out.tar":   filestest.Tar(t, filestest.Files{"README.md": "x", "passwd": "->/etc/passwd"}),
		"/link-up.zip":    filestest.Zip(t, filestest.Files{"README.md": "x", "up": "->../../secret"}),
		"/big.tar":        filestest.Tar(t, filestest.Files{"big": strings.Repeat("x", 8192)}),
		"/not-archive":    []byte("<html>hello</html>"),
		"/link-in.tar.gz": filestest.TarGz(t, filestest.Files{"README.md": "x", "docs/readme": "->../README.md"}),
	})
	filestest.PushImage(t, reg+"/escape:1", filestest.Files{"../../x": "x"})
	tests := []struct {
		name   string
		source portal.ContentSource
		unsafe bool
		msg    string
	}{
		{"tar path traversal", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/escape.tar.gz"}, true, `"../evil.sh"`},
		{"absolute tar path", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/absolute.tar"}, true, `"/etc/evil"`},
		{"tar link out", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/link-out.tar"}, true, `/etc/passwd`},
		{"zip link out", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/link-up.zip"}, true, `../../secret`},
		{"image path traversal", portal.ContentSource{Kind: portal.ContentImage, URL: reg + "/escape:1"}, true, `"../../x"`},
		{"newRootPath out", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/link-in.tar.gz", NewRoot: "../.."}, true, "newRootPath"},
		{"too big", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/big.tar"}, false, "larger than"},
		{"not an archive", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/not-archive"}, false, "a tar, tar.gz or zip archive is expected"},
		{"http 404", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/missing.tar.gz"}, false, "404 Not Found"},
		{"no such image", portal.ContentSource{Kind: portal.ContentImage, URL: reg + "/missing:1"}, false, "pull"},
		{"no such git repository", portal.ContentSource{Kind: portal.ContentGit, URL: filepath.Join(t.TempDir(), "none")}, false, "git fetch"},
		{"git transport not allowed", portal.ContentSource{Kind: portal.ContentGit, URL: "ext::sh -c touch% /tmp/pwned"}, false, "git fetch"},
		{"image repository unset", portal.ContentSource{Kind: portal.ContentImage, URL: "$(image_repository)/lab-files:1"}, false, "--image-repository"},
		{"newRootPath missing", portal.ContentSource{Kind: portal.ContentHTTP, URL: web + "/link-in.tar.gz", NewRoot: "nothing"}, false, "no such folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &workshopfiles.Fetcher{Dir: t.TempDir(), MaxBytes: 6000}
			_, err := f.Fetch(context.Background(), "env", []portal.ContentSource{tt.source})
			if err == nil {
				t.Fatal("Fetch succeeded, want an error")
			}
			if got := errors.Is(err, workshopfiles.ErrUnsafe); got != tt.unsafe {
				t.Errorf("errors.Is(%v, ErrUnsafe) = %v, want %v", err, got, tt.unsafe)
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("error %q does not contain %q", err, tt.msg)
			}
			if _, err := os.Stat("/tmp/pwned"); err == nil {
				t.Errorf("a git transport ran a command")
			}
		})
	}

	// A link inside the content is left out; the rest is kept.
	f := &workshopfiles.Fetcher{Dir: t.TempDir()}
	dir, err := f.Fetch(context.Background(), "env", []portal.ContentSource{{Kind: portal.ContentHTTP, URL: web + "/link-in.tar.gz"}})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(filestest.Files{"README.md": "x"}, tree(t, dir)); diff != "" {
		t.Errorf("content (-want +got):\n%s", diff)
	}
}
