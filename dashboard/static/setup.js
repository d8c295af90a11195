// The banner of failed workshop setup scripts: while their outcome is pending, the page
// asks the dashboard for it until it is known.
(function () {
  "use strict";
  var banner = document.getElementById("setup-failed");
  if (!banner) { return; }

  // toEnd scrolls each script's output to its end, where its error usually is.
  function toEnd() {
    banner.querySelectorAll("pre").forEach(function (pre) { pre.scrollTop = pre.scrollHeight; });
  }
  if (banner.dataset.pending !== "true") { toEnd(); return; }

  function show(failed) {
    banner.textContent = "";
    failed.forEach(function (f) {
      var p = document.createElement("p");
      p.append("The workshop's setup script ");
      var code = document.createElement("code");
      code.textContent = f.script;
      p.append(code, " failed (" + f.error + "); the session may not work as the instructions expect. The end of its output:");
      var pre = document.createElement("pre");
      pre.tabIndex = 0; // it may scroll
      pre.textContent = f.tail;
      banner.append(p, pre);
    });
    banner.hidden = false;
    toEnd();
  }

  function ask() {
    fetch("/session/setup", { credentials: "same-origin", headers: { "X-Requested-With": "dashboard" } })
      // Any answer but 200 (the session ended, say) ends the asking.
      .then(function (r) { return r.ok ? r.json() : { done: true }; })
      .then(function (st) {
        if (st.done) {
          delete banner.dataset.pending;
          if (st.failed && st.failed.length) { show(st.failed); }
          return;
        }
        setTimeout(ask, 2000);
      }, function () { setTimeout(ask, 5000); });
  }
  ask();
})();
