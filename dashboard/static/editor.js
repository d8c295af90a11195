// The dashboard's Editor tab: the session's home folder as a file tree, open files as
// tabs, Monaco as the editor. The dashboard's script loads this file the first time the
// tab is shown or an editor action runs; it sets window.portalEditor to
// {start(root) → Promise, show(answer, focus), close(file), selection(file),
// moved(kind, from, to), command(id)}.
(function () {
  "use strict";

  var vs = "/static/vendor/monaco/vs";
  var pollEvery = 2000; // ms between looks at the home's files while the tab is shown

  // The languages whose colouring `make assets` ships, by file name ending.
  var languages = [
    [/\.ya?ml$/i, "yaml"], [/\.py$/i, "python"], [/\.(sh|bash)$|(^|\/)\.?bashrc$/i, "shell"],
    [/\.go$/i, "go"], [/(^|\/)(Dockerfile|Containerfile)[^/]*$/, "dockerfile"], [/\.md$/i, "markdown"],
    [/\.java$/i, "java"],
    [/\.(ini|cfg|conf|properties|toml)$/i, "ini"], [/\.(xml|pom|xsd|svg)$/i, "xml"]
  ];

  function languageOf(path) {
    for (var i = 0; i < languages.length; i++) {
      if (languages[i][0].test(path)) { return languages[i][1]; }
    }
    return "plaintext";
  }

  var monaco = null;
  var editor = null;
  var root, treeEl, tabsEl, statusEl, saveEl;
  var files = {}; // path → {model, tab, saved (version id), mtime, stale, seq (loads so far)}
  var current = null; // the path shown
  var tree = {}; // path → mtime, as last listed
  var encoder = new TextEncoder();
  var decoder = new TextDecoder();

  function filesURL(path) {
    return path.split("/").map(encodeURIComponent).join("/");
  }

  function say(text) { statusEl.textContent = text; }

  // loadMonaco loads Monaco's AMD loader, then its editor.
  function loadMonaco() {
    return new Promise(function (resolve, reject) {
      var s = document.createElement("script");
      s.src = vs + "/loader.js";
      s.onerror = reject;
      s.onload = function () {
        window.require.config({ paths: { vs: vs } });
        window.MonacoEnvironment = { getWorkerUrl: function () { return vs + "/base/worker/workerMain.js"; } };
        window.require(["vs/editor/editor.main"], function () { resolve(window.monaco); }, reject);
      };
      document.head.appendChild(s);
    });
  }

  // Monaco rejects the promise of work it drops when a file is switched or closed (word
  // highlights of the old model and the like) with an error named "Canceled" that nothing
  // catches; such a rejection is no fault of the page.
  window.addEventListener("unhandledrejection", function (e) {
    if (e.reason && e.reason.name === "Canceled" && e.reason.message === "Canceled") { e.preventDefault(); }
  });

  function start(el) {
    root = el;
    treeEl = root.querySelector(".editor-tree");
    tabsEl = root.querySelector(".editor-tabs");
    statusEl = root.querySelector(".editor-status");
    saveEl = root.querySelector(".editor-save");
    if (root.getAttribute("data-vendor") !== "true") {
      say("Editor assets not built: run make assets.");
      return Promise.reject(new Error("no assets"));
    }
    return loadMonaco().then(function (m) {
      monaco = m;
      editor = monaco.editor.create(root.querySelector(".editor-host"), {
        model: null, automaticLayout: true, minimap: { enabled: false }, theme: "vs",
        fontSize: 13, scrollBeyondLastLine: false
      });
      editor.addCommand(monaco.KeyMod.CtrlCmd | monaco.KeyCode.KeyS, save);
      editor.onDidChangeModelContent(function () { mark(current); });
      saveEl.addEventListener("click", save);
      treeEl.addEventListener("click", function (ev) {
        var b = ev.target.closest("button[data-path]");
        if (b) { open(b.getAttribute("data-path"), true); }
      });
      poll();
      return api;
    });
  }

  // ---- the file tree ----------------------------------------------------------------

  function listTree() {
    return fetch("/editor/tree", { credentials: "same-origin" }).then(function (r) {
      if (!r.ok) { throw new Error("status " + r.status); }
      return r.json();
    });
  }

  // renderTree shows the files as nested lists, folders as <details>.
  function renderTree(list) {
    var top = document.createElement("ul");
    var folders = { "": top };
    list.forEach(function (f) {
      var parts = f.path.split("/");
      var dir = "";
      var depth = f.dir ? parts.length : parts.length - 1;
      for (var i = 0; i < depth; i++) {
        var next = dir ? dir + "/" + parts[i] : parts[i];
        if (!folders[next]) {
          var li = document.createElement("li");
          var d = document.createElement("details");
          var sum = document.createElement("summary");
          sum.textContent = parts[i];
          var ul = document.createElement("ul");
          d.appendChild(sum);
          d.appendChild(ul);
          d.setAttribute("data-folder", next);
          if (openFolders[next]) { d.open = true; }
          d.addEventListener("toggle", function (ev) { openFolders[ev.target.getAttribute("data-folder")] = ev.target.open; });
          li.appendChild(d);
          folders[dir].appendChild(li);
          folders[next] = ul;
        }
        dir = next;
      }
      if (f.dir) { return; }
      var item = document.createElement("li");
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = parts[parts.length - 1];
      b.title = f.path;
      b.setAttribute("data-path", f.path);
      item.appendChild(b);
      folders[dir].appendChild(item);
    });
    treeEl.textContent = "";
    treeEl.appendChild(top);
  }
  var openFolders = {};

  // poll looks at the home's files while the tab is shown: a new or removed file redraws
  // the tree; an open file changed on disk (by a terminal) is loaded again, unless it has
  // changes not saved, which are kept and the file marked.
  function poll() {
    var shown = !root.closest(".dash-panel").hidden && !document.hidden;
    var next = function () { setTimeout(poll, pollEvery); };
    if (!shown) { next(); return; }
    listTree().then(function (t) {
      var now = {};
      t.files.forEach(function (f) { now[f.path] = f.mtime; });
      if (Object.keys(now).join("\n") !== Object.keys(tree).join("\n")) { renderTree(t.files); }
      tree = now;
      Object.keys(files).forEach(function (p) {
        var f = files[p];
        if (now[p] === undefined || now[p] === f.mtime) { return; }
        if (dirty(p)) { f.stale = true; mark(p); return; }
        f.mtime = now[p];
        reload(p);
      });
    }).catch(function () {}).then(next);
  }

  // ---- open files ---------------------------------------------------------------------

  function dirty(path) {
    var f = files[path];
    return f && f.model.getAlternativeVersionId() !== f.saved;
  }

  // mark shows whether path has changes not saved, in its tab and the Save button.
  function mark(path) {
    var f = files[path];
    if (!f) { return; }
    f.tab.classList.toggle("dirty", dirty(path));
    f.tab.querySelector(".name").textContent = path.split("/").pop() + (dirty(path) ? " •" : "");
    if (path === current) { saveEl.disabled = !dirty(path); }
  }

  function fetchText(path) {
    return fetch("/files/" + filesURL(path), { credentials: "same-origin", cache: "no-store" }).then(function (r) {
      if (!r.ok) { throw new Error(r.status === 404 ? "No such file" : "status " + r.status); }
      return r.text();
    });
  }

  // load opens path with content (a new tab, or the open one's text replaced).
  function load(path, content) {
    var f = files[path];
    if (!f) {
      var tab = document.createElement("span");
      tab.className = "editor-tab";
      var b = document.createElement("button");
      b.type = "button";
      b.className = "name";
      b.title = path;
      b.addEventListener("click", function () { showFile(path, true); });
      var x = document.createElement("button");
      x.type = "button";
      x.className = "close";
      x.setAttribute("aria-label", "Close " + path);
      x.textContent = "×";
      x.addEventListener("click", function () { close(path); });
      tab.appendChild(b);
      tab.appendChild(x);
      tabsEl.appendChild(tab);
      f = files[path] = { model: monaco.editor.createModel(content, languageOf(path)), tab: tab, mtime: tree[path] };
      f.tab.setAttribute("data-path", path);
    } else if (f.model.getValue() !== content) {
      f.model.pushEditOperations([], [{ range: f.model.getFullModelRange(), text: content }], function () { return null; });
    }
    f.saved = f.model.getAlternativeVersionId();
    f.stale = false;
    f.seq = (f.seq || 0) + 1;
    showFile(path, false);
    mark(path);
    return f;
  }

  // reload loads path again from disk, unless an action or another load showed a newer
  // text of it in the meantime.
  function reload(path) {
    var seq = files[path].seq;
    return fetchText(path).then(function (text) {
      var f = files[path];
      if (!f || f.seq !== seq || f.model.getValue() === text) { return; }
      var keep = current === path ? editor.getSelection() : null;
      load(path, text);
      if (keep) { editor.setSelection(keep); }
      say(path + " changed on disk: loaded again");
    });
  }

  function showFile(path, focus) {
    var f = files[path];
    current = path;
    editor.setModel(f.model);
    Object.keys(files).forEach(function (p) {
      files[p].tab.querySelector(".name").setAttribute("aria-current", String(p === path));
    });
    root.setAttribute("data-file", path);
    saveEl.disabled = !dirty(path);
    if (focus) { editor.focus(); }
  }

  function open(path, focus) {
    if (files[path]) { showFile(path, focus); return Promise.resolve(); }
    return fetchText(path).then(function (text) {
      load(path, text);
      if (focus) { editor.focus(); }
    }, function (e) { say(path + ": " + e.message); });
  }

  function close(path) {
    var f = files[path];
    if (!f) { return; }
    f.tab.parentNode.removeChild(f.tab);
    f.model.dispose();
    delete files[path];
    if (current === path) {
      current = null;
      var rest = Object.keys(files);
      if (rest.length) { showFile(rest[rest.length - 1], false); } else { editor.setModel(null); root.removeAttribute("data-file"); saveEl.disabled = true; }
    }
  }

  function save() {
    var path = current;
    if (!path) { return; }
    var f = files[path];
    var version = f.model.getAlternativeVersionId();
    saveEl.disabled = true;
    say("Saving " + path + "…");
    fetch("/editor/files/" + filesURL(path), {
      method: "PUT", credentials: "same-origin", body: f.model.getValue()
    }).then(function (r) {
      if (!r.ok) { throw new Error("status " + r.status); }
      f.saved = version;
      f.stale = false;
      return listTree().then(function (t) {
        t.files.forEach(function (e) { if (e.path === path) { f.mtime = e.mtime; tree[path] = e.mtime; } });
      }, function () {});
    }).then(function () { say("Saved " + path); root.setAttribute("data-saved", path); mark(path); },
      function () { say("Not saved: " + path); mark(path); });
  }

  // offset turns a byte offset of text into the editor's position.
  function position(model, text, byteOffset) {
    var chars = decoder.decode(encoder.encode(text).slice(0, byteOffset)).length;
    return model.getPositionAt(chars);
  }

  // show shows the answer of an editor action: the file as the edit left it, the line,
  // and the part selected.
  function show(ans, focus) {
    var f = load(ans.file, ans.content);
    if (ans.select) {
      var from = position(f.model, ans.content, ans.select.from);
      var to = position(f.model, ans.content, ans.select.to);
      editor.setSelection(new monaco.Selection(from.lineNumber, from.column, to.lineNumber, to.column));
      editor.revealRangeInCenter(editor.getSelection());
    } else if (ans.line) {
      editor.setPosition({ lineNumber: ans.line, column: 1 });
      editor.revealLineInCenter(ans.line);
    }
    if (focus) { editor.focus(); }
  }

  // selection is what is selected of path in the editor, as byte offsets of its text;
  // null when path is not shown or nothing is selected.
  function selection(path) {
    if (current !== path || !editor.getSelection() || editor.getSelection().isEmpty()) { return null; }
    var m = files[path].model;
    var text = m.getValue();
    var bytes = function (pos) { return encoder.encode(text.slice(0, m.getOffsetAt(pos))).length; };
    var s = editor.getSelection();
    return { from: bytes(s.getStartPosition()), to: bytes(s.getEndPosition()) };
  }

  // moved shows what a create-directory, rename-file or delete-file action did: the tree
  // listed again, the tab of a file renamed or deleted (or inside a folder that was) closed,
  // and a renamed file opened under its new name.
  function moved(kind, from, to) {
    var gone = kind === "rename-file" ? from : kind === "delete-file" ? to : null;
    var reopen = null;
    if (gone) {
      Object.keys(files).forEach(function (p) {
        if (p !== gone && p.indexOf(gone + "/") !== 0) { return; }
        if (kind === "rename-file" && p === gone) { reopen = to; }
        close(p);
      });
    }
    return listTree().then(function (t) {
      tree = {};
      t.files.forEach(function (f) { tree[f.path] = f.mtime; });
      renderTree(t.files);
      if (reopen) { return open(reopen, false); }
    }).catch(function () {});
  }

  // saveAll saves every open file with changes not saved.
  function saveAll() {
    var was = current;
    Object.keys(files).forEach(function (p) {
      if (dirty(p)) { showFile(p, false); save(); }
    });
    if (was && files[was]) { showFile(was, false); }
  }

  var wrap = false, minimap = false;

  // commands are what the tab does for the VS Code commands of editor:execute-command;
  // other ids run as Monaco's editor action of that id.
  var commands = {
    "workbench.action.files.save": save,
    "workbench.action.files.saveAll": saveAll,
    "workbench.action.closeActiveEditor": function () { if (current) { close(current); } },
    "workbench.action.closeAllEditors": function () { Object.keys(files).forEach(close); },
    "workbench.action.toggleMinimap": function () { minimap = !minimap; editor.updateOptions({ minimap: { enabled: minimap } }); },
    "editor.action.toggleWordWrap": function () { wrap = !wrap; editor.updateOptions({ wordWrap: wrap ? "on" : "off" }); }
  };

  // command runs a VS Code command; true when done, else why not.
  function command(id) {
    if (commands[id]) { commands[id](); return true; }
    var action = editor.getAction(id);
    if (!action || !current) { return current ? "Not available here" : "No file open"; }
    editor.focus();
    action.run();
    return true;
  }

  var api = { start: start, show: show, close: close, selection: selection, moved: moved, command: command };
  window.portalEditor = api;
})();
