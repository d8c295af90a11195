package dashboard

import (
	"strings"
	"testing"
)

// Every action and option renders to the block the page's script reads, and a block that
// cannot work renders inert with a warning that names the field.
func TestActionHTML(t *testing.T) {
	tests := []struct {
		lang, body string
		want       string // the whole output, or for inert blocks the warning's reason
	}{
		{"execute", "ls\n", `<pre class="action action-execute" data-action="execute" data-terminal="1"><code>ls</code></pre>`},
		{"execute-2", "<ctrl+c>", `<pre class="action action-execute-2" data-action="interrupt" data-terminal="2"><code>&lt;ctrl-c&gt;</code></pre>`},
		{"terminal:execute", "command: make\nsession: 3\nclear: true\nprefix: Build\ntitle: Compile\ndescription: Builds it all.\nautostart: true\nhidden: true\ncascade: true\ncooldown: .INF\npause: 0.5\nevent: built\n",
			`<p class="action-title" hidden>Build: Compile</p><pre class="action action-terminal-execute" data-action="execute" data-terminal="3" data-clear="true" data-text="make" data-autostart="true" data-cascade="true" data-cooldown="inf" data-event="&#34;built&#34;" data-hidden="true" data-pause="0.5" hidden><code>Builds it all.</code></pre>`},
		{"terminal:execute", "command: ls\ntitle: List\n", `<p class="action-title">Terminal: List</p><pre class="action action-terminal-execute" data-action="execute" data-terminal="1"><code>ls</code></pre>`},
		{"terminal:input", "text: secret\nendl: false\nevent: {name: typed, n: 2}\n", `<pre class="action action-terminal-input" data-action="input" data-terminal="1" data-enter="false" data-event="{&#34;n&#34;:2,&#34;name&#34;:&#34;typed&#34;}"><code>secret</code></pre>`},
		{"terminal:interrupt-all", "", `<pre class="action action-terminal-interrupt-all" data-action="interrupt" data-terminal="all"><code>&lt;ctrl-c&gt;</code></pre>`},
		{"terminal:clear", "session: 2\ncooldown: 10\n", `<pre class="action action-terminal-clear" data-action="clear" data-terminal="2" data-cooldown="10"><code>clear</code></pre>`},
		{"terminal:select", "session: 2\n", `<pre class="action action-terminal-select" data-action="select" data-terminal="2"><code>Terminal: Select terminal &#34;2&#34;</code></pre>`},
		{"workshop:copy-and-edit", "text: |\n  a\n  b\n", `<pre class="action action-workshop-copy-and-edit" data-action="copy-and-edit"><code>a
b</code></pre>`},
		{"dashboard:open-url", "url: https://example.test/\n", `<pre class="action action-dashboard-open-url" data-action="open-url"><code>https://example.test/</code></pre>`},
		{"examiner:execute-test", "name: pod-exists\ntitle: Pod one exists\nargs: [one, 2]\ntimeout: 5\nretries: .INF\ndelay: 1\ncascade: true\n",
			`<pre class="action action-examiner-execute-test" data-action="examiner" data-args="[&#34;one&#34;,&#34;2&#34;]" data-cascade="true" data-delay="1" data-name="pod-exists" data-retries="inf" data-timeout="5"><code>Examiner: Pod one exists</code></pre>`},
		{"examiner:execute-test", "name: t\ndescription: Checks it.\nurl: https://examiner.example.test/t\n",
			`<pre class="action action-examiner-execute-test" data-action="examiner" data-args="[]" data-name="t" data-url="https://examiner.example.test/t"><code>Examiner: Execute test case &#34;t&#34;

Checks it.</code></pre>`},
		{"section:begin", "name: q\nprefix: Question\ntitle: \"1\"\n", `<pre class="action action-section-begin" data-action="section-begin" data-section="q"><code>Question: 1</code></pre>`},
		{"section:begin", "hidden: true\n", `<pre class="action action-section-begin" data-action="section-begin" data-hidden="true" data-section="*" hidden><code>Section: Instructions</code></pre>`},
		{"section:end", "", `<pre class="action action-section-end" data-action="section-end" data-section="*" hidden><code></code></pre>`},
		{"section:heading", "title: Questions\n", `<pre class="action action-section-heading" data-action="section-heading"><code>Section: Questions</code></pre>`},
		{"files:download-file", "path: .kube/config\ndownload: kubeconfig-lab\npreview: true\n", `<pre class="action action-files-download-file" data-action="download-file" data-download="kubeconfig-lab" data-path=".kube/config" data-preview="true"><code>Files: Download file &#34;kubeconfig-lab&#34;</code></pre>`},
		{"files:copy-file", "path: notes.txt\n", `<pre class="action action-files-copy-file" data-action="copy-file" data-download="notes.txt" data-path="notes.txt"><code>Files: Copy file &#34;notes.txt&#34; to paste buffer</code></pre>`},
		{"files:upload-file", "path: kubeconfig.yaml\n", `<pre class="action action-files-upload-file" data-action="upload-file" data-path="kubeconfig.yaml"><code>Files: Upload file as &#34;kubeconfig.yaml&#34;</code></pre>`},
		{"files:upload-files", "directory: data\n", `<pre class="action action-files-upload-files" data-action="upload-files" data-directory="data"><code>Files: Upload files to &#34;data&#34;</code></pre>`},
		{"files:upload-files", "", `<pre class="action action-files-upload-files" data-action="upload-files"><code>Files: Upload files</code></pre>`},
		{"examiner:execute-test", "name: t\ninputs: {schema: {a: {type: integer}}}\n", `<pre class="action action-examiner-execute-test" data-action="examiner" data-args="[]" data-inputs="{&#34;fields&#34;:[{&#34;name&#34;:&#34;a&#34;,&#34;type&#34;:&#34;integer&#34;}],&#34;submit&#34;:&#34;Submit&#34;}" data-name="t"><code>Examiner: Execute test case &#34;t&#34;</code></pre>`},
		{"terminal:execute", "command: make\nsession: build-2\n", `<pre class="action action-terminal-execute" data-action="execute" data-terminal="build-2"><code>make</code></pre>`},
		{"dashboard:open-dashboard", "name: Terminal\n", `<pre class="action action-dashboard-open-dashboard" data-action="open-dashboard" data-name="Terminal"><code>Dashboard: Open dashboard &#34;Terminal&#34;</code></pre>`},
		{"dashboard:expose-dashboard", "name: Docs\n", `<pre class="action action-dashboard-expose-dashboard" data-action="open-dashboard" data-name="Docs"><code>Dashboard: Open dashboard &#34;Docs&#34;</code></pre>`},
		{"dashboard:create-dashboard", "name: Example Site\nurl: https://example.test/\n", `<pre class="action action-dashboard-create-dashboard" data-action="create-dashboard" data-name="Example Site" data-url="https://example.test/"><code>Dashboard: Create dashboard &#34;Example Site&#34;</code></pre>`},
		{"dashboard:create-dashboard", "name: Build\nurl: terminal:build\ndescription: A second shell.\n", `<pre class="action action-dashboard-create-dashboard" data-action="create-dashboard" data-name="Build" data-url="terminal:build"><code>Dashboard: Create dashboard &#34;Build&#34;

A second shell.</code></pre>`},
		{"dashboard:reload-dashboard", "name: Docs\nurl: /files/notes.txt\n", `<pre class="action action-dashboard-reload-dashboard" data-action="reload-dashboard" data-name="Docs" data-url="/files/notes.txt"><code>Dashboard: Reload dashboard &#34;Docs&#34;</code></pre>`},
		{"dashboard:delete-dashboard", "name: Docs\n", `<pre class="action action-dashboard-delete-dashboard" data-action="delete-dashboard" data-name="Docs"><code>Dashboard: Delete dashboard &#34;Docs&#34;</code></pre>`},

		{"terminal:execute", "command: [\n", "terminal:execute: the block is not valid YAML"},
		{"terminal:execute", "session: 1\n", "terminal:execute: command is missing"},
		{"terminal:execute", "command: ls\nsession: 4\n", "session must be 1 to 3 or a name"},
		{"terminal:execute", "command: ls\nsession: all\n", "session must be 1 to 3 or a name"},
		{"terminal:input", "text: ls\nsession: a b\n", "session must be 1 to 3 or a name"},
		{"terminal:execute", "command: ls\ncooldown: soon\n", "terminal:execute: cooldown must be a number or .INF, got soon"},
		{"terminal:execute", "command: ls\ncooldown: -1\n", "cooldown must be a number of 0 or more or .INF"},
		{"terminal:execute", "command: ls\npause: .INF\n", "pause must be a number of 0 or more, got +Inf"},
		{"examiner:execute-test", "title: no name\n", "name must be the file name of a program in workshop/examiner/tests"},
		{"examiner:execute-test", "name: ../../bin/sh\n", "name must be the file name"},
		{"examiner:execute-test", "name: t\nargs: [{a: b}]\n", "args[0] must be a string"},
		{"examiner:execute-test", "name: t\ntimeout: long\n", "timeout must be a number"},
		{"examiner:execute-test", "name: t\nretries: many\n", "retries must be a number or .INF"},
		{"examiner:execute-test", "name: t\ninputs: {schema: {}}\n", "examiner:execute-test: inputs.schema has no fields"},
		{"examiner:execute-test", "name: t\ninputs: {schema: {a: {type: object}}}\n", "inputs.schema.a: type object is not supported (only string, number, integer and boolean fields)"},
		{"examiner:execute-test", "name: t\nurl: javascript:alert(1)\n", "url must be an http or https URL"},
		{"files:download-file", "path: ../../etc/passwd\n", "path must be a file of the home folder"},
		{"files:download-file", "path: /etc/passwd\n", "path must be a file of the home folder"},
		{"files:download-file", "path: a\ndownload: ../b\n", "download must be a file name without a folder"},
		{"files:upload-file", "", "path must be a file name in the uploads folder"},
		{"files:upload-files", "directory: ../x\n", "directory must be a folder in the uploads folder"},
		{"dashboard:create-dashboard", "name: x\n", "dashboard:create-dashboard: url must be an http or https URL, a path starting with /, or terminal:&lt;name&gt;"},
		{"dashboard:create-dashboard", "name: x\nurl: javascript:alert(1)\n", "url must be an http or https URL, a path"},
		{"dashboard:create-dashboard", "name: x\nurl: //evil.test/\n", "url must be an http or https URL, a path"},
		{"dashboard:create-dashboard", "name: x\nurl: terminal:9\n", "url terminal:&lt;name&gt; needs a name"},
		{"dashboard:open-dashboard", "", "dashboard:open-dashboard: name must be a tab&#39;s name"},
		{"dashboard:open-dashboard", "name: x\nurl: https://example.test/\n", "url is not an option of this action"},
		{"dashboard:delete-dashboard", "name: \"<b>\"\n", "name must be a tab&#39;s name"},
		{"section:begin", "title: [\n", "section:begin: the block is not valid YAML"},
		{"section:middle", "", `unknown action &#34;section:middle&#34;`},
	}
	for _, tt := range tests {
		got, isAction := actionHTML(tt.lang, tt.body)
		if !isAction {
			t.Errorf("%s %q: not an action", tt.lang, tt.body)
			continue
		}
		if strings.HasPrefix(tt.want, "<") {
			if strings.TrimSpace(got) != tt.want {
				t.Errorf("%s %q:\n got %s\nwant %s", tt.lang, tt.body, got, tt.want)
			}
			continue
		}
		if !strings.HasPrefix(got, `<div class="action-invalid"`) || !strings.Contains(got, tt.want) {
			t.Errorf("%s %q: %s\nwant an inert block saying %q", tt.lang, tt.body, got, tt.want)
		}
	}
	if _, isAction := actionHTML("go", "package main"); isAction {
		t.Errorf("a go block is an action")
	}
}
