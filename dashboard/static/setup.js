// The banner of failed workshop setup scripts: while their outcome is pending, the page
// asks the dashboard for it until it is known.
(function () {
  "use strict";
  var banner = document.getElementById("setup-failed");
  if (!banner || banner.dataset.pending !== "true") { return; }

  function show(failed) {
    banner.textContent = "";
    failed.forEach(function (f) {
      var p = document.createElement("p");
      p.append("The workshop's setup script ");
      var code = document.createElement("code");
      code.textContent = f.script;
      p.append(code, " failed (" + f.error + "); the session may not work as the instructions expect. The end of its output:");
      var pre = document.createElement("pre");
      pre.textContent = f.tail;
      banner.append(p, pre);
    });
    banner.hidden = false;
  }

  function ask() {
    fetch("/session/setup", { credentials: "same-origin", headers: { "X-Requested-With": "dashboard" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (st) {
        if (st && st.done) {
          delete banner.dataset.pending;
          if (st.failed && st.failed.length) { show(st.failed); }
          return;
        }
        setTimeout(ask, 2000);
      }, function () { setTimeout(ask, 5000); });
  }
  ask();
})();
