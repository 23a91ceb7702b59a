/* A background import's page: poll its progress every second; reload when it changes state
   (checked, imported, failed), so that the report or the outcome shows. */
(function () {
  "use strict";
  var poll = document.getElementById("job-poll");
  if (!poll) return;
  var status = document.getElementById("job-status").dataset.status;
  function set(id, value) { var el = document.getElementById(id); if (el) el.textContent = value === null || value === undefined ? "–" : value; }
  function tick() {
    fetch(poll.dataset.url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (job) {
        if (!job) return;
        if (job.status !== status) { location.reload(); return; }
        var bar = document.getElementById("job-bar");
        bar.max = Math.max(job.total || 1, 1); bar.value = job.done || 0;
        set("job-done", job.done); set("job-total", job.total); set("job-rate", job.rate); set("job-left", job.seconds_left);
      }, function () {})
      .then(function () { setTimeout(tick, 1000); });
  }
  setTimeout(tick, 1000);
})();
