/* The installable app: registers the service worker (static/js/sw.js, served at /sw.js) and,
   on a page it did not serve (the first visit, before it controls the page), tells it which
   page and files to keep, so that the scan page opens offline from then on. On a page
   rendered for nobody signed in (the login page a logout lands on, or after the session
   ended) the kept pages are dropped: phones are shared, and they showed someone's work. */
(function () {
  "use strict";
  var signedIn = !!document.body.dataset.user;
  if (!signedIn && window.caches) {
    caches.keys().then(function (names) {
      names.forEach(function (name) { if (name.indexOf("tt-pages-") === 0) caches.delete(name); });
    }, function () {});
  }
  if (!("serviceWorker" in navigator)) return;  // an old browser, or plain HTTP: pages work as before
  var page = location.pathname;
  var servedByWorker = !!navigator.serviceWorker.controller;

  function files() {
    var found = [];
    var elements = document.querySelectorAll("script[src], link[rel=stylesheet][href], link[rel~=icon][href]");
    Array.prototype.forEach.call(elements, function (el) { found.push(el.src || el.href); });
    return found;
  }

  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(function () {
    return navigator.serviceWorker.ready;
  }).then(function (registration) {
    if (!servedByWorker && signedIn && registration.active) {
      registration.active.postMessage({ type: "keep", page: page, assets: files() });
    }
  }).catch(function () { /* no offline use on this browser: the pages work as before */ });
})();
