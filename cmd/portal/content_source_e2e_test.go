package main

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"regexp"
	"strings"
	"testing"
	"time"

	"portal/workshopfiles/filestest"
)

// publishedConfig is a portal with two workshops whose content is an OCI image on the
// registry that $(image_repository) names: one published, one never pushed.
const publishedConfig = `apiVersion: training.educates.dev/v1beta1
kind: TrainingPortal
metadata:
  name: lab
spec:
  workshops:
  - name: lab-published
    capacity: 2
    reserved: 0
  - name: lab-unpublished
    capacity: 1
    reserved: 0
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-published
spec:
  title: Published
  version: "1.2"
  workshop:
    files:
    - image:
        url: $(image_repository)/lab-published-files:$(workshop_version)
      includePaths:
      - /workshop/**
---
apiVersion: training.educates.dev/v1beta1
kind: Workshop
metadata:
  name: lab-unpublished
spec:
  title: Unpublished
  workshop:
    files:
    - image:
        url: $(image_repository)/lab-unpublished-files:latest
`

// The portal binary serves a workshop whose content is an OCI image pulled from a
// registry: its session's dashboard shows the image's pages. A workshop whose image is
// missing is refused with 503 and the reason, and is listed as failed.
func TestPublishedContentEndToEnd(t *testing.T) {
	reg := filestest.Registry(t)
	filestest.PushImage(t, reg+"/lab-published-files:1.2", filestest.Files{
		"workshop/content/01-intro.md": "# Intro\n\nThe published-image marker.\n",
		"private/notes.md":             "not published",
	})
	p := startPortalWith(t, t.TempDir(), publishedConfig, []string{"PORTAL_IMAGE_REPOSITORY=" + reg})
	tok := p.token()

	// The environments are named in order: lab-w01 is published, lab-w02 is not.
	var failed struct {
		Environments []struct{ Name, State, Failure string }
	}
	eventually(t, 30*time.Second, "the unpublished workshop's failure", func() bool {
		p.get(tok, "/workshops/catalog/environments/?state=STARTING", 200, &failed)
		return len(failed.Environments) == 1 && failed.Environments[0].Failure != ""
	})
	if e := failed.Environments[0]; e.Name != "lab-w02" || !strings.Contains(e.Failure, "lab-unpublished-files") {
		t.Errorf("failed environment %+v, want lab-w02 naming its image", e)
	}
	body := p.get(tok, "/workshops/environment/lab-w02/request/?index_url=https://hub.test/", 503, nil)
	if !strings.Contains(string(body), "could not be fetched") {
		t.Errorf("request of the unpublished workshop: %s", body)
	}

	var r requestResponse
	eventually(t, 30*time.Second, "the published workshop to run", func() bool {
		return p.available(tok, "lab-w01") >= 0
	})
	p.get(tok, "/workshops/environment/lab-w01/request/?index_url=https://hub.test/", 200, &r)
	jar, _ := cookiejar.New(nil)
	browser := p.client(jar, true)
	resp, err := browser.Get(p.url + r.URL)
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	frame := regexp.MustCompile(`src="(http://` + r.Name + `\.localhost:\d+/[^"]*ticket=[^"]+)"`).FindSubmatch(page)
	if frame == nil {
		t.Fatalf("session page has no dashboard frame:\n%s", page)
	}
	frameURL := strings.ReplaceAll(string(frame[1]), "&amp;", "&")
	eventually(t, 30*time.Second, "the dashboard on the session host", func() bool {
		resp, err := browser.Get(frameURL)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == 200
	})
	resp, err = browser.Get("http://" + r.Name + ".localhost:" + p.port + "/workshop/content/01-intro")
	if err != nil {
		t.Fatal(err)
	}
	page, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "published-image marker") {
		t.Fatalf("the dashboard's first page: %d\n%s", resp.StatusCode, page)
	}
}
