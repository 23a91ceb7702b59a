/* TraceTrack page helpers: API calls with the session's CSRF token, an offline queue that
   replays scans in order (each carries its scan_id, so a replay never double-counts),
   feedback by colour, text, sound and vibration, and a scan input that keeps focus. */
(function () {
  "use strict";

  // The strings of the page in its language (Django's JavaScript catalog, /jsi18n/, loaded
  // first by base.html); English as written when the catalog is missing.
  var gettext = window.gettext || function (s) { return s; };
  function fmt(text, values) {
    return text.replace(/%\((\w+)\)s/g, function (all, name) { return String(values[name]); });
  }

  var MESSAGES = {
    capacity_reached: gettext("Parent is full."),
    already_linked: gettext("Already in another parent"),
    is_parent: gettext("That is a parent bag, not a child bag."),
    is_child: gettext("That is a child bag, not a parent bag."),
    bill_completed: gettext("The bill is completed: nothing can change."),
    area_mismatch: gettext("This bag belongs to another area."),
    nothing_to_undo: gettext("Nothing to undo (only your scans of the last hour)."),
    not_found: gettext("Not found."),
    already_billed: gettext("Already on another bill"),
    bill_full: gettext("The bill is full."),
    rate_limited: gettext("Too fast: wait a moment."),
    permission_denied: gettext("You may not do this."),
    not_authenticated: gettext("Your session ended: log in again."),
    unavailable: gettext("Server unreachable: scans are kept on this phone and sent when it answers again.")
  };

  function uuid() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 15) | 64; b[8] = (b[8] & 63) | 128;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function explain(status, data) {
    if (!data) return fmt(gettext("Unexpected answer (%(status)s)."), { status: status });
    var text = MESSAGES[data.code] || data.detail || gettext("Refused.");
    if (data.code === "already_linked" && data.current_parent) text += " " + data.current_parent + ".";
    if (data.code === "already_billed" && data.current_bill) text += " " + data.current_bill + ".";
    if (data.code === "not_found" || data.code === "invalid") text = data.detail || text;
    return text;
  }

  /* POST JSON (or FormData) to /api/v1/<path>; resolves {status, data}; rejects on network failure. */
  function api(csrf, path, body, method) {
    var isForm = typeof FormData !== "undefined" && body instanceof FormData;
    var headers = { "X-CSRFToken": csrf, "Accept": "application/json" };
    if (!isForm) headers["Content-Type"] = "application/json";
    return fetch("/api/v1/" + path, {
      method: method || "POST", credentials: "same-origin", headers: headers,
      body: body === undefined ? undefined : (isForm ? body : JSON.stringify(body))
    }).then(function (response) {
      return response.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { status: response.status, data: data };
      });
    });
  }

  /* A queue of requests waiting for the network, kept in localStorage so that a reload or a
     dead battery does not lose scans. One queue per signed-in user: scans wait for the
     person who made them, never go out under someone else's login. */
  /* `batch` (optional): {path, kinds: {item path: kind}, limit}: waiting items of those paths
     are sent together, up to `limit` per request, through the batch endpoint, which answers
     each one as its own request would have been answered (API.md, scans/batch). */
  function Queue(name, csrf, onAnswer, onChange, batch) {
    this.key = "tt-queue-" + (document.body.dataset.user || "") + "-" + name;
    this.batch = batch || null;
    this.csrf = csrf;
    this.onAnswer = onAnswer;
    this.onChange = onChange;
    this.busy = false;
    this.stalled = null;  // the last answer that held the queue up (401, 429, 5xx)
    var self = this;
    window.addEventListener("online", function () { self.flush(); });
    setInterval(function () { self.flush(); }, 5000);
  }
  Queue.prototype.items = function () {
    try { return JSON.parse(localStorage.getItem(this.key) || "[]"); } catch (e) { return []; }
  };
  Queue.prototype.save = function (items) {
    localStorage.setItem(this.key, JSON.stringify(items));
    // With what holds the queue up, if anything: a scan kept after a 401 or a 503 must say
    // why at once, not at the next flush up to 5 s later (a browser test met that gap).
    this.onChange(items.length, this.stalled);
  };
  Queue.prototype.push = function (item) {
    var items = this.items();
    items.push(item);
    this.save(items);
  };
  /* Send now, unless earlier scans still wait: order matters (a child after its parent). */
  Queue.prototype.send = function (item) {
    var self = this;
    if (this.items().length || navigator.onLine === false) {
      this.push(item);
      this.flush();
      return Promise.resolve({ queued: true });
    }
    return api(this.csrf, item.path, item.body).then(function (answer) {
      if (answer.status === 401 || answer.status === 429 || answer.status >= 500) {
        // Not this scan's fault (signed out, too fast, server unreachable): keep it, with its
        // scan_id, and send it again later, in order.
        self.stalled = answer;
        self.push(item);
        return { queued: true, signedOut: answer.status === 401, unreachable: answer.status >= 500 };
      }
      return answer;
    }, function () {
      self.push(item);
      return { queued: true };
    });
  };
  Queue.prototype.flush = function () {
    var self = this;
    if (this.busy) return;
    var items = this.items();
    this.onChange(items.length, this.stalled);  // also right after a reload, before any answer
    if (!items.length) return;
    this.busy = true;
    var run = this.batchable(items);
    if (run.length > 1) return this.flushBatch(run);
    api(this.csrf, items[0].path, items[0].body).then(function (answer) {
      if (answer.status === 401 || answer.status === 429 || answer.status >= 500) {
        // Not this scan's fault (session ended, too fast, server trouble): keep it, in
        // order, and try again later; it keeps its scan_id, so it cannot count twice.
        self.busy = false;
        self.stalled = answer;
        self.onChange(self.items().length, answer);
        return;
      }
      self.stalled = null;
      var rest = self.items().slice(1);
      self.save(rest);
      self.busy = false;
      self.onAnswer(items[0], answer, true);
      if (rest.length) self.flush();
    }, function () {
      self.busy = false;  // still offline: try again later
    });
  };

  /* The leading waiting items that can go in one batch. */
  Queue.prototype.batchable = function (items) {
    if (!this.batch) return [];
    var run = [];
    for (var i = 0; i < items.length && run.length < this.batch.limit; i++) {
      if (!this.batch.kinds[items[i].path]) break;
      run.push(items[i]);
    }
    return run;
  };
  Queue.prototype.flushBatch = function (run) {
    var self = this, kinds = this.batch.kinds;
    var body = { items: run.map(function (item) {
      return Object.assign({ kind: kinds[item.path] }, item.body);
    }) };
    api(this.csrf, this.batch.path, body).then(function (answer) {
      var results = answer.status === 200 && answer.data && answer.data.results;
      if (!results || results.length !== run.length) {
        // The whole request was held up (signed out, too fast, server trouble): keep every
        // item, in order, with its scan_id, and try again later.
        self.busy = false;
        self.stalled = answer;
        self.onChange(self.items().length, answer);
        return;
      }
      self.stalled = null;
      var rest = self.items().slice(run.length);
      self.save(rest);
      self.busy = false;
      run.forEach(function (item, i) {
        self.onAnswer(item, { status: results[i].status, data: results[i].body }, true);
      });
      if (rest.length) self.flush();
    }, function () {
      self.busy = false;  // still offline: try again later
    });
  };

  var audio = null;
  function tone(freqs, type, ms) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var t = audio.currentTime;
      freqs.forEach(function (f, i) {
        var osc = audio.createOscillator(), gain = audio.createGain();
        osc.type = type; osc.frequency.value = f;
        gain.gain.value = 0.2;
        osc.connect(gain); gain.connect(audio.destination);
        osc.start(t + i * (ms + 60) / 1000); osc.stop(t + (i * (ms + 60) + ms) / 1000);
      });
    } catch (e) { /* no sound on this device */ }
  }
  var SIGNALS = {
    ok: function () { tone([880], "sine", 120); buzz([60]); },
    dup: function () { tone([660, 660], "sine", 90); buzz([40, 60, 40]); },
    err: function () { tone([220], "square", 450); buzz([300, 100, 300]); },
    info: function () {}
  };
  function buzz(pattern) { if (navigator.vibrate) navigator.vibrate(pattern); }

  function feedback(el, kind, text) {
    el.className = "feedback " + kind;
    el.textContent = text;
    (SIGNALS[kind] || SIGNALS.info)();
  }

  /* Wedge scanners type into whatever has focus: keep it on the code input unless the user
     is working another control. */
  function keepFocus(input) {
    function refocus() {
      var active = document.activeElement;
      if (!active || active === document.body || active.tagName === "BUTTON") input.focus();
    }
    input.addEventListener("blur", function () { setTimeout(refocus, 150); });
    document.addEventListener("click", function () { setTimeout(refocus, 150); });
    input.focus();
  }

  /* The line under the scan input that says how many scans wait, and why: a signed-out
     session gets a link to log in again (and come back here, where they are sent). */
  function showPending(el, n, stalled) {
    el.hidden = n === 0;
    el.textContent = fmt(n === 1 ? gettext("%(n)s scan waits for the network; it will be sent in order.")
                                 : gettext("%(n)s scans wait for the network; they will be sent in order."), { n: n });
    if (!stalled) return;
    if (stalled.status === 401) {
      el.appendChild(document.createTextNode(" " + gettext("Signed out —") + " "));
      el.appendChild(loginLink());
      el.appendChild(document.createTextNode(gettext("; they are kept on this device and sent after the login.")));
    } else if (stalled.status >= 500) {
      el.appendChild(document.createTextNode(" " + gettext("Server unreachable — they are kept on this device and sent when it answers again.")));
    } else {
      el.appendChild(document.createTextNode(" " + explain(stalled.status, stalled.data)));
    }
  }

  function loginLink() {
    var link = document.createElement("a");
    link.href = "/login/?next=" + encodeURIComponent(location.pathname);
    link.className = "login-again";
    link.textContent = gettext("log in again");
    return link;
  }

  /* Wedge scanners (a hardware scanner that types): "Hide keyboard" keeps the phone's
     on-screen keyboard down (inputmode=none) while the input keeps the focus and takes what
     the scanner types. The choice belongs to the device: a cookie (the server renders the
     page with it, so the keyboard does not flash up on load), read again here because the
     offline shell may be older than the choice. */
  var WEDGE_COOKIE = "tt_wedge";
  function wedgeOn() { return new RegExp("(?:^|; )" + WEDGE_COOKIE + "=1(?:;|$)").test(document.cookie); }
  function keyboardToggle(input, button) {
    function apply(wedge) {
      if (wedge) input.setAttribute("inputmode", "none"); else input.removeAttribute("inputmode");
      button.setAttribute("aria-pressed", wedge ? "true" : "false");
    }
    apply(wedgeOn());
    button.addEventListener("click", function () {
      var wedge = !wedgeOn();
      document.cookie = WEDGE_COOKIE + "=" + (wedge ? "1" : "0") + "; path=/; max-age=31536000; SameSite=Lax" +
        (location.protocol === "https:" ? "; Secure" : "");
      apply(wedge);
      input.blur();  // the keyboard follows the new mode at the next focus
      input.focus();
    });
  }

  window.TT = { uuid: uuid, api: api, Queue: Queue, feedback: feedback, keepFocus: keepFocus, explain: explain,
                showPending: showPending, loginLink: loginLink, gettext: gettext, fmt: fmt,
                keyboardToggle: keyboardToggle };
})();
/* Camera scanning: the browser's BarcodeDetector where it exists (Chrome on Android);
   elsewhere a still frame every ~0.8 s goes to /api/v1/scans/decode/ (zxing-cpp on the server). */
