/* Prefix suggestions while typing, from GET /api/v1/bags/?search=. */
(function () {
  "use strict";
  var input = document.getElementById("q"), list = document.getElementById("suggest"), timer = null;
  input.addEventListener("input", function () {
    clearTimeout(timer);
    var prefix = input.value.trim().toUpperCase();
    if (prefix.length < 3) return;
    timer = setTimeout(function () {
      fetch("/api/v1/bags/?page_size=10&search=" + encodeURIComponent(prefix), { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : { results: [] }; })
        .then(function (page) {
          list.innerHTML = "";
          page.results.forEach(function (bag) {
            var option = document.createElement("option");
            option.value = bag.qr_id;
            list.appendChild(option);
          });
        }, function () {});
    }, 200);
  });
})();
