/* TraceTrack's service worker: the scan page opens, and scans, with no network — from a cold
   start too, once it has been opened online on this phone. Served at /sw.js (scope: the whole
   site) by tracetrack.views.service_worker, which puts one line before this file:
   self.TT_SW = {version, precache: [addresses of what the scan page needs], offline: address}.

   - The scan page (/scan/, /scan/<parent>/): the network first, and its last good answer is
     kept (MAX_PAGES of them). With no network, or a 5xx, the kept copy answers, else the
     shell (/scan/), else the offline page; with no answer in PAGE_TIMEOUT_MS, the kept copy.
   - Same-origin scripts, styles, images, fonts (static files, the JavaScript catalog):
     stale-while-revalidate.
   - Other pages: the network; with none, the offline page.
   - Never kept: /api/, /admin/ and the other paths of NOT_OURS (left to the network
     untouched), the login page and every page but the scan page, anything but a GET, any
     answer but a plain 200.
   - A logout (a POST navigation to …/logout/) drops the kept pages: phones are shared.
     static/js/pwa.js does the same on any page rendered for nobody signed in.
   Caches are named by version; activating a version deletes every other. */
"use strict";

var CONFIG = self.TT_SW;
var PREFIX = "tt-";
var STATIC = PREFIX + "static-" + CONFIG.version;
var PAGES = PREFIX + "pages-" + CONFIG.version;  // pwa.js knows the prefix "tt-pages-"
var SCAN_PAGE = /^\/scan\/([^/]+\/)?$/;
var SHELL = "/scan/";
var NOT_OURS = /^\/(api|api-auth|admin|metrics|health|ready)(\/|$)/;
var LOGOUT = /\/logout\/$/;
var ASSETS = ["script", "style", "image", "font", "manifest"];
var PAGE_TIMEOUT_MS = 6000;
var MAX_PAGES = 10;  // the shell and the last parents' pages

function noop() {}

function keepable(response) {
  return response.status === 200 && response.type === "basic" && !response.redirected;
}

/* The kept copy of a scan page; `orShell`: else the shell, /scan/ (with no network at all, a
   parent's page not kept yet still opens the scanner). */
function keptPage(path, orShell) {
  return caches.open(PAGES).then(function (cache) {
    return cache.match(path, { ignoreVary: true }).then(function (page) {
      return page || (orShell ? cache.match(SHELL, { ignoreVary: true }) : undefined);
    });
  });
}

function offlinePage() {
  return caches.match(CONFIG.offline, { ignoreVary: true }).then(function (page) {
    return page || Response.error();
  });
}

/* The oldest kept parents' pages go first; the shell stays. */
function trimPages() {
  return caches.open(PAGES).then(function (cache) {
    return cache.keys().then(function (requests) {
      var parents = requests.filter(function (r) { return new URL(r.url).pathname !== SHELL; });
      return Promise.all(parents.slice(0, Math.max(0, parents.length - (MAX_PAGES - 1))).map(function (r) {
        return cache.delete(r);
      }));
    });
  });
}

function putPage(path, response) {
  return caches.open(PAGES).then(function (cache) { return cache.put(path, response); }).then(trimPages);
}

/* Fetch a scan page (with the session's cookies) and keep it, if it is a plain 200: a page
   that redirects to the login is not the user's any more. */
function keepPage(path) {
  return fetch(path, { credentials: "same-origin" }).then(function (response) {
    if (keepable(response)) return putPage(path, response);
  });
}

function forgetPages() {
  return caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) { return name.indexOf(PREFIX + "pages-") === 0; })
      .map(function (name) { return caches.delete(name); }));
  });
}

function keepAsset(address) {
  return fetch(address, { credentials: "same-origin" }).then(function (response) {
    if (keepable(response)) return caches.open(STATIC).then(function (cache) { return cache.put(address, response); });
  });
}

function ours(address) {
  var url = new URL(address, self.location.href);
  return url.origin === self.location.origin && !NOT_OURS.test(url.pathname);
}

/* A new version re-fetches the pages the previous one kept, so that they name the new
   static files (the previous ones go with its cache); a page that cannot be fetched now
   (offline, signed out) is not carried over. */
function carryPagesOver() {
  return caches.keys().then(function (names) {
    var old = names.filter(function (name) { return name.indexOf(PREFIX + "pages-") === 0 && name !== PAGES; });
    return Promise.all(old.map(function (name) {
      return caches.open(name).then(function (cache) { return cache.keys(); }).then(function (requests) {
        return Promise.all(requests.map(function (r) { return keepPage(new URL(r.url).pathname).catch(noop); }));
      });
    }));
  });
}

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(STATIC).then(function (cache) {
    return cache.addAll(CONFIG.precache);
  }).then(carryPagesOver).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf(PREFIX) === 0 && name !== STATIC && name !== PAGES;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

/* From pwa.js, on a page this worker did not serve (the first visit): keep that page, if it
   is a scan page (and the shell, /scan/, which the installed app opens), and its files. */
self.addEventListener("message", function (event) {
  var data = event.data || {};
  if (data.type !== "keep") return;
  var work = (data.assets || []).filter(ours).map(keepAsset);
  if (typeof data.page === "string" && SCAN_PAGE.test(data.page)) {
    work.push(keepPage(data.page));
    if (data.page !== SHELL) {
      work.push(caches.open(PAGES).then(function (cache) { return cache.match(SHELL); }).then(function (shell) {
        return shell || keepPage(SHELL);
      }));
    }
  }
  event.waitUntil(Promise.all(work.map(function (job) { return job.catch(noop); })));
});

function scanPage(event, request, path) {
  var network = fetch(request).then(function (response) {
    if (keepable(response)) event.waitUntil(putPage(path, response.clone()).catch(noop));
    return response;
  });
  return new Promise(function (resolve) {
    var answered = false;
    function answer(response) {
      if (!answered && response) { answered = true; resolve(response); }
    }
    function fallBack(response) {
      return keptPage(path, true).then(function (page) { return page || response || offlinePage(); }).then(answer);
    }
    // A slow network: this very page's kept copy, if there is one; else wait for the answer.
    var timer = setTimeout(function () { keptPage(path, false).then(answer); }, PAGE_TIMEOUT_MS);
    network.then(function (response) {
      clearTimeout(timer);
      if (response.status >= 500) fallBack(response); else answer(response);
    }, function () {
      clearTimeout(timer);
      fallBack(null);
    });
  });
}

function otherPage(request) {
  return fetch(request).catch(offlinePage);
}

function asset(event, request) {
  var network = fetch(request).then(function (response) {
    if (keepable(response)) {
      var copy = response.clone();
      event.waitUntil(caches.open(STATIC).then(function (cache) { return cache.put(request, copy); }).catch(noop));
    }
    return response;
  });
  event.waitUntil(network.catch(noop));
  return caches.open(STATIC).then(function (cache) {
    return cache.match(request, { ignoreVary: true });
  }).then(function (kept) { return kept || network; });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.method !== "GET") {
    if (request.mode === "navigate" && LOGOUT.test(url.pathname)) event.waitUntil(forgetPages());
    return;  // the network's, untouched
  }
  if (NOT_OURS.test(url.pathname)) return;
  if (request.mode === "navigate") {
    event.respondWith(SCAN_PAGE.test(url.pathname) ? scanPage(event, request, url.pathname) : otherPage(request));
  } else if (ASSETS.indexOf(request.destination) !== -1 && !(request.cache === "only-if-cached" && request.mode !== "same-origin")) {
    event.respondWith(asset(event, request));
  }
});
