// Live refresh of the dashboard: fetch the server-rendered fragment every few seconds and
// swap it in. No library: one request, one innerHTML swap of HTML the server escaped.
(function () {
  "use strict";
  var box = document.getElementById("live");
  if (!box) { return; }
  var source = box.getAttribute("data-live-src");
  var every = Math.max(1, parseInt(box.getAttribute("data-live-every"), 10) || 5) * 1000;
  function refresh() {
    fetch(source, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (answer) {
        if (answer.status === 303 || answer.redirected) { window.location.reload(); return null; }
        return answer.ok ? answer.text() : null;
      })
      .then(function (html) { if (html !== null && html !== undefined) { box.innerHTML = html; } })
      .catch(function () { /* the next tick tries again */ })
      .then(function () { window.setTimeout(refresh, every); });
  }
  window.setTimeout(refresh, every);
})();
