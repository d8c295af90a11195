// The workshop dashboard's script: terminals (xterm.js over WebSockets), clickable actions
// in the instructions, page navigation without reloading the terminals, the countdown,
// and activity reports. No framework; it must never log an error to the console.
(function () {
  "use strict";

  var terms = {}; // terminal id → {term, fit, ws, screen, state}
  var encoder = new TextEncoder();
  var over = false; // the session has ended: no more reconnects or polls
  var lastAction = null; // the action a learner ran last, where Esc then Tab returns
  var phone = window.matchMedia("(max-width: 43.75rem)");

  // The terminal's colours: every colour a program writes text in has a contrast of at
  // least 4.5:1 (WCAG AA) on the background, except black, which programs use as a
  // background (dashboard_test.go checks this). JSON, so that the test can read it.
  var terminalTheme = {
    "background": "#1e1e1e", "foreground": "#d4d4d4", "cursor": "#f0f0f0", "cursorAccent": "#1e1e1e",
    "selectionBackground": "#264f78", "selectionForeground": "#ffffff",
    "black": "#000000", "red": "#f47067", "green": "#57ab5a", "yellow": "#c69026",
    "blue": "#6cb6ff", "magenta": "#dcbdfb", "cyan": "#56d4dd", "white": "#d4d4d4",
    "brightBlack": "#8b949e", "brightRed": "#ff938a", "brightGreen": "#6bc46d", "brightYellow": "#daaa3f",
    "brightBlue": "#96d0ff", "brightMagenta": "#eedcff", "brightCyan": "#b3f0ff", "brightWhite": "#ffffff"
  };

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Requested-With": "dashboard" },
      body: JSON.stringify(body || {}),
      credentials: "same-origin",
      keepalive: true
    });
  }

  function notice(html) {
    var n = document.getElementById("notice");
    if (!html) { n.hidden = true; n.textContent = ""; return; }
    n.innerHTML = html;
    n.hidden = false;
  }

  function sendEvent(name, data) {
    post("/session/event", { name: name, data: data || {} }).catch(function () {});
  }

  // ---- terminals --------------------------------------------------------------------

  function termsReady() {
    return typeof window.Terminal === "function" && window.FitAddon && window.FitAddon.FitAddon;
  }

  function setupTerminals() {
    document.querySelectorAll("div.terminal[data-terminal]").forEach(setupPane);
    window.addEventListener("resize", refitAll);
  }

  // setupPane opens the terminal of pane (a div.terminal with data-terminal) and connects
  // it; a pane already set up is left alone.
  function setupPane(pane) {
    var id = pane.getAttribute("data-terminal");
    if (terms[id]) { return; }
    var screen = pane.querySelector(".terminal-screen");
    var state = pane.querySelector(".terminal-state");
    if (!termsReady()) {
      if (!screen.querySelector(".terminal-missing")) {
        var p = document.createElement("p");
        p.className = "terminal-missing";
        p.textContent = "Terminal assets not built: run make assets.";
        screen.appendChild(p);
      }
      return;
    }
    var term = new window.Terminal({
      cursorBlink: true, fontSize: 14, lineHeight: 1.2, scrollback: 5000,
      fontFamily: '"JetBrains Mono", ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
      theme: terminalTheme, minimumContrastRatio: 1
    });
    var fit = new window.FitAddon.FitAddon();
    term.loadAddon(fit);
    term.open(screen);
    if (term.textarea) {
      term.textarea.setAttribute("aria-describedby", "terminal-help");
    }
    var t = { id: id, term: term, fit: fit, ws: null, screen: screen, state: state, delay: 500, escaped: false };
    term.attachCustomKeyEventHandler(function (ev) { return terminalKey(t, ev); });
    terms[id] = t;
    term.onData(function (d) { send(t, encoder.encode(d)); });
    term.onBinary(function (d) {
      var b = new Uint8Array(d.length);
      for (var i = 0; i < d.length; i++) { b[i] = d.charCodeAt(i) & 255; }
      send(t, b);
    });
    term.onResize(function (size) { sendResize(t, size.cols, size.rows); });
    refit(t);
    connect(t);
    if (window.ResizeObserver) {
      t.observer = new ResizeObserver(function () { refit(t); });
      t.observer.observe(screen);
    }
  }

  // dropTerminal disconnects terminal id's pane and forgets it; its shell runs on, and a
  // pane that shows it again gets its scrollback.
  function dropTerminal(id) {
    var t = terms[id];
    if (!t) { return; }
    delete terms[id];
    if (t.observer) { t.observer.disconnect(); }
    if (t.ws) { var ws = t.ws; t.ws = null; ws.close(); }
    t.term.dispose();
  }

  // Esc then Tab leaves the terminal (the terminal gets the Esc, not the Tab): back to the
  // action run last, else to the next element as Tab would.
  function terminalKey(t, ev) {
    if (ev.type !== "keydown") { return true; }
    if (ev.key === "Escape") { t.escaped = true; return true; }
    if (ev.key === "Tab" && t.escaped) {
      t.escaped = false;
      if (lastAction && document.body.contains(lastAction) && visible(lastAction)) {
        ev.preventDefault();
        lastAction.focus();
      }
      return false; // xterm leaves the Tab alone: the browser moves the focus
    }
    if (ev.key !== "Shift") { t.escaped = false; }
    return true;
  }

  function visible(el) { return el.getClientRects().length > 0; }

  function refit(t) {
    if (t.screen.clientWidth > 0 && t.screen.clientHeight > 0) {
      try { t.fit.fit(); } catch (e) { /* not laid out yet */ }
    }
  }

  function send(t, bytes) {
    if (t.ws && t.ws.readyState === WebSocket.OPEN) { t.ws.send(bytes); }
  }

  function sendResize(t, cols, rows) {
    if (t.ws && t.ws.readyState === WebSocket.OPEN) {
      t.ws.send(JSON.stringify({ type: "resize", cols: cols, rows: rows }));
    }
  }

  function connect(t) {
    if (over) { return; }
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    var ws = new WebSocket(scheme + location.host + "/terminal/" + t.id);
    ws.binaryType = "arraybuffer";
    t.ws = ws;
    t.state.textContent = "connecting…";
    var fresh = true;
    ws.onopen = function () {
      t.delay = 500;
      t.state.textContent = "";
      t.screen.parentNode.classList.remove("disconnected");
      sendResize(t, t.term.cols, t.term.rows);
    };
    ws.onmessage = function (ev) {
      if (fresh) {
        // The server replays the scrollback first: start from a clean screen.
        t.term.reset();
        fresh = false;
      }
      t.term.write(typeof ev.data === "string" ? ev.data : new Uint8Array(ev.data));
    };
    ws.onerror = function () { /* onclose follows */ };
    ws.onclose = function () {
      if (t.ws !== ws || over || terms[t.id] !== t) { return; }
      t.ws = null;
      checkSoon(); // a terminal that drops may mean the session ended
      t.state.textContent = "reconnecting…";
      t.screen.parentNode.classList.add("disconnected");
      setTimeout(function () { connect(t); }, t.delay);
      t.delay = Math.min(t.delay * 2, 10000);
    };
  }

  // showTerminal makes terminal id visible (its dashboard tab, created for a named
  // terminal seen first, and the Workspace on a phone) and flashes it; with focus it also
  // moves the keyboard focus there (a click, not Enter on an action).
  function showTerminal(id, focus) {
    if (phone.matches) { selectTab("terminals"); }
    if (/^[1-9]$/.test(id) || id === "all") {
      var main = document.getElementById("dtab-terminal");
      if (main) { selectDashTab(main, false); }
    } else {
      selectDashTab(ensureTerminalTab(id), false);
    }
    var t = terms[id];
    if (t && focus) { t.term.focus(); }
    var pane = document.getElementById("terminal-" + id);
    if (pane) {
      pane.classList.add("flash");
      setTimeout(function () { pane.classList.remove("flash"); }, 600);
    }
  }

  // ---- clickable actions ------------------------------------------------------------

  // Inline SVG icons for the action labels: Linux fonts lack ▶ ⧉ and friends.
  var icons = {
    execute: "M4 2.5v11l9-5.5z", input: "M1.5 4h13v8h-13z M4 7h1 M7 7h1 M10 7h1 M4.5 9.5h7",
    interrupt: "M3 3h10v10H3z", clear: "M6 3h8.5v10H6L1.5 8z M8 6l4 4 M12 6l-4 4",
    copy: "M5.5 5.5h8v8h-8z M2.5 10.5v-8h8", "copy-and-edit": "M5.5 5.5h8v8h-8z M2.5 10.5v-8h8",
    "open-url": "M9 2.5h4.5V7 M13.5 2.5 7 9 M11.5 9.5v4h-9v-9h4",
    select: "M1.5 2.5h13v11h-13z M4 6l2 2-2 2 M8 10h3",
    examiner: "M2.5 8.5l3.5 3.5 7.5-8", "section-begin": "M3.5 6l4.5 4.5L12.5 6", "section-heading": "M8 4v1 M8 7v5",
    "download-file": "M8 2v8 M4.5 7 8 10.5 11.5 7 M2.5 13.5h11", "copy-file": "M5.5 5.5h8v8h-8z M2.5 10.5v-8h8",
    "upload-file": "M8 11V3 M4.5 6 8 2.5 11.5 6 M2.5 13.5h11", "upload-files": "M8 11V3 M4.5 6 8 2.5 11.5 6 M2.5 13.5h11",
    editor: "M10.5 2.5l3 3-8 8h-3v-3z M9 4l3 3"
  };
  var svgNS = "http://www.w3.org/2000/svg";

  function addIcon(el) {
    var d = icons[el.getAttribute("data-action")];
    if (!d || el.querySelector(".action-icon")) { return; }
    var svg = document.createElementNS(svgNS, "svg");
    svg.setAttribute("class", "action-icon");
    svg.setAttribute("viewBox", "0 0 16 16");
    svg.setAttribute("aria-hidden", "true");
    var path = document.createElementNS(svgNS, "path");
    path.setAttribute("d", d);
    var solid = el.getAttribute("data-action") === "execute" || el.getAttribute("data-action") === "interrupt";
    path.setAttribute("fill", solid ? "currentColor" : "none");
    path.setAttribute("stroke", "currentColor");
    path.setAttribute("stroke-width", "1.5");
    path.setAttribute("stroke-linejoin", "round");
    svg.appendChild(path);
    el.insertBefore(svg, el.firstChild);
  }

  function prepareActions(root) {
    prepareSections(root);
    root.querySelectorAll("pre.action").forEach(function (el) {
      el.setAttribute("tabindex", "0");
      el.setAttribute("role", "button");
      addIcon(el);
      var kind = el.getAttribute("data-action");
      if ((kind === "upload-file" || kind === "upload-files") && !el._input) {
        // The file chooser sits below the block; choosing files uploads them.
        var input = document.createElement("input");
        input.type = "file";
        input.className = "action-upload";
        input.multiple = kind === "upload-files";
        input.setAttribute("aria-label", (el.querySelector("code") || el).textContent);
        input.addEventListener("change", function () { if (input.files.length) { runAction(el, true, false); } });
        el.parentNode.insertBefore(input, el.nextSibling);
        el._input = input;
      }
      if (kind === "examiner" && el.hasAttribute("data-inputs") && !el._form) {
        el._form = inputsForm(el);
      }
      if (el.getAttribute("data-preview") === "true" && el.hasAttribute("data-path")) {
        fetch(filesURL(el.getAttribute("data-path")), { credentials: "same-origin" })
          .then(function (r) { return r.ok ? r.text() : null; })
          .then(function (text) {
            var code = el.querySelector("code");
            if (text !== null && code) { code.textContent = code.textContent + "\n\n" + text; }
          })
          .catch(function () {});
      }
    });
    root.querySelectorAll(".page-body a[href]").forEach(function (a) {
      if (/^https?:\/\//i.test(a.getAttribute("href"))) {
        a.target = "_blank";
        a.rel = "noopener noreferrer";
      }
    });
    autostart(root);
  }

  // prepareSections moves what lies between each section:begin and its section:end (the
  // next one of the same name among its siblings, else the end of its parent) into a
  // collapsed .section-body after the begin block.
  function prepareSections(root) {
    root.querySelectorAll('pre.action[data-action="section-begin"]').forEach(function (begin) {
      if (begin._body) { return; }
      var name = begin.getAttribute("data-section");
      var body = document.createElement("div");
      body.className = "section-body";
      body.hidden = true;
      var n = begin.nextSibling;
      while (n) {
        var next = n.nextSibling;
        if (n.nodeType === 1 && n.matches('pre.action[data-action="section-end"]') && n.getAttribute("data-section") === name) { break; }
        body.appendChild(n);
        n = next;
      }
      begin.parentNode.insertBefore(body, begin.nextSibling);
      begin._body = body;
      begin.setAttribute("aria-expanded", "false");
    });
  }

  // openSection shows (or, with toggle, hides again) a section's body; autostart actions
  // in a body that opens run.
  function openSection(begin, toggle) {
    var body = begin._body;
    if (!body) { return; }
    var open = toggle ? body.hidden : true;
    var was = !body.hidden;
    body.hidden = !open; // a hidden begin block stays hidden: only its section shows
    begin.setAttribute("aria-expanded", String(open));
    if (open && !was) { autostart(body); }
  }

  // autostart runs the actions marked autostart in root that are not in a closed section.
  function autostart(root) {
    root.querySelectorAll('pre.action[data-autostart="true"]').forEach(function (el) {
      if (!el.closest(".section-body[hidden]")) { runAction(el, true, true); }
    });
  }

  // nextAction is the action a cascade runs after el: the next action block among its
  // siblings.
  function nextAction(el) {
    for (var n = el.nextElementSibling; n; n = n.nextElementSibling) {
      if (n.matches("pre.action") && n.getAttribute("data-action") !== "section-end") { return n; }
    }
    return null;
  }

  function feedback(el, text, ok) {
    el.setAttribute("data-feedback", text);
    el.classList.remove("done", "failed");
    el.classList.add(ok ? "done" : "failed");
    clearTimeout(el._feedback);
    el._feedback = setTimeout(function () {
      el.classList.remove("done", "failed");
      el.removeAttribute("data-feedback");
    }, 2500);
  }

  // status shows a lasting state on el: running, passed or failed.
  function status(el, state, text) {
    clearTimeout(el._feedback);
    el.classList.remove("done", "failed");
    el.setAttribute("data-state", state);
    el.setAttribute("data-feedback", text);
  }

  function copyText(text) {
    function fallback() {
      var ta = document.createElement("textarea");
      ta.value = text;
      ta.setAttribute("readonly", "");
      ta.style.position = "fixed";
      ta.style.opacity = "0";
      document.body.appendChild(ta);
      ta.select();
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      document.body.removeChild(ta);
      return ok;
    }
    if (navigator.clipboard && navigator.clipboard.writeText) {
      return navigator.clipboard.writeText(text).then(function () { return true; }, function () { return fallback(); });
    }
    return Promise.resolve(fallback());
  }

  function filesURL(path) {
    return "/files/" + path.split("/").map(encodeURIComponent).join("/");
  }

  function pageLink(sel) {
    var a = document.querySelector("#instructions a." + sel + "[href]");
    return a ? a.pathname.replace(/^\/workshop\/content\//, "") : null;
  }

  // Seconds the same action cannot run again after it finished, as in the reference;
  // data-cooldown overrides ("inf": never again on this page).
  var cooldowns = { "copy": 0, "copy-and-edit": 0, "open-url": 3, "upload-file": 3, "upload-files": 3 };

  // runAction runs an action; byKey (Enter or Space, or auto) keeps the focus on the
  // action; auto says it runs by itself (autostart, cascade). A click on an action that
  // runs, or within its cooldown, does nothing. An action that succeeds and has
  // data-cascade runs the next one.
  function runAction(el, byKey, auto) {
    var kind = el.getAttribute("data-action");
    var cd = el.getAttribute("data-cooldown");
    cd = cd === "inf" ? Infinity : cd !== null ? Number(cd) : (kind in cooldowns ? cooldowns[kind] : 1);
    var now = Date.now();
    if (cd > 0 && (el._running || (el._completed && (now - el._completed) / 1000 < cd))) { return; }
    if (!auto) { lastAction = el; }
    var ev = el.getAttribute("data-event");
    if (ev !== null) {
      var page = document.getElementById("instructions");
      var name;
      try { name = JSON.parse(ev); } catch (e) { name = ev; }
      sendEvent("Action/Event", {
        prev_page: pageLink("prev"), current_page: page.getAttribute("data-page"), next_page: pageLink("next"),
        page_number: Number(page.getAttribute("data-number")), pages_total: Number(page.getAttribute("data-total")),
        event_name: name
      });
    }
    var result = perform(el, kind, byKey, auto);
    if (!result) { return; }
    el._running = true;
    el.setAttribute("data-result", "pending");
    result.catch(function () { return false; }).then(function (ok) {
      el._running = false;
      el._completed = Date.now();
      el.setAttribute("data-result", ok ? "success" : "failure");
      if (ok && el.getAttribute("data-cascade") === "true") {
        var pause = Number(el.getAttribute("data-pause") || 0.75);
        setTimeout(function () {
          var next = nextAction(el);
          if (next && document.body.contains(next)) { runAction(next, true, true); }
        }, pause * 1000);
      }
    });
  }

  // perform does what action el of kind does and returns a promise of its success, or
  // null when it did nothing yet (an upload waiting for its files). A section that runs by
  // itself only opens; a click opens or closes it.
  function perform(el, kind, byKey, auto) {
    var target = el.getAttribute("data-terminal") || "1";
    var code = el.tagName === "CODE" ? el : el.querySelector("code");
    var text = el.hasAttribute("data-text") ? el.getAttribute("data-text") : (code ? code.textContent : "");
    switch (kind) {
      case "execute":
      case "input":
      case "interrupt":
        showTerminal(target === "all" ? "1" : target, !byKey);
        return post("/terminal/" + target + "/input", {
          text: kind === "interrupt" ? "<ctrl-c>" : text,
          enter: kind !== "interrupt" && el.getAttribute("data-enter") !== "false",
          clear: el.getAttribute("data-clear") === "true"
        }).then(function (r) {
          feedback(el, r.ok ? (kind === "interrupt" ? "Interrupted" : "Sent") : "No such terminal", r.ok);
          return r.ok;
        }, function () { feedback(el, "Not sent", false); return false; });
      case "clear":
        showTerminal(target === "all" ? "1" : target, false);
        return post("/terminal/" + target + "/clear", {}).then(function (r) {
          feedback(el, r.ok ? "Cleared" : "No such terminal", r.ok);
          return r.ok;
        }, function () { feedback(el, "Not cleared", false); return false; });
      case "select":
        showTerminal(target, !byKey);
        feedback(el, terms[target] || !document.querySelector(".terminal") ? "Selected" : "No such terminal", true);
        return Promise.resolve(true);
      case "copy":
      case "copy-and-edit":
        return copyText(text).then(function (ok) {
          feedback(el, ok ? (kind === "copy" ? "Copied" : "Copied: edit it before use") : "Select the text and copy it", ok);
          return ok;
        });
      case "open-url":
        window.open(text, "_blank", "noopener");
        feedback(el, "Opened", true);
        return Promise.resolve(true);
      case "examiner":
        return examine(el);
      case "section-begin":
        openSection(el, !auto);
        return Promise.resolve(true);
      case "section-heading":
        return Promise.resolve(true);
      case "download-file":
        return download(el);
      case "copy-file":
        return fetchFile(el).then(function (blob) { return blob.text(); }).then(copyText).then(function (ok) {
          feedback(el, ok ? "Copied" : "Could not copy", ok);
          return ok;
        }, function () { feedback(el, "No such file", false); return false; });
      case "upload-file":
      case "upload-files":
        return upload(el, kind);
      case "editor":
        return editorAction(el, !byKey);
      case "open-dashboard":
      case "create-dashboard":
      case "reload-dashboard":
      case "delete-dashboard":
        var ok = dashboardAction(kind, el.getAttribute("data-name"), el.getAttribute("data-url"), !byKey);
        feedback(el, ok || "No such tab", !!ok);
        return Promise.resolve(!!ok);
    }
    return null;
  }

  // ---- the editor -------------------------------------------------------------------

  var editorLoad = null; // the promise of the editor (static/editor.js and Monaco), once asked for
  var selections = {}; // file → the part the last select-* action selected, as byte offsets

  // loadEditor loads the editor's script, and with it Monaco, the first time it is asked
  // for; it resolves to window.portalEditor, or null on a page without the Editor tab.
  function loadEditor() {
    if (editorLoad) { return editorLoad; }
    var root = document.querySelector(".dash-panel > .editor");
    if (!root) { return Promise.resolve(null); }
    editorLoad = new Promise(function (resolve) {
      var s = document.createElement("script");
      s.src = "/static/editor.js";
      s.onload = function () { window.portalEditor.start(root).then(resolve, function () { resolve(null); }); };
      s.onerror = function () { resolve(null); };
      document.body.appendChild(s);
    });
    return editorLoad;
  }

  // editorAction does an editor:* action: the dashboard host edits the file, then the
  // Editor tab (when the workshop has one) shows the file at the edit.
  function editorAction(el, focus) {
    var file = el.getAttribute("data-file");
    var edit = JSON.parse(el.getAttribute("data-edit"));
    var tab = findTab("editor");
    if (edit.kind === "close-file") {
      loadEditor().then(function (ed) { if (ed) { ed.close(file); } });
      feedback(el, "Closed", true);
      return Promise.resolve(true);
    }
    if (edit.kind === "execute-command") {
      if (!tab) { feedback(el, "No Editor tab", false); return Promise.resolve(false); }
      selectDashTab(tab, false);
      return loadEditor().then(function (ed) {
        var ok = ed ? ed.command(el.getAttribute("data-command")) : "No editor";
        feedback(el, ok === true ? "Done" : ok, ok === true);
        return ok === true;
      });
    }
    var body = { file: file, edit: edit };
    if (el.hasAttribute("data-src")) { body.src = el.getAttribute("data-src"); }
    // The *-selection kinds act on what the learner selected in the editor, else on what
    // the last select action selected.
    var selected = editorLoad ? editorLoad.then(function (ed) { return ed && ed.selection(file); }) : Promise.resolve(null);
    return selected.then(function (sel) {
      if (/-selection$/.test(edit.kind) && (sel || selections[file])) { edit.selection = sel || selections[file]; }
      return fetch("/editor/edit", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json" }, body: JSON.stringify(body)
      });
    }).then(function (r) {
      if (!r.ok) {
        return r.text().then(function (t) { feedback(el, r.status === 404 ? "No such file" : t.trim() || "Not edited", false); return false; });
      }
      if (/^(create-directory|rename-file|delete-file)$/.test(edit.kind)) {
        feedback(el, { "create-directory": "Created", "rename-file": "Renamed", "delete-file": "Deleted" }[edit.kind], true);
        delete selections[file];
        if (body.src) { delete selections[body.src]; }
        if (!tab) { return true; }
        selectDashTab(tab, false);
        return loadEditor().then(function (ed) {
          if (ed) { ed.moved(edit.kind, body.src, file); }
          return true;
        });
      }
      return r.json().then(function (ans) {
        delete selections[file];
        if (ans.select) { selections[file] = ans.select; }
        feedback(el, ans.changed ? "Edited" : ans.select ? "Selected" : "Opened", true);
        if (!tab) { return true; }
        selectDashTab(tab, false);
        return loadEditor().then(function (ed) {
          if (ed) { ed.show(ans, focus); }
          return true;
        });
      });
    }, function () { feedback(el, "Not edited", false); return false; });
  }

  // ---- dashboard tabs ---------------------------------------------------------------

  var tabCount = 0; // tabs created on the page, for their element ids

  function dashTabs() {
    var bar = document.getElementById("dash-tabs");
    return bar ? Array.prototype.slice.call(bar.querySelectorAll('[role="tab"]')) : [];
  }

  // findTab returns the tab named name (without regard to case), or null.
  function findTab(name) {
    var want = String(name || "").toLowerCase();
    return dashTabs().filter(function (b) { return b.getAttribute("data-name").toLowerCase() === want; })[0] || null;
  }

  function panelOf(tab) { return document.getElementById(tab.getAttribute("aria-controls")); }

  // selectDashTab shows tab's panel and hides the others (a frame loads when first
  // shown); with focus the tab takes the keyboard focus.
  function selectDashTab(tab, focus) {
    if (!tab) { return; }
    if (phone.matches) { selectTab("terminals"); }
    dashTabs().forEach(function (b) {
      var on = b === tab;
      b.setAttribute("aria-selected", String(on));
      b.tabIndex = on ? 0 : -1;
      panelOf(b).hidden = !on;
    });
    var frame = panelOf(tab).querySelector("iframe");
    if (frame && !frame.getAttribute("src")) { frame.src = frame.getAttribute("data-src"); }
    if (panelOf(tab).querySelector(".editor")) { loadEditor(); }
    if (focus) { tab.focus(); }
    tab.scrollIntoView({ block: "nearest", inline: "nearest" });
    refitAll();
  }

  // addTab appends a tab named name that shows url in a frame, or the named terminal of
  // a terminal:<name> url, and returns it. The page must have a tab bar.
  function addTab(name, url) {
    var bar = document.getElementById("dash-tabs");
    var key = "new-" + (++tabCount);
    var tab = document.createElement("button");
    tab.type = "button";
    tab.setAttribute("role", "tab");
    tab.id = "dtab-" + key;
    tab.setAttribute("aria-controls", "dpanel-" + key);
    tab.setAttribute("aria-selected", "false");
    tab.tabIndex = -1;
    tab.setAttribute("data-name", name);
    tab.textContent = name;
    var panel = document.createElement("div");
    panel.className = "dash-panel";
    panel.setAttribute("role", "tabpanel");
    panel.id = "dpanel-" + key;
    panel.setAttribute("aria-labelledby", tab.id);
    panel.hidden = true;
    var term = /^terminal:(.+)$/.exec(url);
    if (term) {
      var pane = document.createElement("div");
      pane.className = "terminal named";
      pane.id = "terminal-" + term[1];
      pane.setAttribute("data-terminal", term[1]);
      var head = document.createElement("div");
      head.className = "terminal-bar";
      var label = document.createElement("span");
      label.className = "terminal-name";
      label.textContent = "Terminal " + term[1];
      var state = document.createElement("span");
      state.className = "terminal-state";
      state.setAttribute("aria-live", "polite");
      head.appendChild(label);
      head.appendChild(state);
      var screen = document.createElement("div");
      screen.className = "terminal-screen";
      pane.appendChild(head);
      pane.appendChild(screen);
      panel.appendChild(pane);
    } else {
      var frame = document.createElement("iframe");
      frame.className = "dash-frame";
      frame.title = name;
      frame.setAttribute("data-src", url);
      panel.appendChild(frame);
    }
    bar.appendChild(tab);
    document.getElementById("workspace").appendChild(panel);
    if (term) { setupPane(panel.querySelector(".terminal")); }
    return tab;
  }

  // ensureTerminalTab returns the tab that shows named terminal id, adding one (named id)
  // when none does; null on a page without tabs.
  function ensureTerminalTab(id) {
    if (!document.getElementById("dash-tabs")) { return null; }
    var pane = document.querySelector('div.terminal[data-terminal="' + id + '"]');
    if (pane) { return document.getElementById(pane.closest(".dash-panel").getAttribute("aria-labelledby")); }
    return findTab(id) || addTab(id, "terminal:" + id);
  }

  // dashboardAction does a dashboard:* action on the tab named name and returns what the
  // block says, or "" when it could not: open-dashboard shows the tab; create-dashboard
  // adds it (showing url) unless one of that name, or one showing the same named
  // terminal, exists, and shows it; reload-dashboard
  // loads the tab's frame again, from url when given (adding the tab when missing and url
  // is given); delete-dashboard removes a tab the workshop added (not Terminal or Slides).
  function dashboardAction(kind, name, url, focus) {
    if (!document.getElementById("dash-tabs")) { return ""; }
    var tab = findTab(name);
    switch (kind) {
      case "open-dashboard":
        if (!tab) { return ""; }
        selectDashTab(tab, focus);
        return "Opened";
      case "create-dashboard":
        var named = /^terminal:(.+)$/.exec(url);
        if (!tab && named && document.querySelector('div.terminal[data-terminal="' + named[1] + '"]')) {
          tab = ensureTerminalTab(named[1]); // one pane per terminal: show the tab that has it
        }
        var made = !tab;
        if (made) { tab = addTab(name, url); }
        selectDashTab(tab, focus);
        return made ? "Created" : "Opened";
      case "reload-dashboard":
        if (!tab && !url) { return ""; }
        if (!tab) { tab = addTab(name, url); }
        var frame = panelOf(tab).querySelector("iframe");
        if (frame) {
          if (url) { frame.setAttribute("data-src", url); }
          frame.removeAttribute("src");
        }
        selectDashTab(tab, focus);
        return "Reloaded";
      case "delete-dashboard":
        if (!tab || tab.getAttribute("data-builtin") === "true") { return ""; }
        var was = tab.getAttribute("aria-selected") === "true";
        var panel = panelOf(tab);
        panel.querySelectorAll("div.terminal[data-terminal]").forEach(function (p) { dropTerminal(p.getAttribute("data-terminal")); });
        panel.parentNode.removeChild(panel);
        tab.parentNode.removeChild(tab);
        if (was && dashTabs().length) { selectDashTab(dashTabs()[0], false); }
        return "Closed";
    }
    return "";
  }

  // The tab bar is a WAI-ARIA tablist: arrow keys, Home and End move between tabs and
  // show them; only the shown tab is in the Tab order.
  document.addEventListener("keydown", function (ev) {
    var tab = ev.target.closest && ev.target.closest('#dash-tabs [role="tab"]');
    if (!tab) { return; }
    var tabs = dashTabs();
    var i = tabs.indexOf(tab);
    var to = { ArrowLeft: i - 1, ArrowRight: i + 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (to === undefined) { return; }
    ev.preventDefault();
    selectDashTab(tabs[(to + tabs.length) % tabs.length], true);
  });
  document.addEventListener("click", function (ev) {
    var tab = ev.target.closest && ev.target.closest('#dash-tabs [role="tab"]');
    if (tab) { selectDashTab(tab, false); }
  });

  // fetchFile fetches the file of a download-file or copy-file action as a Blob.
  function fetchFile(el) {
    var url = el.getAttribute("data-url");
    var req = url ? fetch(url) : fetch(filesURL(el.getAttribute("data-path")), { credentials: "same-origin" });
    return req.then(function (r) {
      if (!r.ok) { throw new Error("status " + r.status); }
      return r.blob();
    });
  }

  function download(el) {
    return fetchFile(el).then(function (blob) {
      var a = document.createElement("a");
      a.href = URL.createObjectURL(blob);
      a.download = el.getAttribute("data-download") || "download";
      a.style.display = "none";
      document.body.appendChild(a);
      a.click();
      document.body.removeChild(a);
      setTimeout(function () { URL.revokeObjectURL(a.href); }, 10000);
      feedback(el, "Downloaded", true);
      return true;
    }, function () { feedback(el, "No such file", false); return false; });
  }

  // upload sends the files chosen in the action's file chooser, or opens the chooser.
  function upload(el, kind) {
    var input = el._input;
    if (!input) { return null; }
    if (!input.files.length) { input.click(); return null; }
    var form = new FormData();
    if (kind === "upload-file") {
      form.append("path", el.getAttribute("data-path"));
      form.append("file", input.files[0]);
    } else {
      form.append("directory", el.getAttribute("data-directory") || "");
      for (var i = 0; i < input.files.length; i++) { form.append("files", input.files[i]); }
    }
    status(el, "running", "Uploading…");
    return fetch(kind === "upload-file" ? "/upload/file" : "/upload/files", {
      method: "POST", body: form, credentials: "same-origin", headers: { "X-Requested-With": "dashboard" }
    }).then(function (r) {
      return r.text().then(function (t) {
        var ok = r.ok && t === "OK";
        status(el, ok ? "passed" : "failed", ok ? "Uploaded" : (r.status === 413 ? "File too large" : "Not uploaded"));
        if (ok) { input.value = ""; }
        return ok;
      });
    }, function () { status(el, "failed", "Not uploaded"); return false; });
  }

  // inputsForm renders an examiner block's form (its data-inputs: fields and the submit
  // button's caption) below the block; submitting it runs the test with the values.
  var formCount = 0;
  function inputsForm(el) {
    var spec;
    try { spec = JSON.parse(el.getAttribute("data-inputs")); } catch (e) { return null; }
    var form = document.createElement("form");
    var id = "action-form-" + (++formCount);
    form.className = "action-form";
    form.setAttribute("aria-label", (el.querySelector("code") || el).textContent.split("\n")[0]);
    form._spec = spec;
    form._inputs = [];
    spec.fields.forEach(function (f, i) {
      var row = document.createElement("div");
      var label = document.createElement("label");
      var input;
      row.className = "action-field";
      if (f.enum) {
        input = document.createElement("select");
        if (!f.required || f.default === undefined) { input.appendChild(new Option("", "")); }
        f.enum.forEach(function (v) { input.appendChild(new Option(String(v), String(v))); });
      } else {
        input = document.createElement("input");
        if (f.type === "boolean") {
          input.type = "checkbox";
          input.checked = f.default === true;
          row.className += " check";
        } else if (f.type === "number" || f.type === "integer") {
          input.type = "number";
          input.step = f.type === "integer" ? "1" : "any";
        } else {
          input.type = "text";
          if (f.maxLength) { input.maxLength = f.maxLength; }
        }
      }
      input.id = id + "-" + i;
      input.name = f.name;
      input.required = !!f.required && f.type !== "boolean";
      if (f.default !== undefined && f.type !== "boolean") { input.value = String(f.default); }
      label.htmlFor = input.id;
      label.textContent = f.title || f.name;
      if (f.type === "boolean") { row.appendChild(input); row.appendChild(document.createTextNode(" ")); }
      row.appendChild(label);
      if (f.type !== "boolean") { row.appendChild(input); }
      if (f.description) {
        var hint = document.createElement("p");
        hint.className = "hint";
        hint.id = input.id + "-hint";
        hint.textContent = f.description;
        input.setAttribute("aria-describedby", hint.id);
        row.appendChild(hint);
      }
      form.appendChild(row);
      form._inputs.push(input);
    });
    var button = document.createElement("button");
    button.type = "submit";
    button.textContent = spec.submit || "Submit";
    form.appendChild(button);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      runAction(el, true, false);
    });
    el.parentNode.insertBefore(form, el.nextSibling);
    return form;
  }

  // formValues returns the values of an examiner block's form, typed as its fields are,
  // leaving out empty fields; null (and the browser says why) when the form is not
  // filled in right.
  function formValues(form) {
    if (!form.reportValidity()) { return null; }
    var values = {};
    form._spec.fields.forEach(function (f, i) {
      var input = form._inputs[i];
      if (f.type === "boolean") { values[f.name] = input.checked; return; }
      if (input.value === "") { return; }
      var v = f.type === "string" ? input.value : Number(input.value);
      if (f.enum) {
        f.enum.forEach(function (e) { if (String(e) === input.value) { v = e; } });
      }
      values[f.name] = v;
    });
    return values;
  }

  // examine runs an examiner test, again after data-delay seconds while it fails and
  // data-retries allows ("inf": while the page shows it), and shows running, passed or
  // failed on the block.
  function examine(el) {
    var name = el.getAttribute("data-name");
    var url = el.getAttribute("data-url");
    var args = [];
    try { args = JSON.parse(el.getAttribute("data-args") || "[]"); } catch (e) { args = []; }
    var body = { args: args, timeout: Number(el.getAttribute("data-timeout") || 0) || 15, form: {} };
    if (el._form) {
      body.form = formValues(el._form);
      if (!body.form) {
        status(el, "failed", "Fill in the form");
        return Promise.resolve(false);
      }
    }
    var r = el.getAttribute("data-retries");
    var retries = r === "inf" ? Infinity : Number(r || 0);
    var delay = Number(el.getAttribute("data-delay") || 1);
    status(el, "running", "Running…");
    return new Promise(function (resolve) {
      function attempt() {
        var req = url ? fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }) :
          post("/examiner/test/" + encodeURIComponent(name), el._form ? Object.assign({ inputs: el._form._spec }, body) : body);
        req.then(function (res) {
          if (res.status === 404) { return { success: false, message: "No such test" }; }
          return res.ok ? res.json() : { success: false, message: "The test could not run" };
        }).catch(function () { return { success: false, message: "The test could not run" }; }).then(function (res) {
          if (res && res.success === true) {
            status(el, "passed", "Passed");
            resolve(true);
          } else if (retries-- > 0 && document.body.contains(el)) {
            setTimeout(attempt, delay * 1000);
          } else {
            status(el, "failed", "Failed" + (res && res.message ? ": " + res.message : ""));
            resolve(false);
          }
        });
      }
      attempt();
    });
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest && ev.target.closest("pre.action, code.action-inline");
    if (el) { ev.preventDefault(); runAction(el, ev.detail === 0, false); return; }
    var a = ev.target.closest && ev.target.closest("a[href]");
    if (!a) { return; }
    if (a.getAttribute("data-action") === "finish") { finish(ev, a); return; }
    if (a.closest("#instructions") && a.target === "" && isPage(a) && !ev.ctrlKey && !ev.metaKey && !ev.shiftKey) {
      ev.preventDefault();
      showPage(a.href, true);
    }
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Enter" && ev.key !== " ") { return; }
    var el = ev.target.closest && ev.target.closest("pre.action, code.action-inline");
    if (el) { ev.preventDefault(); runAction(el, true, false); }
  });

  // ---- page navigation without reloading the terminals ------------------------------

  function isPage(a) {
    return a.origin === location.origin && a.pathname.indexOf("/workshop/content/") === 0 &&
      !/\.[A-Za-z0-9]+$/.test(a.pathname.replace(/\.md$/, ""));
  }

  // showPage shows the instructions of url in place; keep holds the scroll position (the
  // same page read again).
  function showPage(url, push, keep) {
    fetch(url, { credentials: "same-origin", headers: { "X-Requested-With": "dashboard" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("status " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var fresh = doc.getElementById("instructions");
        var cur = document.getElementById("instructions");
        if (!fresh || !cur) { throw new Error("no instructions"); }
        var top = cur.scrollTop, winTop = window.scrollY;
        cur.replaceWith(document.importNode(fresh, true));
        document.title = doc.title;
        if (push) { history.pushState({}, "", url); }
        var now = document.getElementById("instructions");
        prepareActions(now);
        now.scrollTop = keep ? top : 0;
        window.scrollTo(0, keep ? winTop : 0);
      })
      .catch(function () { location.href = url; });
  }

  // ---- author mode (portal workshop serve): the instructions follow their files -------

  if (document.body.getAttribute("data-author") === "true" && window.EventSource) {
    var changes = new EventSource("/workshop/changes");
    changes.addEventListener("changed", function () {
      notice("");
      showPage(location.href, false, true);
    });
    changes.addEventListener("failed", function (ev) {
      var why = "";
      try { why = JSON.parse(ev.data).error; } catch (e) { /* no reason given */ }
      var p = document.createElement("p");
      p.textContent = "The changed workshop content does not load; these are the last good instructions. " + why;
      notice(p.outerHTML);
    });
  }

  window.addEventListener("popstate", function () { showPage(location.href, false); });

  // ---- countdown, extend, finish ----------------------------------------------------

  var schedule = null; // last answer, with the local time it came
  var pollTimer = null;

  function pad(n) { return (n < 10 ? "0" : "") + n; }

  function renderCountdown() {
    var el = document.getElementById("countdown");
    var ext = document.getElementById("extend");
    if (!schedule || typeof schedule.data.countdown !== "number") {
      el.hidden = true;
      ext.hidden = true;
      return;
    }
    var left = Math.max(0, schedule.data.countdown - Math.floor((Date.now() - schedule.at) / 1000));
    var h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
    el.textContent = (h > 0 ? h + ":" + pad(m) : m) + ":" + pad(s);
    el.hidden = false;
    el.classList.toggle("expiring", !!schedule.data.expiring || left <= 300);
    el.classList.toggle("expired", left === 0);
    ext.hidden = !schedule.data.extendable || left === 0;
    if (left === 0 && !over && !schedule.zero) {
      schedule.zero = true;
      checkSoon(); // the portal ends the session about now
    }
  }

  function applySchedule(data) {
    schedule = { data: data, at: Date.now() };
    renderCountdown();
    var live = data.status === "RUNNING" || data.status === "STARTING" || data.status === "WAITING";
    if (data.status && !live) { ended({}); }
  }

  // Why a session ended, as the session host tells (web/proxy_ended.go).
  var endReasons = {
    expired: "Its time ran out.",
    finished: "It was finished, from this page or from the site that started it.",
    terminated: "An instructor ended it.",
    failed: "It stopped because of a problem on the server.",
    inactive: "It was stopped because it had not been used for a while."
  };

  // ended shows the full-page "session ended" state, with why (info.reason) and a way
  // back (info.url, else the Finish link, which the portal sends on); nothing polls or
  // reconnects any more.
  function ended(info) {
    if (over) { return; }
    over = true;
    clearTimeout(pollTimer);
    clearTimeout(checkTimer);
    var box = document.getElementById("ended");
    var why = document.getElementById("ended-why");
    var back = document.getElementById("ended-back");
    box.setAttribute("data-reason", info.reason || "unknown");
    why.textContent = endReasons[info.reason] || "It is no longer available.";
    if (typeof info.url === "string" && /^https?:\/\//i.test(info.url)) { back.href = info.url; }
    box.hidden = false;
    document.getElementById("countdown").hidden = true;
    document.getElementById("extend").hidden = true;
    notice("");
    Object.keys(terms).forEach(function (id) {
      var t = terms[id];
      t.state.textContent = "ended";
      if (t.ws) { var ws = t.ws; t.ws = null; ws.close(); }
    });
    back.focus();
  }

  var checkTimer = null;
  // checkSoon asks the schedule again shortly (once for a burst of triggers).
  function checkSoon() {
    if (over || checkTimer) { return; }
    checkTimer = setTimeout(function () { checkTimer = null; poll(); }, 300);
  }

  function poll() {
    clearTimeout(pollTimer);
    if (over) { return; }
    fetch("/session/schedule", { credentials: "same-origin", headers: { "X-Requested-With": "dashboard" } })
      .then(function (r) {
        if (r.status === 410) { return r.json().then(function (d) { ended(d || {}); return null; }, function () { ended({}); return null; }); }
        if (r.status === 404 || r.status === 401) { ended({}); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) { applySchedule(data); } })
      .catch(function () { /* the portal may be restarting: try again */ })
      .then(function () {
        if (over) { return; }
        // Terminals that drop ask at once; without terminals, or near the end, ask often.
        var left = schedule && typeof schedule.data.countdown === "number" ?
          schedule.data.countdown - Math.floor((Date.now() - schedule.at) / 1000) : null;
        var often = !Object.keys(terms).length || (left !== null && left < 120);
        pollTimer = setTimeout(poll, often ? 3000 : 15000);
      });
  }

  document.getElementById("extend").addEventListener("click", function () {
    var btn = this;
    btn.disabled = true;
    post("/session/extend", {})
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (data) {
          applySchedule(data);
          var end = data.expires ? new Date(data.expires) : null;
          if (data.extended === true && end && !isNaN(end)) {
            notice("Extended: the session now ends at " + pad(end.getHours()) + ":" + pad(end.getMinutes()) + ".");
            setTimeout(function () { notice(""); }, 8000);
          }
          if (data.extended === false) { notice("The session could not be extended."); setTimeout(function () { notice(""); }, 5000); }
        }
      })
      .catch(function () {})
      .then(function () { btn.disabled = false; });
  });

  function finish(ev, a) {
    if (a.id === "finish" && !a.classList.contains("confirm")) {
      // The header's Finish asks once more; the last page's button is clear enough.
      ev.preventDefault();
      a.classList.add("confirm");
      a.textContent = "Finish now?";
      setTimeout(function () { a.classList.remove("confirm"); a.textContent = "Finish"; }, 5000);
      return;
    }
    // Workshop/Finish must reach the portal before the portal ends the session: wait for
    // it (briefly). Then ask the dashboard for the exit URL, which carries the token that
    // lets the portal end the session in one click; without it the portal asks first.
    ev.preventDefault();
    var href = a.href;
    var gone = false;
    var leave = function (to) {
      if (gone) { return; }
      gone = true;
      window.top.location.href = to || href;
    };
    var timer = setTimeout(function () { leave(); }, 3000);
    post("/session/event", { name: "Workshop/Finish", data: {} })
      .catch(function () {})
      .then(function () { return post("/session/finish", {}); })
      .then(function (r) { return r.ok ? r.json() : {}; })
      .catch(function () { return {}; })
      .then(function (d) { clearTimeout(timer); leave(d && typeof d.url === "string" ? d.url : ""); });
  }

  // ---- activity ---------------------------------------------------------------------

  var lastPing = 0;
  function interaction() {
    var now = Date.now();
    if (now - lastPing < 15000) { return; }
    lastPing = now;
    post("/session/ping", {}).catch(function () {});
  }
  ["pointerdown", "keydown", "wheel", "touchstart"].forEach(function (name) {
    document.addEventListener(name, interaction, { passive: true, capture: true });
  });
  function heartbeat() {
    if (document.visibilityState === "visible") {
      post("/session/heartbeat", {}).catch(function () {});
    }
  }
  setInterval(heartbeat, 30000);
  document.addEventListener("visibilitychange", heartbeat);

  // ---- layout: divider, hidden instructions, maximised terminal, phone tabs ---------

  var splitKey = "portal.dashboard.split";

  function store(key, value) {
    try { window.localStorage.setItem(key, value); } catch (e) { /* storage refused */ }
  }
  function stored(key) {
    try { return window.localStorage.getItem(key); } catch (e) { return null; }
  }

  function setSplit(pct, save) {
    var layout = document.getElementById("layout");
    var div = document.getElementById("divider");
    if (!layout || !div || !(pct >= 20 && pct <= 80)) { return; }
    pct = Math.round(pct * 10) / 10;
    layout.style.setProperty("--split", pct + "%");
    div.setAttribute("aria-valuenow", String(Math.round(pct)));
    if (save) { store(splitKey, String(pct)); }
    refitAll();
  }

  function refitAll() {
    Object.keys(terms).forEach(function (id) { refit(terms[id]); });
  }

  function setupLayout() {
    var div = document.getElementById("divider");
    var layout = document.getElementById("layout");
    if (div && layout) {
      var saved = parseFloat(stored(splitKey));
      if (saved) { setSplit(saved, false); }
      var drag = function (ev) {
        var r = layout.getBoundingClientRect();
        setSplit(Math.min(80, Math.max(20, (ev.clientX - r.left) / r.width * 100)), false);
      };
      div.addEventListener("pointerdown", function (ev) {
        ev.preventDefault();
        div.setPointerCapture(ev.pointerId);
        div.classList.add("dragging");
        div.addEventListener("pointermove", drag);
      });
      var drop = function (ev) {
        if (!div.classList.contains("dragging")) { return; }
        div.classList.remove("dragging");
        div.removeEventListener("pointermove", drag);
        drag(ev);
        store(splitKey, String(parseFloat(layout.style.getPropertyValue("--split"))));
      };
      div.addEventListener("pointerup", drop);
      div.addEventListener("pointercancel", drop);
      div.addEventListener("keydown", function (ev) {
        var now = Number(div.getAttribute("aria-valuenow"));
        var step = { ArrowLeft: -5, ArrowRight: 5, Home: 20 - now, End: 80 - now }[ev.key];
        if (step === undefined) { return; }
        ev.preventDefault();
        setSplit(Math.min(80, Math.max(20, now + step)), true);
      });
    }
    var toggle = document.getElementById("toggle-instructions");
    if (toggle) {
      toggle.addEventListener("click", function () {
        var hide = !document.body.classList.contains("instructions-hidden");
        document.body.classList.toggle("instructions-hidden", hide);
        toggle.setAttribute("aria-pressed", String(hide));
        toggle.title = hide ? "Show the instructions" : "Hide the instructions";
        refitAll();
      });
    }
    // (xterm.js gives its own element the class "terminal": panes are .terminals > .terminal)
    document.querySelectorAll(".terminals > .terminal .maximize").forEach(function (btn) {
      btn.addEventListener("click", function () {
        var pane = btn.closest(".terminals > .terminal");
        var on = !pane.classList.contains("max");
        document.querySelectorAll(".terminals > .terminal").forEach(function (p) {
          p.classList.remove("max");
          p.querySelector(".maximize").setAttribute("aria-pressed", "false");
        });
        pane.classList.toggle("max", on);
        btn.setAttribute("aria-pressed", String(on));
        document.body.classList.toggle("terminal-max", on);
        refitAll();
      });
    });
    ["instructions", "terminals"].forEach(function (name) {
      var tab = document.getElementById("tab-" + name);
      if (tab) { tab.addEventListener("click", function () { selectTab(name); }); }
    });
  }

  // selectTab shows the Instructions or the Terminals on a phone.
  function selectTab(name) {
    var tabs = document.getElementById("tabs");
    if (!tabs) { return; }
    document.body.classList.toggle("tab-terminals", name === "terminals");
    document.getElementById("tab-instructions").setAttribute("aria-selected", String(name !== "terminals"));
    document.getElementById("tab-terminals").setAttribute("aria-selected", String(name === "terminals"));
    refitAll();
  }

  prepareActions(document);
  setupLayout();
  // The terminals measure their font when they open: wait for the shipped one (briefly).
  var fontReady = document.fonts && document.fonts.load ?
    Promise.race([document.fonts.load('14px "JetBrains Mono"'), new Promise(function (ok) { setTimeout(ok, 2000); })]) :
    Promise.resolve();
  fontReady.catch(function () {}).then(setupTerminals);
  poll();
  setInterval(renderCountdown, 1000);

  // ---- instructor view: a banner while an instructor watches a terminal ------------

  var observed = document.getElementById("observed");
  function observers() {
    fetch("/session/observers", { credentials: "same-origin", cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : { count: 0 }; })
      .then(function (d) { observed.hidden = !(d.count > 0); })
      .catch(function () {});
  }
  if (observed && typeof fetch === "function") {
    observers();
    setInterval(observers, 3000);
  }
})();
