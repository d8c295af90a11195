// The instructor view's terminal mirror: follows the portal's stream of a learner's
// terminal output (Server-Sent Events, base64 bytes) and shows it as text. Escape
// sequences (colours, cursor moves) are dropped; carriage returns and backspaces are
// applied to the last line. There is no way back: keys typed here go nowhere.
"use strict";
(function () {
  var pre = document.getElementById("mirror");
  if (!pre || typeof EventSource !== "function") { return; }
  var status = document.getElementById("mirror-status");
  var decoder = new TextDecoder("utf-8");
  var text = "";
  var limit = 200000;
  // CSI and OSC sequences, and other two-character escapes.
  var escapes = /\x1b\[[0-?]*[ -\/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|[\x00-\x07\x0b\x0c\x0e-\x1f\x7f]/g;

  function apply(chunk) {
    chunk = chunk.replace(/\r\n/g, "\n");
    for (var i = 0; i < chunk.length; i++) {
      var ch = chunk[i];
      if (ch === "\r") {
        text = text.slice(0, text.lastIndexOf("\n") + 1);
      } else if (ch === "\b") {
        if (text.length && text[text.length - 1] !== "\n") { text = text.slice(0, -1); }
      } else {
        text += ch;
      }
    }
    if (text.length > limit) { text = text.slice(text.length - limit); }
  }
  var es = new EventSource(pre.getAttribute("data-source"));
  es.addEventListener("output", function (e) {
    var bin = atob(e.data);
    var bytes = new Uint8Array(bin.length);
    for (var i = 0; i < bin.length; i++) { bytes[i] = bin.charCodeAt(i); }
    apply(decoder.decode(bytes, { stream: true }).replace(escapes, ""));
    var atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
    pre.textContent = text;
    if (atEnd) { pre.scrollTop = pre.scrollHeight; }
    if (status) { status.textContent = "Live."; }
  });
  es.addEventListener("end", function () {
    es.close();
    if (status) { status.textContent = "The terminal closed."; }
  });
  es.onerror = function () {
    if (status) { status.textContent = "Reconnecting…"; }
  };
})();