(function () {
  "use strict";
  var gettext = window.TT.gettext;
  function Camera(video, canvas, csrf, onCode, onError) {
    this.video = video; this.canvas = canvas; this.csrf = csrf;
    this.onCode = onCode; this.onError = onError;
    this.stream = null; this.timer = null; this.last = "";
  }
  Camera.prototype.running = function () { return !!this.stream; };
  Camera.prototype.start = function () {
    var self = this;
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      this.onError(gettext("This browser cannot use the camera here."));
      return Promise.resolve(false);
    }
    return navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (stream) {
      self.stream = stream;
      self.video.srcObject = stream;
      return self.video.play().then(function () {
        var useDetector = "BarcodeDetector" in window;
        var detector = useDetector ? new window.BarcodeDetector({ formats: ["qr_code"] }) : null;
        self.timer = setInterval(function () {
          if (detector) self.detectInBrowser(detector); else self.detectOnServer();
        }, detector ? 250 : 800);
        return true;
      });
    }, function () {
      self.onError(gettext("The camera is not available (permission refused?)."));
      return false;
    });
  };
  Camera.prototype.stop = function () {
    clearInterval(this.timer); this.timer = null;
    this.last = "";
    if (this.stream) this.stream.getTracks().forEach(function (t) { t.stop(); });
    this.stream = null;
  };
  /* What one frame showed: a code, or "" for none. A code is handed on once when it comes
     into view; it counts again only after another code, or no code at all, was seen in
     between — however long the label stays in view, and however slow the decoding is. */
  Camera.prototype.seen = function (code) {
    if (code === this.last) return;
    this.last = code;
    if (code) this.onCode(code);
  };
  Camera.prototype.detectInBrowser = function (detector) {
    var self = this;
    detector.detect(this.video).then(function (codes) {
      self.seen(codes.length ? codes[0].rawValue : "");
    }, function () {});
  };
  Camera.prototype.detectOnServer = function () {
    var self = this, video = this.video, canvas = this.canvas;
    if (this.pending || !video.videoWidth) return;
    canvas.width = video.videoWidth; canvas.height = video.videoHeight;
    canvas.getContext("2d").drawImage(video, 0, 0);
    this.pending = true;
    canvas.toBlob(function (blob) {
      var form = new FormData();
      form.append("image", blob, "frame.png");
      window.TT.api(self.csrf, "scans/decode/", form).then(function (answer) {
        self.pending = false;
        // 400: the frame holds no readable code. Anything else says nothing about the frame.
        if (answer.status === 200) self.seen(answer.data.codes.length ? answer.data.codes[0] : "");
        else if (answer.status === 400) self.seen("");
      }, function () { self.pending = false; });
    }, "image/png");
  };
  window.TT.Camera = Camera;
})();
