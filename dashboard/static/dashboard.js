// The workshop dashboard's script: terminals (xterm.js over WebSockets), clickable actions
// in the instructions, page navigation without reloading the terminals, the countdown,
// and activity reports. No framework; it must never log an error to the console.
(function () {
  "use strict";

  var terms = {}; // terminal id → {term, fit, ws, screen, state}
  var encoder = new TextEncoder();

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

  function setupTerminals() {
    var panes = document.querySelectorAll(".terminal");
    if (!panes.length) { return; }
    var ready = typeof window.Terminal === "function" && window.FitAddon && window.FitAddon.FitAddon;
    panes.forEach(function (pane) {
      var id = pane.getAttribute("data-terminal");
      var screen = pane.querySelector(".terminal-screen");
      var state = pane.querySelector(".terminal-state");
      if (!ready) {
        if (!screen.querySelector(".terminal-missing")) {
          var p = document.createElement("p");
          p.className = "terminal-missing";
          p.textContent = "Terminal assets not built: run make assets.";
          screen.appendChild(p);
        }
        return;
      }
      var term = new window.Terminal({
        cursorBlink: true, fontSize: 14, scrollback: 5000,
        fontFamily: "ui-monospace, SFMono-Regular, Menlo, Consolas, monospace",
        theme: { background: "#1e1e1e" }
      });
      var fit = new window.FitAddon.FitAddon();
      term.loadAddon(fit);
      term.open(screen);
      var t = { id: id, term: term, fit: fit, ws: null, screen: screen, state: state, delay: 500 };
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
        new ResizeObserver(function () { refit(t); }).observe(screen);
      }
    });
    window.addEventListener("resize", function () {
      Object.keys(terms).forEach(function (id) { refit(terms[id]); });
    });
  }

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
      if (t.ws !== ws) { return; }
      t.ws = null;
      t.state.textContent = "reconnecting…";
      t.screen.parentNode.classList.add("disconnected");
      setTimeout(function () { connect(t); }, t.delay);
      t.delay = Math.min(t.delay * 2, 10000);
    };
  }

  function focusTerminal(id) {
    var t = terms[id];
    if (t) { t.term.focus(); }
    var pane = document.getElementById("terminal-" + id);
    if (pane) {
      pane.classList.add("flash");
      setTimeout(function () { pane.classList.remove("flash"); }, 600);
    }
  }

  // ---- clickable actions ------------------------------------------------------------

  function prepareActions(root) {
    root.querySelectorAll("pre.action").forEach(function (el) {
      el.setAttribute("tabindex", "0");
      el.setAttribute("role", "button");
    });
    root.querySelectorAll(".page-body a[href]").forEach(function (a) {
      if (/^https?:\/\//i.test(a.getAttribute("href"))) {
        a.target = "_blank";
        a.rel = "noopener noreferrer";
      }
    });
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

  function runAction(el) {
    var kind = el.getAttribute("data-action");
    var target = el.getAttribute("data-terminal") || "1";
    var code = el.querySelector("code");
    var text = code ? code.textContent : "";
    var page = document.getElementById("instructions");
    sendEvent("Action/Event", {
      event_name: kind, current_page: page.getAttribute("data-page"),
      page_number: Number(page.getAttribute("data-number")), pages_total: Number(page.getAttribute("data-total"))
    });
    switch (kind) {
      case "execute":
      case "input":
      case "interrupt":
        post("/terminal/" + target + "/input", {
          text: kind === "interrupt" ? "<ctrl-c>" : text,
          enter: kind !== "interrupt" && el.getAttribute("data-enter") !== "false",
          clear: el.getAttribute("data-clear") === "true"
        }).then(function (r) {
          feedback(el, r.ok ? (kind === "interrupt" ? "Interrupted" : "Sent") : "No such terminal", r.ok);
        }, function () { feedback(el, "Not sent", false); });
        focusTerminal(target === "all" ? "1" : target);
        break;
      case "clear":
        post("/terminal/" + target + "/clear", {}).then(function (r) {
          feedback(el, r.ok ? "Cleared" : "No such terminal", r.ok);
        }, function () { feedback(el, "Not cleared", false); });
        break;
      case "copy":
      case "copy-and-edit":
        copyText(text).then(function (ok) {
          feedback(el, ok ? (kind === "copy" ? "Copied" : "Copied: edit it before use") : "Select the text and copy it", ok);
        });
        break;
      case "open-url":
        window.open(text, "_blank", "noopener");
        feedback(el, "Opened", true);
        break;
    }
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest && ev.target.closest("pre.action");
    if (el) { ev.preventDefault(); runAction(el); return; }
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
    var el = ev.target.closest && ev.target.closest("pre.action");
    if (el) { ev.preventDefault(); runAction(el); }
  });

  // ---- page navigation without reloading the terminals ------------------------------

  function isPage(a) {
    return a.origin === location.origin && a.pathname.indexOf("/workshop/content/") === 0 &&
      !/\.[A-Za-z0-9]+$/.test(a.pathname.replace(/\.md$/, ""));
  }

  function showPage(url, push) {
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
        cur.replaceWith(document.importNode(fresh, true));
        document.title = doc.title;
        if (push) { history.pushState({}, "", url); }
        var now = document.getElementById("instructions");
        prepareActions(now);
        now.scrollTop = 0;
        window.scrollTo(0, 0);
      })
      .catch(function () { location.href = url; });
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
    ext.hidden = !schedule.data.extendable;
  }

  function applySchedule(data) {
    schedule = { data: data, at: Date.now() };
    renderCountdown();
    var live = data.status === "RUNNING" || data.status === "STARTING" || data.status === "WAITING";
    if (data.status && !live) { ended(); }
  }

  function ended() {
    var fin = document.getElementById("finish");
    notice('This session has ended. <a target="_top" href="' + fin.getAttribute("href").replace(/"/g, "&quot;") + '">Leave the workshop</a>');
    clearTimeout(pollTimer);
  }

  function poll() {
    clearTimeout(pollTimer);
    fetch("/session/schedule", { credentials: "same-origin", headers: { "X-Requested-With": "dashboard" } })
      .then(function (r) {
        if (r.status === 404 || r.status === 401) { ended(); return null; }
        return r.ok ? r.json() : null;
      })
      .then(function (data) { if (data) { applySchedule(data); } })
      .catch(function () { /* the portal may be restarting: try again */ })
      .then(function () {
        var soon = schedule && typeof schedule.data.countdown === "number" && schedule.data.countdown < 600;
        pollTimer = setTimeout(poll, soon ? 10000 : 30000);
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

  prepareActions(document);
  setupTerminals();
  poll();
  setInterval(renderCountdown, 1000);
})();
