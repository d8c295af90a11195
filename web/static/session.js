// The session page while its session starts: follows the start from the portal's
// progress stream (Server-Sent Events), shows each step and the time spent, and frames
// the dashboard when it is ready, without reloading. Should the stream fail, the page
// reloads itself every second as it does without JavaScript.
"use strict";
(function () {
  var card = document.querySelector("main[data-stream]");
  if (!card || typeof EventSource !== "function") {
    setTimeout(function () { location.reload(); }, 1000);
    return;
  }
  var order = ["waiting", "starting", "ready"];
  var elapsedEl = card.querySelector("[data-elapsed]");
  var bar = card.querySelector("progress");
  var alertEl = card.querySelector("[role=alert]");
  var startedAt = Date.now() - 1000 * Number(elapsedEl ? elapsedEl.textContent : 0);
  var timer = setInterval(tick, 1000);
  var es = new EventSource(card.getAttribute("data-stream"));

  function tick() {
    var s = Math.max(0, Math.floor((Date.now() - startedAt) / 1000));
    if (elapsedEl) { elapsedEl.textContent = String(s); }
    if (bar) { bar.value = Math.min(s, bar.max); }
  }
  function show(step) {
    var at = order.indexOf(step);
    var items = card.querySelectorAll("li[data-step]");
    for (var i = 0; i < items.length; i++) {
      var k = order.indexOf(items[i].getAttribute("data-step"));
      items[i].className = k < at ? "done" : k === at ? "now" : "";
    }
    card.setAttribute("data-step-now", step);
  }
  function finish() {
    es.close();
    clearInterval(timer);
  }
  function reload() { location.replace(card.getAttribute("data-session")); }

  es.addEventListener("progress", function (e) {
    var p = JSON.parse(e.data);
    startedAt = Date.now() - 1000 * p.elapsed;
    tick();
    show(p.step);
  });
  es.addEventListener("ready", function (e) {
    var r = JSON.parse(e.data);
    finish();
    show("ready");
    if (!r.frame) { reload(); return; }
    var frame = document.createElement("iframe");
    frame.src = r.frame;
    frame.title = document.title;
    frame.allow = "clipboard-read; clipboard-write";
    document.body.replaceChildren(frame);
  });
  es.addEventListener("failed", function (e) {
    var x = JSON.parse(e.data);
    finish();
    if (x.reason === "timeout") { reload(); return; }
    alertEl.textContent = x.message;
    alertEl.hidden = false;
    card.setAttribute("data-step-now", "failed");
  });
  es.onerror = function () {
    // The stream itself failed: reload every second, as without it.
    finish();
    setTimeout(reload, 1000);
  };
  es.addEventListener("end", function () { finish(); reload(); });
})();
