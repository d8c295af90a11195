package dashboard

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"

	"portal/browsertest"
	"portal/ticket"
)

// checksPage is a workshop page with an examiner test that cascades into a hidden section
// holding a file download, an autostart action and a section opened by a click.
const checksPage = "# Checks\n\n" +
	"```examiner:execute-test\nname: has-file\ntitle: The file done.txt exists\nargs: [done.txt]\ncooldown: 0\ncascade: true\npause: 0\nevent: checked\n```\n\n" +
	"```section:begin\nname: after\nhidden: true\n```\n\n" +
	"Revealed once the check passes.\n\n" +
	"```files:download-file\npath: done.txt\ndownload: result.txt\n```\n\n" +
	"```section:end\nname: after\n```\n\n" +
	"```section:begin\ntitle: More\n```\n\n" +
	"```workshop:copy\ntext: inside\nautostart: true\n```\n\n" +
	"```section:end\n```\n\n" +
	"```files:upload-file\npath: mine.txt\n```\n\n" +
	"```examiner:execute-test\nname: has-file\nprefix: Waits\nargs: [later.txt]\nautostart: true\nretries: .INF\ndelay: 0.1\n```\n"

// In Chromium: an examiner test fails, passes once its condition holds, sends its event,
// and its cascade opens the hidden section; a click opens another section, whose autostart
// action runs; the download action saves the home's file; a chosen file is uploaded; a
// test that starts with the page tries again until its condition holds.
func TestExaminerSectionsAndDownloadInBrowser(t *testing.T) {
	content, home, downloads := t.TempDir(), t.TempDir(), t.TempDir()
	writeFile(t, filepath.Join(content, "workshop", "content", "01-checks.md"), checksPage, 0o644)
	writeFile(t, filepath.Join(content, "workshop", "examiner", "tests", "has-file"), "#!/bin/sh\ntest -f \"$HOME/$1\"\n", 0o755)
	s, clock, fp := newTestServerPortal(t, func(c *Config) { c.ContentDir, c.WorkDir = content, home })
	srv := httptest.NewServer(s)
	defer srv.Close()
	tk := ticket.Sign(testSecret, ticket.Claims{Audience: ticket.Page, Session: testSession, User: "alice", Expires: clock.Now().Add(time.Minute)})

	pg := browsertest.New(t).NewPage(t)
	const examiner = `pre[data-action="examiner"]`
	state := func(want string) chromedp.Action {
		return chromedp.Poll(`document.querySelector('`+examiner+`').getAttribute("data-state") === "`+want+`"`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second))
	}
	var sectionHidden, copyResult string
	var beginBoxes int
	pg.Run(
		browser.SetDownloadBehavior(browser.SetDownloadBehaviorBehaviorAllow).WithDownloadPath(downloads),
		chromedp.Navigate(srv.URL+"/workshop/content/01-checks?ticket="+tk),
		chromedp.WaitVisible(examiner, chromedp.ByQuery),
		chromedp.Click(examiner, chromedp.ByQuery),
		state("failed"),
		chromedp.AttributeValue(`pre[data-section="after"][data-action="section-begin"]`, "aria-expanded", &sectionHidden, nil, chromedp.ByQuery),
	)
	if sectionHidden != "false" {
		t.Errorf("after a failed check the cascade's section has aria-expanded %q, want false", sectionHidden)
	}
	pg.Screenshot("examiner-failed")

	writeFile(t, filepath.Join(home, "done.txt"), "the result\n", 0o644)
	pg.Run(
		chromedp.Click(examiner, chromedp.ByQuery),
		state("passed"),
		chromedp.WaitVisible(`pre[data-action="download-file"]`, chromedp.ByQuery),
		chromedp.Evaluate(`document.querySelector('pre[data-section="after"]').getClientRects().length`, &beginBoxes),
	)
	if beginBoxes != 0 {
		t.Errorf("the hidden section:begin block shows once its section opened")
	}
	pg.Screenshot("examiner-passed")

	pg.Run(
		chromedp.Click(`pre[data-action="section-begin"][data-section="*"]`, chromedp.ByQuery),
		chromedp.WaitVisible(`pre[data-action="copy"]`, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('pre[data-action="copy"]').getAttribute("data-result") !== null`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second)),
		chromedp.AttributeValue(`pre[data-action="copy"]`, "data-result", &copyResult, nil, chromedp.ByQuery),
		chromedp.Click(`pre[data-action="download-file"]`, chromedp.ByQuery),
	)
	if copyResult == "" {
		t.Errorf("the autostart action in the opened section did not run")
	}
	var got []byte
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(filepath.Join(downloads, "result.txt")); err == nil {
			got = b
			break
		}
		if time.Now().After(deadline) {
			entries, _ := os.ReadDir(downloads)
			t.Fatalf("no result.txt downloaded; the folder holds %v", entries)
		}
	}
	if string(got) != "the result\n" {
		t.Errorf("downloaded %q", got)
	}
	const waiting = `pre[data-action="examiner"][data-autostart="true"]`
	var waitState string
	pg.Run(chromedp.AttributeValue(waiting, "data-state", &waitState, nil, chromedp.ByQuery))
	if waitState != "running" {
		t.Errorf("the autostart test with retries is %q before its file exists, want running", waitState)
	}
	writeFile(t, filepath.Join(home, "later.txt"), "", 0o644)
	pg.Run(chromedp.Poll(`document.querySelector('`+waiting+`').getAttribute("data-state") === "passed"`, nil,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)))

	local := filepath.Join(t.TempDir(), "local.txt")
	writeFile(t, local, "from the laptop\n", 0o644)
	pg.Run(
		chromedp.SetUploadFiles(`input.action-upload`, []string{local}, chromedp.ByQuery),
		chromedp.Poll(`document.querySelector('pre[data-action="upload-file"]').getAttribute("data-state") === "passed"`, nil,
			chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(20*time.Second)),
	)
	if b, err := os.ReadFile(filepath.Join(home, "uploads", "mine.txt")); err != nil || string(b) != "from the laptop\n" {
		t.Errorf("uploaded file: %q, %v", b, err)
	}
	pg.Screenshot("uploaded")
	if data := fp.eventData(s, "Action/Event"); data == nil || data["event_name"] != "checked" || data["current_page"] != "01-checks" {
		t.Errorf("Action/Event data %v, want event_name checked on page 01-checks", data)
	}
}

func writeFile(t *testing.T, path, text string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
}
