/* The bill page: scan parent bags onto the bill (wedge scanner or camera), through
   POST /api/v1/bills/<id>/parents/ with a scan_id, queued while offline. */
(function () {
  "use strict";
  var gettext = window.TT.gettext, fmt = window.TT.fmt;
  var root = document.getElementById("bill");
  var input = document.getElementById("code");
  var feedbackEl = document.getElementById("feedback");
  var pendingEl = document.getElementById("pending");
  var csrf = root.dataset.csrf, billId = root.dataset.bill;
  var capacity = parseInt(root.dataset.capacity, 10);

  function say(kind, text) { window.TT.feedback(feedbackEl, kind, text); }

  function show(bill) {
    document.getElementById("count").textContent = bill.parent_count;
    document.getElementById("bar-fill").style.width = Math.round(100 * bill.parent_count / capacity) + "%";
    document.getElementById("actual-kg").textContent = bill.actual_weight_kg.toFixed(1);
    document.getElementById("bill-status").textContent = bill.status.replace("_", " ");
  }

  /* A row as the server renders it: the parent (linked to its lookup), its children, who
     added it, and its Remove form. The children come from the bag itself (the bill's
     answer counts them for the whole bill only). */
  function addRow(code) {
    var empty = document.getElementById("no-parents");
    if (empty) empty.parentNode.removeChild(empty);
    var row = document.createElement("tr");
    row.dataset.parent = code;
    var link = document.createElement("a");
    link.href = "/lookup/?q=" + encodeURIComponent(code);
    link.textContent = code;
    var children = document.createElement("td");
    children.className = "children";
    children.textContent = "…";
    var form = document.createElement("form");
    form.method = "post";
    form.action = root.dataset.removeUrl;
    form.className = "inline";
    [["csrfmiddlewaretoken", csrf], ["qr_id", code]].forEach(function (pair) {
      var hidden = document.createElement("input");
      hidden.type = "hidden"; hidden.name = pair[0]; hidden.value = pair[1];
      form.appendChild(hidden);
    });
    var button = document.createElement("button");
    button.type = "submit"; button.className = "secondary"; button.textContent = gettext("Remove");
    button.setAttribute("aria-label", fmt(gettext("Remove %(code)s"), { code: code }));
    form.appendChild(button);
    [link, children, document.body.dataset.user || "you", form].forEach(function (content) {
      var cell = content.tagName === "TD" ? content : document.createElement("td");
      if (cell !== content) {
        if (typeof content === "string") cell.textContent = content; else cell.appendChild(content);
      }
      row.appendChild(cell);
    });
    var body = document.getElementById("parents");
    body.insertBefore(row, body.firstChild);
    fetch("/api/v1/bags/" + encodeURIComponent(code) + "/", { credentials: "same-origin",
                                                              headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (bag) { children.textContent = bag ? String(bag.child_count) : "–"; })
      .catch(function () { children.textContent = "–"; });
  }

  function onAnswer(item, answer, replayed) {
    var code = item.body.qr_id, data = answer.data || {};
    if (answer.status === 201 || answer.status === 200) {
      show(data);
      if (answer.status === 201) addRow(code);
      if (!replayed) {
        if (data.duplicate) say("dup", fmt(gettext("%(code)s is already on this bill."), { code: code }));
        else if (data.parent_count === capacity) say("ok", fmt(gettext("%(code)s added. The bill is full: complete it."), { code: code }));
        else say("ok", fmt(gettext("%(code)s added: %(count)s / %(capacity)s"), { code: code, count: data.parent_count, capacity: capacity }));
      }
    } else {
      say("err", code + ": " + window.TT.explain(answer.status, data));
    }
  }

  var queue = new window.TT.Queue("bill-" + billId, csrf, onAnswer, function (n, refusal) {
    window.TT.showPending(pendingEl, n, refusal);
  });

  function handle(raw) {
    var code = String(raw || "").trim().toUpperCase();
    if (!code) return;
    var item = { path: "bills/" + encodeURIComponent(billId) + "/parents/", body: { qr_id: code, scan_id: window.TT.uuid() } };
    queue.send(item).then(function (answer) {
      if (answer.queued && answer.signedOut) {
        say("err", fmt(gettext("Signed out — %(code)s is kept on this device and sent after you"), { code: code }) + " ");
        feedbackEl.appendChild(window.TT.loginLink());
      } else if (answer.queued) say("info", fmt(answer.unreachable ? gettext("Server unreachable: %(code)s saved on this device and will be sent.")
                                                     : gettext("No network: %(code)s saved on this device and will be sent."), { code: code }));
      else onAnswer(item, answer, false);
    });
  }

  document.getElementById("scan-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var value = input.value;
    input.value = "";
    handle(value);
  });

  var camera = new window.TT.Camera(document.getElementById("video"), document.getElementById("canvas"), csrf,
    handle, function (message) { say("err", message); });
  document.getElementById("camera").addEventListener("click", function () {
    var box = document.getElementById("camera-box");
    if (camera.running()) { camera.stop(); box.hidden = true; return; }
    box.hidden = false;
    camera.start().then(function (ok) { if (!ok) box.hidden = true; });
  });

  window.TT.keyboardToggle(input, document.getElementById("keyboard"));
  window.TT.keepFocus(input);
  queue.flush();
})();
