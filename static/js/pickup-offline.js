// The pickup page's scan queue. Every scan (typed, a scanner that types, or the camera: window.pickupQueue.add)
// gets an id made here (crypto.randomUUID), is kept in IndexedDB (it survives a reload or a closed tab), shows
// as "3 waiting to send", and is sent in order to the batch endpoint as soon as a request gets through. The
// server treats a repeated id as the same scan, so a retry never ships twice. Each answer is shown against the
// scan it belongs to. A service worker (static/sw.js) keeps this page and its assets for opening with no signal.
// Visible words come from the form's data-t-* attributes, translated by the template.
(function () {
  "use strict";
  var form = document.getElementById("pickup-scan-form");
  if (!form || !window.indexedDB) return;  // no queue: the form posts one scan as before
  var input = form.querySelector(".scan-input");
  var batchUrl = form.getAttribute("data-batch-url");
  var pickup = form.getAttribute("data-pickup");
  var csrf = form.querySelector("input[name=csrf_token]").value;
  var log = document.getElementById("scan-log");
  var waitingBadge = document.getElementById("queue-waiting");
  var note = document.getElementById("queue-note");
  var countEl = document.getElementById("pickup-count");
  var BATCH = 500;  // the endpoint's limit per request
  var RETRY_MS = 5000;
  var STORE = "scans";
  var inflight = null;  // the flush under way
  var again = false;  // flush once more when it ends
  var retryTimer = null;
  var dbPromise = null;

  function t(name, values) {
    var text = form.getAttribute("data-t-" + name) || name;
    Object.keys(values || {}).forEach(function (key) { text = text.split("{" + key + "}").join(values[key]); });
    return text;
  }

  // IndexedDB: one store of scans keyed by id, each with its pickup and an ever-growing sequence number.
  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        var request = indexedDB.open("portal-pickup-queue", 1);
        request.onupgradeneeded = function () {
          var store = request.result.createObjectStore(STORE, { keyPath: "id" });
          store.createIndex("pickup_seq", ["pickup", "seq"]);
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }
  function tx(mode, work) {
    return openDb().then(function (db) {
      return new Promise(function (resolve, reject) {
        var transaction = db.transaction(STORE, mode);
        var result = work(transaction.objectStore(STORE));
        transaction.oncomplete = function () { resolve(result && "result" in result ? result.result : result); };
        transaction.onerror = function () { reject(transaction.error); };
        transaction.onabort = function () { reject(transaction.error); };
      });
    });
  }
  function pending() {  // this pickup's scans, oldest first
    return tx("readonly", function (store) {
      return store.index("pickup_seq").getAll(IDBKeyRange.bound([pickup, 0], [pickup, Infinity]));
    });
  }
  function forget(ids) {
    return tx("readwrite", function (store) { ids.forEach(function (id) { store.delete(id); }); });
  }

  var lastSeq = 0;
  function nextSeq() {  // increasing even when two scans fall in the same millisecond
    lastSeq = Math.max(Date.now() * 1000, lastSeq + 1);
    return lastSeq;
  }
  function newId() {
    if (window.crypto && crypto.randomUUID) return crypto.randomUUID();
    return "s-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 12);
  }

  // The list on the page: one line per scan, newest on top.
  function line(scan) {
    var item = document.getElementById("scan-" + scan.id);
    if (!item) {
      item = document.createElement("li");
      item.id = "scan-" + scan.id;
      item.className = "list-group-item px-0 d-flex justify-content-between gap-2 scan-line";
      var code = document.createElement("span");
      code.className = "handle text-break";
      code.textContent = scan.code;
      var state = document.createElement("span");
      state.className = "scan-state text-end";
      item.appendChild(code);
      item.appendChild(state);
      log.insertBefore(item, log.firstChild);
    }
    return item;
  }
  function show(scan, status, message) {
    var item = line(scan);
    item.setAttribute("data-status", status);
    var state = item.querySelector(".scan-state");
    var label = t(status);
    state.textContent = message ? label + " · " + message : label;
    state.className = "scan-state text-end " + (
      status === "shipped" ? "text-success" : status === "queued" ? "text-muted" : "text-danger");
  }
  function feedback(status, message, codes) {
    var result = document.querySelector("#scan-result [data-outcome]");
    if (result && message) {
      var outcome = status === "shipped" ? "shipped" : status === "duplicate" ? "already" : "error";
      result.setAttribute("data-outcome", outcome);
      result.className = "scan-result scan-" + (outcome === "already" ? "already" : outcome === "error" ? "error" : "shipped");
      result.textContent = message;
    }
    document.dispatchEvent(new CustomEvent("pickup:result", { detail: { status: status, message: message, codes: codes || [] } }));
  }

  function setCounter(n) {
    waitingBadge.hidden = n === 0;
    waitingBadge.textContent = t("waiting", { n: n });
    form.setAttribute("data-waiting", String(n));
  }
  function refreshCounter() {
    return pending().then(function (scans) { setCounter(scans.length); return scans; });
  }

  function add(code, source) {
    code = (code || "").trim();
    if (!code) return Promise.resolve(null);
    var scan = { id: newId(), pickup: pickup, seq: nextSeq(), code: code, scanned_at: new Date().toISOString(),
                 source: source || "typed" };
    show(scan, "queued");
    return tx("readwrite", function (store) { store.put(scan); })
      .then(refreshCounter)
      .then(function () { flush(); return scan; });
  }

  function scheduleRetry() {
    if (retryTimer) return;
    retryTimer = setTimeout(function () { retryTimer = null; flush(); }, RETRY_MS);
  }

  // One sending at a time: a scan added meanwhile is sent right after (never the same scan in two requests).
  function flush() {
    if (inflight) { again = true; return inflight; }
    function settled() {
      inflight = null;
      if (again) { again = false; return flush(); }
    }
    inflight = send().then(settled, settled);
    return inflight;
  }

  function send() {
    return pending().then(function (scans) {
      setCounter(scans.length);
      if (!scans.length) return;
      if (navigator.onLine === false) { note.textContent = t("offline"); scheduleRetry(); return; }
      note.textContent = t("sending");
      var batch = scans.slice(0, BATCH);
      return fetch(batchUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf, "Accept": "application/json" },
        body: JSON.stringify({ scans: batch.map(function (s) { return { id: s.id, code: s.code, scanned_at: s.scanned_at }; }) }),
      }).then(function (response) {
        var type = response.headers.get("Content-Type") || "";
        if (!response.ok || type.indexOf("json") < 0) {
          throw { status: response.status || "?" };
        }
        return response.json();
      }).then(function (answer) {
        var byId = {};
        (answer.results || []).forEach(function (r) { byId[r.id] = r; });
        var done = [];
        var codes = [];
        var shipped = 0;
        var last = null;
        var worst = null;
        batch.forEach(function (scan) {
          var r = byId[scan.id];
          if (!r) return;  // not answered: stays queued, sent again
          done.push(scan.id);
          codes.push(scan.code);
          show(scan, r.status, r.message);
          if (r.status === "shipped") shipped += 1;
          if (r.status === "shipped" && r.tracking_no) {
            var waiting = document.querySelectorAll("#pickup-waiting .handle");
            for (var i = 0; i < waiting.length; i++) {
              if (waiting[i].textContent === r.tracking_no) waiting[i].closest("li").remove();
            }
          }
          last = r;
          if (r.status !== "shipped") worst = r;
        });
        // One beep per request: a replay of many queued scans does not sound 500 times; a refusal wins.
        if (last) feedback((worst || last).status, last.message, codes);
        if (countEl && shipped) countEl.textContent = String(parseInt(countEl.textContent, 10) + shipped);
        note.textContent = "";
        return forget(done).then(refreshCounter).then(function (left) { if (left.length && done.length) return send(); });
      }).catch(function (error) {
        note.textContent = error && error.status ? t("failed", { status: error.status }) : t("offline");
        scheduleRetry();
      });
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var code = input.value;
    input.value = "";
    input.focus();
    add(code, "typed");
  });
  // Ending the pickup sends the kept scans first; with no connection it waits (the scans would be left out).
  Array.prototype.forEach.call(document.querySelectorAll("form[action$='/end']"), function (endForm) {
    endForm.addEventListener("submit", function (event) {
      if (endForm.getAttribute("data-sent") === "1") return;
      event.preventDefault();
      flush().then(pending).then(function (scans) {
        if (scans.length) { note.textContent = t("offline"); return; }
        endForm.setAttribute("data-sent", "1");
        endForm.submit();
      });
    });
  });
  window.addEventListener("online", function () { flush(); });
  window.addEventListener("offline", function () { note.textContent = t("offline"); });
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });

  window.pickupQueue = { add: add, flush: flush, pending: pending };

  // Scans left from an earlier visit (or a closed tab): listed, then sent.
  pending().then(function (scans) {
    scans.forEach(function (scan) { show(scan, "queued"); });
    setCounter(scans.length);
    flush();
  });
  if (input) input.focus();

  // The service worker keeps this page and what it loaded, so the pickup reopens with no signal.
  if ("serviceWorker" in navigator && window.caches) {
    navigator.serviceWorker.register(form.getAttribute("data-sw-url"), { scope: form.getAttribute("data-sw-scope") })
      .then(function () {
        var urls = [location.pathname];
        var camera = document.getElementById("camera-scan");  // the decoder, loaded only when the camera starts
        if (camera) urls.push(camera.getAttribute("data-decoder-url"), camera.getAttribute("data-wasm-url"));
        performance.getEntriesByType("resource").forEach(function (entry) {
          var url = new URL(entry.name);
          if (url.origin === location.origin && url.pathname.indexOf("/static/") >= 0) urls.push(url.pathname + url.search);
        });
        return caches.open("portal-pickup-v1").then(function (cache) {
          return Promise.all(urls.map(function (url) { return cache.add(url).catch(function () {}); }));
        });
      })
      .then(function () { form.setAttribute("data-offline-ready", "1"); })
      .catch(function () { /* no service worker: the queue still keeps scans */ });
  }
})();
