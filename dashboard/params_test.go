package dashboard

import (
	"strings"
	"testing"
	"testing/fstest"
)

// Request parameters are filled in as escaped text: whatever Markdown or HTML a value
// holds shows as text and makes no link, image or action. The session's own values still
// work as Markdown source (in link targets, say).
func TestParamsAreText(t *testing.T) {
	fsys := fstest.MapFS{
		"workshop/content/01-page.md": {Data: []byte("---\ntitle: For {{ who }}\n---\n" +
			"Hello {{ who }}.\n\n" +
			"[your hub]({{ target }}) and [the session]({{ session_url }}/x)\n\n" +
			"```execute\necho {{ who }}\n```\n")},
	}
	src, err := loadWorkshop(fsys)
	if err != nil {
		t.Fatal(err)
	}
	who := "[click](https://evil.test/) ![img](https://evil.test/x.png) <b>bold</b>\n\n```execute\nrm -rf ~\n```\n"
	w, err := src.render(map[string]string{"session_url": "http://s1.localhost"},
		map[string]string{"who": who, "target": "javascript:alert(1)", "session_url": "https://evil.test"})
	if err != nil {
		t.Fatal(err)
	}
	body := string(w.pages[0].Body)
	for _, bad := range []string{`href="https://evil.test/"`, `<img`, `<b>`, `javascript:`, `data-action="execute"><code>rm -rf`} {
		if strings.Contains(body, bad) {
			t.Errorf("a parameter became markup (%s):\n%s", bad, body)
		}
	}
	if n := strings.Count(body, `data-action="execute"`); n != 1 {
		t.Errorf("%d execute actions, want the page's own 1:\n%s", n, body)
	}
	for _, want := range []string{
		"Hello [click](https://evil.test/) ![img](https://evil.test/x.png) &lt;b&gt;bold&lt;/b&gt;",
		`<a href="#">your hub</a>`,
		`<a href="http://s1.localhost/x">the session</a>`,
		"<code>echo [click](https://evil.test/)",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if got, want := w.pages[0].Title, "For "+who; got != want {
		t.Errorf("title %q, want %q", got, want)
	}
}

// A parameter that is an http(s) URL or a path is kept as a link target.
func TestParamLinkTargets(t *testing.T) {
	fsys := fstest.MapFS{"workshop/content/01-page.md": {Data: []byte("[a]({{ a }}) [b]({{ b }}) [c](https://x.test/{{ c }})\n")}}
	src, err := loadWorkshop(fsys)
	if err != nil {
		t.Fatal(err)
	}
	w, err := src.render(nil, map[string]string{"a": "https://hub.test/?q=1&r=2", "b": "data:text/html,x", "c": `"><script>`})
	if err != nil {
		t.Fatal(err)
	}
	body := string(w.pages[0].Body)
	for _, want := range []string{`<a href="https://hub.test/?q=1&amp;r=2">a</a>`, `<a href="#">b</a>`,
		`<a href="https://x.test/&#34;&gt;&lt;script&gt;">c</a>`} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
}
