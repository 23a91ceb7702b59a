/* The scan page: a parent, then its children. A wedge scanner types a code and Enter; the
   camera does the same through TT.Camera. Scanning a parent code at any time moves on to
   that parent, so a full shift needs nothing but the scanner. */
(function () {
  "use strict";
  var gettext = window.TT.gettext, fmt = window.TT.fmt;
  var root = document.getElementById("scanner");
  var input = document.getElementById("code");
  var feedbackEl = document.getElementById("feedback");
  var countEl = document.getElementById("count");
  var barEl = document.getElementById("bar-fill");
  var listEl = document.getElementById("children");
  var titleEl = document.getElementById("title");
  var labelEl = document.getElementById("code-label");
  var pendingEl = document.getElementById("pending");
  var undoButton = document.getElementById("undo");
  var cameraButton = document.getElementById("camera");
  var csrf = root.dataset.csrf;
  var capacity = parseInt(root.dataset.capacity, 10);
  var parentPattern = new RegExp(root.dataset.parentPattern);
  var state = { parent: root.dataset.parent || "", count: root.dataset.parent ? parseInt(root.dataset.count, 10) : null };

  function say(kind, text) { window.TT.feedback(feedbackEl, kind, text); }

  function showCount() {
    // No parent yet: a dash, as the server renders it; a parent whose count is not known yet
    // (scanned offline): a question mark until the server answers.
    countEl.textContent = state.count === null ? (state.parent ? "?" : "–") : String(state.count);
    barEl.style.width = state.count === null ? "0%" : Math.min(100, Math.round(100 * state.count / capacity)) + "%";
    root.classList.toggle("full", state.count === capacity);
  }

  function setParent(code, count, children) {
    state.parent = code;
    state.count = count;
    titleEl.innerHTML = "";
    titleEl.appendChild(document.createTextNode(gettext("Parent") + " "));
    var span = document.createElement("span");
    span.id = "parent-code";
    span.textContent = code;
    titleEl.appendChild(span);
    labelEl.textContent = gettext("Scan a child bag (or the next parent)");
    undoButton.disabled = false;
    listEl.innerHTML = "";
    // `children` come in the order they were linked (the API's); each goes on top, so the
    // newest ends up first, as a scan adds it, and the list's numbers sit on the right bags.
    (children || []).forEach(function (c) { addChild(c, false); });
    showCount();
    if (window.history && history.replaceState) history.replaceState(null, "", "/scan/" + encodeURIComponent(code) + "/");
  }

  function addChild(code, pending) {
    var li = document.createElement("li");
    li.textContent = code;
    li.dataset.code = code;
    if (pending) { li.className = "pending"; li.title = gettext("waiting for the network"); }
    listEl.insertBefore(li, listEl.firstChild);
  }

  function removeChild(code) {
    var items = listEl.querySelectorAll("li");
    for (var i = 0; i < items.length; i++) {
      if (items[i].textContent === code) { items[i].parentNode.removeChild(items[i]); return; }
    }
  }

  /* A GET with the session; its JSON, or null (an error, no network, a login page instead). */
  function getJSON(path) {
    return fetch(path, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok && /json/.test(r.headers.get("Content-Type") || "") ? r.json() : null; })
      .catch(function () { return null; });
  }

  function loadChildren(code) {
    getJSON("/api/v1/bags/" + encodeURIComponent(code) + "/").then(function (bag) {
      if (bag && state.parent === code) setParent(code, bag.child_count, bag.children || []);
    });
  }

  /* "My scans today": one more for each answer that made a scan (a duplicate child makes none). */
  var myTodayEl = document.getElementById("my-today-count");
  function countMine(data) {
    if (myTodayEl && data && data.scan && !data.duplicate) myTodayEl.textContent = String(parseInt(myTodayEl.textContent, 10) + 1);
  }

  /* A parent on a bill may be frozen (its bill completed): then its children cannot change,
     and the page says so in red instead of "scan its children". */
  function warnIfFrozen(code) {
    getJSON("/scan/" + encodeURIComponent(code) + "/state/").then(function (s) {
      if (s && s.frozen && state.parent === code) {
        say("err", fmt(gettext("Parent %(code)s is on %(bill)s: its children cannot change. Scan another parent."),
                       { code: code, bill: s.frozen_by }));
      }
    });
  }

  /* What an answer means for the page; `replayed` answers come from the offline queue. */
  function onAnswer(item, answer, replayed) {
    var body = item.body, status = answer.status, data = answer.data || {};
    if (status === 200 || status === 201) countMine(data);
    if (item.path === "scans/parent/") {
      if (status === 200 || status === 201) {
        if (state.parent === body.qr_id) { state.count = data.bag.child_count; showCount(); }
        if (!replayed) {
          setParent(body.qr_id, data.bag.child_count, []);
          if (data.bag.child_count) loadChildren(body.qr_id);
          if (data.bag.bill) warnIfFrozen(body.qr_id);
          say("ok", fmt(status === 201 ? gettext("New parent %(code)s: scan its children.")
                                             : gettext("Parent %(code)s: scan its children."), { code: body.qr_id }));
        }
      } else {
        say("err", body.qr_id + ": " + window.TT.explain(status, data));
      }
      return;
    }
    if (status === 201 || (status === 200 && data.duplicate)) {
      if (state.parent === body.parent) {
        state.count = data.parent.child_count;
        showCount();
        var pendingItem = listEl.querySelector('li.pending[data-code="' + body.qr_id + '"]');
        if (pendingItem && status === 200) pendingItem.parentNode.removeChild(pendingItem);
        else if (pendingItem) pendingItem.className = "";
        else if (status === 201) addChild(body.qr_id, false);
      }
      if (replayed) return;
      if (status === 200) say("dup", fmt(gettext("%(code)s is already in this parent."), { code: body.qr_id }));
      else if (state.count === capacity) say("ok", fmt(gettext("%(code)s added: parent %(parent)s is full (%(capacity)s). Scan the next parent."),
                                                     { code: body.qr_id, parent: body.parent, capacity: capacity }));
      else say("ok", fmt(gettext("%(code)s added: %(count)s / %(capacity)s"), { code: body.qr_id, count: state.count, capacity: capacity }));
    } else {
      if (replayed) removeChild(body.qr_id);
      say("err", body.qr_id + ": " + window.TT.explain(status, data));
    }
  }

  var waiting = 0;
  var queue = new window.TT.Queue("scans", csrf, onAnswer, function (n, refusal) {
    // Once everything queued is through, take the parent's state from the server, and the
    // "No network…" line gives way to saying the saved scans went.
    if (waiting > 0 && n === 0) {
      if (state.parent) loadChildren(state.parent);
      if (!refusal && feedbackEl.classList.contains("info")) say("ok", gettext("Back online: the saved scans were sent."));
    }
    waiting = n;
    window.TT.showPending(pendingEl, n, refusal);
  }, { path: "scans/batch/", kinds: { "scans/parent/": "parent", "scans/child/": "child" }, limit: 30 });

  function submit(path, body) {
    var item = { path: path, body: body };
    return queue.send(item).then(function (answer) {
      if (answer.queued) {
        if (path === "scans/parent/") {
          if (state.parent !== body.qr_id) setParent(body.qr_id, null, []);
        } else {
          addChild(body.qr_id, true);
          if (state.count !== null) { state.count += 1; showCount(); }
        }
        if (answer.signedOut) {
          say("err", fmt(gettext("Signed out — %(code)s is kept on this phone and sent after you"), { code: body.qr_id }) + " ");
          feedbackEl.appendChild(window.TT.loginLink());
          feedbackEl.appendChild(document.createTextNode("."));
        } else if (answer.unreachable) {
          say("info", fmt(gettext("Server unreachable: %(code)s saved on this phone and will be sent."), { code: body.qr_id }));
        } else {
          say("info", fmt(gettext("No network: %(code)s saved on this phone and will be sent."), { code: body.qr_id }));
        }
        return;
      }
      onAnswer(item, answer, false);
    });
  }

  function handle(raw) {
    var code = String(raw || "").trim().toUpperCase();
    if (!code) return;
    if (parentPattern.test(code)) {
      submit("scans/parent/", { qr_id: code, scan_id: window.TT.uuid() });
    } else if (!state.parent) {
      say("err", fmt(gettext("%(code)s is not a parent bag code. Scan the parent first."), { code: code }));
    } else {
      submit("scans/child/", { parent: state.parent, qr_id: code, scan_id: window.TT.uuid() });
    }
  }

  document.getElementById("scan-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = input.value;
    input.value = "";
    handle(value);
    input.focus();
  });

  undoButton.addEventListener("click", function () {
    if (!state.parent) return;
    if (queue.items().length || navigator.onLine === false) {
      say("err", gettext("Undo needs the network (and no scans waiting)."));
      return;
    }
    window.TT.api(csrf, "scans/undo/", { parent: state.parent }).then(function (answer) {
      if (answer.status === 200) {
        removeChild(answer.data.removed);
        state.count = answer.data.parent.child_count;
        showCount();
        say("dup", fmt(gettext("Removed %(code)s: %(count)s / %(capacity)s"), { code: answer.data.removed, count: state.count, capacity: capacity }));
      } else {
        say("err", window.TT.explain(answer.status, answer.data));
      }
    }, function () { say("err", gettext("Undo needs the network.")); });
  });

  var camera = new window.TT.Camera(document.getElementById("video"), document.getElementById("canvas"), csrf,
    handle, function (message) { say("err", message); });
  cameraButton.addEventListener("click", function () {
    var box = document.getElementById("camera-box");
    if (camera.running()) {
      camera.stop(); box.hidden = true; cameraButton.setAttribute("aria-pressed", "false");
    } else {
      box.hidden = false;
      camera.start().then(function (ok) {
        cameraButton.setAttribute("aria-pressed", ok ? "true" : "false");
        if (!ok) box.hidden = true;
      });
    }
  });

  window.TT.keyboardToggle(input, document.getElementById("keyboard"));
  window.TT.keepFocus(input);
  showCount();
  queue.flush();
})();
