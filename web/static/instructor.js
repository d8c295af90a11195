// The class grid of the instructor view: follows the portal's grid stream (Server-Sent
// Events) and redraws the table at each grid event, without reloading. Time left and
// last activity count on between events. Everything is written as text, never as markup.
"use strict";
(function () {
  var table = document.getElementById("grid");
  if (!table || typeof EventSource !== "function") { return; }
  var body = table.tBodies[0];
  var status = document.getElementById("grid-status");
  var grid = null;
  var skew = 0; // server time minus browser time, in ms

  function cell(tr, text, cls) {
    var td = document.createElement("td");
    td.textContent = text;
    if (cls) { td.className = cls; }
    tr.appendChild(td);
    return td;
  }
  function now() { return Date.now() + skew; }
  function left(expires) {
    if (!expires) { return "no expiry"; }
    var s = Math.floor((Date.parse(expires) - now()) / 1000);
    if (s <= 0) { return "expired"; }
    var h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60, sec = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return h > 0 ? h + "h " + pad(m) + "m" : m + "m " + pad(sec) + "s";
  }
  function ago(t) {
    if (!t) { return "—"; }
    var s = Math.max(0, Math.floor((now() - Date.parse(t)) / 1000));
    if (s < 60) { return s + "s ago"; }
    if (s < 3600) { return Math.floor(s / 60) + "m ago"; }
    return Math.floor(s / 3600) + "h ago";
  }
  function examiner(results) {
    var names = Object.keys(results || {}).sort();
    if (!names.length) { return "—"; }
    var passed = names.filter(function (n) { return results[n]; });
    return passed.length + "/" + names.length + " passed: " +
      names.map(function (n) { return (results[n] ? "✓ " : "✗ ") + n; }).join(", ");
  }
  function draw() {
    while (body.firstChild) { body.removeChild(body.firstChild); }
    if (!grid.learners.length) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      cell(tr, "No learner has a session yet.").colSpan = 8;
      body.appendChild(tr);
      return;
    }
    grid.learners.forEach(function (l) {
      var tr = document.createElement("tr");
      tr.id = "learner-" + l.session;
      cell(tr, l.name || l.user);
      cell(tr, l.session);
      cell(tr, l.page ? l.page + (l.page_number ? " (" + l.page_number + ")" : "") : "—", "page");
      cell(tr, l.pages_total ? l.furthest + " / " + l.pages_total : "—", "progress");
      cell(tr, ago(l.last_active), "active").setAttribute("data-time", l.last_active || "");
      cell(tr, examiner(l.examiner), "examiner");
      cell(tr, l.state === "running" ? left(l.expires) : l.state, "left").setAttribute("data-time", l.expires || "");
      var term = cell(tr, "", "terminal");
      if (l.observable && l.mirror) {
        var a = document.createElement("a");
        a.href = l.mirror;
        a.className = "button small secondary watch";
        a.textContent = "Watch terminal";
        term.appendChild(a);
      }
      body.appendChild(tr);
    });
  }
  function tick() {
    if (!grid) { return; }
    var rows = body.querySelectorAll("tr[id^=learner-]");
    for (var i = 0; i < rows.length; i++) {
      var l = grid.learners[i];
      if (!l) { break; }
      rows[i].querySelector(".active").textContent = ago(l.last_active);
      if (l.state === "running") { rows[i].querySelector(".left").textContent = left(l.expires); }
    }
  }
  var es = new EventSource(table.getAttribute("data-source"));
  es.addEventListener("grid", function (e) {
    grid = JSON.parse(e.data);
    skew = Date.parse(grid.time) - Date.now();
    draw();
    table.setAttribute("data-updated", grid.time);
    if (status) { status.textContent = "Live."; }
  });
  es.onerror = function () {
    if (status) { status.textContent = "Reconnecting…"; }
  };
  setInterval(tick, 1000);
})();
