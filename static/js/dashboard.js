/* Refresh the dashboard every 5 seconds from the server-rendered fragment. */
(function () {
  "use strict";
  var box = document.getElementById("dashboard");
  setInterval(function () {
    if (document.hidden) return;
    fetch("/dashboard/?fragment=1", { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html !== null) box.innerHTML = html; }, function () {});
  }, 5000);
})();
