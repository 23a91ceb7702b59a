/* Refresh the dashboard every 5 seconds from the server-rendered fragment. When the session
   has ended the fragment request is sent to the login page: the dashboard then says so, with
   a link to log in again, and stops refreshing (it used to put the login page inside). */
(function () {
  "use strict";
  var gettext = window.gettext || function (s) { return s; };
  var box = document.getElementById("dashboard");
  var timer = null;

  function signedOut() {
    clearInterval(timer);
    if (document.getElementById("signed-out")) return;
    var banner = document.createElement("p");
    banner.id = "signed-out";
    banner.className = "banner err";
    banner.setAttribute("role", "alert");
    banner.appendChild(document.createTextNode(gettext("Signed out —") + " "));
    var link = document.createElement("a");
    link.href = "/login/?next=" + encodeURIComponent(window.location.pathname);
    link.textContent = gettext("log in again");
    banner.appendChild(link);
    box.parentNode.insertBefore(banner, box);
  }

  timer = setInterval(function () {
    if (document.hidden) return;
    fetch("/dashboard/?fragment=1", { credentials: "same-origin", redirect: "manual" })
      .then(function (r) {
        if (r.type === "opaqueredirect" || r.status === 401 || r.status === 403) { signedOut(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) {
        if (!html) return;
        var scrolled = document.getElementById("recent-box");
        var top = scrolled ? scrolled.scrollTop : 0;  // a refresh keeps the reader's place
        box.innerHTML = html;
        scrolled = document.getElementById("recent-box");
        if (scrolled) scrolled.scrollTop = top;
      }, function () {});
  }, 5000);
})();
