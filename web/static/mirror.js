// The instructor view's terminal mirror: follows the portal's stream of a learner's
// terminal output (Server-Sent Events, base64 bytes) into an xterm.js terminal, so that
// colours, cursor moves and full-screen programs show as in the learner's terminal. The
// terminal takes no input (disableStdin, no data handler): keys typed here go nowhere.
"use strict";
(function () {
  var box = document.getElementById("mirror");
  if (!box || typeof EventSource !== "function") { return; }
  var status = document.getElementById("mirror-status");
  function say(text) { if (status) { status.textContent = text; } }
  if (typeof window.Terminal !== "function") {
    say("The terminal library is not built (make assets).");
    return;
  }
  var term = new window.Terminal({
    disableStdin: true, cursorBlink: false, fontSize: 14, lineHeight: 1.2, scrollback: 5000,
    fontFamily: 'ui-monospace, SFMono-Regular, Menlo, Consolas, monospace',
    minimumContrastRatio: 1,
    theme: {
      "background": "#1e1e1e", "foreground": "#d4d4d4", "cursor": "#f0f0f0", "cursorAccent": "#1e1e1e",
      "selectionBackground": "#264f78", "selectionForeground": "#ffffff",
      "black": "#000000", "red": "#f47067", "green": "#57ab5a", "yellow": "#c69026",
      "blue": "#6cb6ff", "magenta": "#dcbdfb", "cyan": "#56d4dd", "white": "#d4d4d4",
      "brightBlack": "#8b949e", "brightRed": "#ff938a", "brightGreen": "#6bc46d", "brightYellow": "#daaa3f",
      "brightBlue": "#96d0ff", "brightMagenta": "#eedcff", "brightCyan": "#b3f0ff", "brightWhite": "#ffffff"
    }
  });
  var fit = window.FitAddon ? new window.FitAddon.FitAddon() : null;
  if (fit) { term.loadAddon(fit); }
  term.open(box);

  // xterm.js puts its colours and cell sizes in <style> elements, which the page's
  // Content-Security-Policy (style-src 'self') does not apply; their rules are copied into
  // a constructed style sheet, which it does, and again whenever xterm.js rewrites them.
  var sheet = null;
  function adopt() {
    var css = "";
    box.querySelectorAll("style").forEach(function (el) { css += el.textContent + "\n"; });
    if (!sheet) {
      sheet = new CSSStyleSheet();
      document.adoptedStyleSheets = document.adoptedStyleSheets.concat([sheet]);
    }
    sheet.replaceSync(css);
  }
  if (typeof CSSStyleSheet === "function" && "adoptedStyleSheets" in document) {
    var styles = new MutationObserver(adopt);
    box.querySelectorAll("style").forEach(function (el) {
      styles.observe(el, { childList: true, characterData: true, subtree: true });
    });
    adopt();
  }
  function refit() { if (fit) { try { fit.fit(); } catch (e) { /* not laid out yet */ } } }
  refit();
  if (window.ResizeObserver) { new ResizeObserver(refit).observe(box); }

  var es = new EventSource(box.getAttribute("data-source"));
  // Each (re)connection replays the scrollback from the start.
  es.onopen = function () { term.reset(); };
  es.addEventListener("output", function (e) {
    var bin = atob(e.data);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    term.write(bytes);
    say("Live.");
  });
  es.addEventListener("end", function () {
    es.close();
    say("The terminal closed.");
  });
  es.onerror = function () { say("Reconnecting…"); };
})();
