// Counts down every element with a data-expires time (RFC 3339) once a second.
"use strict";
(function () {
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  function show(ms) {
    if (ms <= 0) { return "expired"; }
    var s = Math.floor(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s / 60) % 60;
    return h > 0 ? h + "h " + pad(m) + "m" : m + "m " + pad(s % 60) + "s";
  }
  function tick() {
    var els = document.querySelectorAll("[data-expires]");
    for (var i = 0; i < els.length; i++) {
      var t = Date.parse(els[i].getAttribute("data-expires"));
      if (!isNaN(t)) { els[i].textContent = show(t - Date.now()); }
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-expires]")) { tick(); setInterval(tick, 1000); }
  });
})();
