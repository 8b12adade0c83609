// "Scan with camera" (templates/macros/camera.html): the rear camera, scanning Code 128, QR and EAN continuously. The
// browser's BarcodeDetector where it has one (and it reads Code 128), else the vendored zxing-wasm decoder, loaded
// from this portal only when the camera starts. The same code seen again within 3 s counts once. Where a code goes
// is the box's data-mode:
//   queue  the pickup's queue (window.pickupQueue, js/pickup-offline.js), like a typed scan;
//   form   typed into the page's .scan-input and its form submitted, as a scanner that types would (packing desk);
//   link   a label's QR: this portal's reveal address is opened, any other code is refused on screen.
// Each answer: a short beep (js/scan.js beeps on the form pages), a vibration and a green or red flash. The typed
// input stays; without a camera the page says why, and after 5 s with nothing read (a blurred or dark picture) how
// to hold the code. data-decode-ms (frame grabbed to code read) and data-result-ms
// (frame grabbed to its answer on screen) say how long the last code took.
(function () {
  "use strict";
  var box = document.getElementById("camera-scan");
  if (!box) return;
  var toggle = document.getElementById("camera-toggle");
  var torch = document.getElementById("torch-toggle");
  var view = document.getElementById("camera-view");
  var video = document.getElementById("camera-video");
  var message = document.getElementById("camera-message");
  var hint = document.getElementById("camera-hint");
  var HINT_MS = 5000;  // no code read for this long (a blurred or dark picture): say how to hold it
  var lastRead = 0;
  var mode = box.getAttribute("data-mode") || "queue";
  var SAME_CODE_MS = 3000;
  var FRAME_MS = 120;
  var stream = null;
  var detect = null;  // function(video) -> Promise of [text]
  var running = false;
  var seen = {};  // code -> when it was last read
  var audio = null;
  var canvas = null;

  function t(name) { return box.getAttribute("data-t-" + name) || name; }
  // A code the page will not take (link mode): said under the picture; the camera goes on.
  function refuse(text) { message.textContent = text; message.hidden = !text; }
  function say(text) { message.textContent = text; message.hidden = !text; if (text) box.setAttribute("data-camera", "error"); }

  function beep(good) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      osc.type = good ? "sine" : "square";
      osc.frequency.value = good ? 1320 : 220;
      gain.gain.value = 0.15;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + (good ? 0.12 : 0.4));
    } catch (e) { /* no sound: the colour still tells */ }
  }
  function flash(good) {
    var target = view.hidden ? document.getElementById("scan-result") : view;
    if (!target) return;
    target.classList.remove("flash-ok", "flash-bad");
    target.classList.add(good ? "flash-ok" : "flash-bad");
    setTimeout(function () { target.classList.remove("flash-ok", "flash-bad"); }, 600);
  }
  var grabbed = {};  // code -> when the frame it was read from was grabbed (performance.now)
  function answered(good, codes, sound) {
    if (sound) beep(good);
    if (navigator.vibrate) navigator.vibrate(good ? 80 : [200, 80, 200]);
    flash(good);
    (codes || []).forEach(function (code) {
      if (grabbed[code] === undefined) return;
      box.setAttribute("data-result-ms", String(Math.round(performance.now() - grabbed[code])));
      delete grabbed[code];
    });
  }
  // Every answer of the queue (typed or camera): sound, vibration, colour.
  document.addEventListener("pickup:result", function (event) {
    answered(event.detail.status === "shipped", event.detail.codes, true);
  });
  // The form pages: js/scan.js sounds the answer; here the vibration and the colour.
  document.body.addEventListener("htmx:afterSwap", function () {
    if (mode !== "form") return;
    var result = document.querySelector("[data-outcome]");
    var outcome = result ? result.getAttribute("data-outcome") : "idle";
    if (outcome === "idle") return;
    answered(outcome !== "error", [box.getAttribute("data-last-code")], false);
  });

  function deliver(code) {
    if (mode === "queue") {
      if (window.pickupQueue) window.pickupQueue.add(code, "camera");
    } else if (mode === "form") {
      var inputs = document.querySelectorAll(".scan-input");  // a step's own input (in the answer) comes last
      var input = inputs[inputs.length - 1];
      if (!input || !input.form) return;
      input.value = code;
      input.form.requestSubmit();
    } else if (mode === "link") {
      var prefix = box.getAttribute("data-link-prefix");
      if (code.indexOf(prefix) === 0 && /^[A-Za-z0-9_-]+$/.test(code.slice(prefix.length))) {
        refuse("");
        answered(true, [code], true);
        running = false;
        window.location.assign(code);
      } else {
        refuse(t("notours"));
        answered(false, [code], true);
      }
    }
  }

  function loadScript(src) {
    return new Promise(function (resolve, reject) {
      var script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = reject;
      document.head.appendChild(script);
    });
  }

  function nativeDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("code_128") < 0) return null;
      var wanted = ["code_128", "qr_code", "ean_13", "ean_8"];
      var detector = new window.BarcodeDetector({ formats: wanted.filter(function (f) { return formats.indexOf(f) >= 0; }) });
      return function (source) {
        return detector.detect(source).then(function (codes) { return codes.map(function (c) { return c.rawValue; }); });
      };
    }).catch(function () { return null; });
  }

  function wasmDetector() {
    var wasmUrl = box.getAttribute("data-wasm-url");
    return loadScript(box.getAttribute("data-decoder-url")).then(function () {
      var zxing = window.ZXingWASM;
      zxing.prepareZXingModule({
        overrides: { locateFile: function (path, prefix) { return /\.wasm$/.test(path) ? wasmUrl : prefix + path; } },
        fireImmediately: true,
      });
      canvas = document.createElement("canvas");
      var context = canvas.getContext("2d", { willReadFrequently: true });
      return function (source) {
        var width = source.videoWidth, height = source.videoHeight;
        if (!width || !height) return Promise.resolve([]);
        canvas.width = width;
        canvas.height = height;
        context.drawImage(source, 0, 0, width, height);
        return zxing.readBarcodes(context.getImageData(0, 0, width, height), {
          formats: ["Code128", "QRCode", "EAN13", "EAN8"], tryHarder: true, maxNumberOfSymbols: 4,
        }).then(function (codes) {
          return codes.filter(function (c) { return c.isValid; }).map(function (c) { return c.text; });
        });
      };
    });
  }

  function fresh(code) {
    var now = Date.now();
    var last = seen[code];
    seen[code] = now;
    return !(last && now - last < SAME_CODE_MS);
  }

  function loop() {
    if (!running) return;
    var started = performance.now();
    detect(video).then(function (codes) {
      if (codes.length) lastRead = performance.now();
      hint.hidden = performance.now() - lastRead < HINT_MS;
      codes.forEach(function (code) {
        if (code && fresh(code)) {
          grabbed[code] = started;
          box.setAttribute("data-last-code", code);
          box.setAttribute("data-decode-ms", String(Math.round(performance.now() - started)));
          deliver(code);
        }
      });
    }).catch(function () { /* a frame that does not decode: the next one may */ }).then(function () {
      if (running) setTimeout(loop, FRAME_MS);
    });
  }

  function start() {
    say("");
    toggle.disabled = true;
    navigator.mediaDevices.getUserMedia({ video: { facingMode: { ideal: "environment" } }, audio: false })
      .then(function (media) {
        stream = media;
        video.srcObject = media;
        view.hidden = false;
        return video.play();
      })
      .then(function () { return detect || nativeDetector().then(function (d) { return d || wasmDetector(); }); })
      .then(function (found) {
        detect = found;
        running = true;
        lastRead = performance.now();
        box.setAttribute("data-camera", "on");
        toggle.querySelector("span").textContent = t("stop");
        toggle.disabled = false;
        var track = stream.getVideoTracks()[0];
        var caps = track && track.getCapabilities ? track.getCapabilities() : {};
        torch.hidden = !caps.torch;
        loop();
      })
      .catch(function (error) {
        stop();
        var name = error && error.name;
        say(name === "NotAllowedError" || name === "SecurityError" ? t("denied")
          : name === "NotFoundError" || name === "OverconstrainedError" ? t("nocamera") : t("failed"));
      });
  }

  function stop() {
    running = false;
    if (stream) stream.getTracks().forEach(function (track) { track.stop(); });
    stream = null;
    video.srcObject = null;
    view.hidden = true;
    hint.hidden = true;
    torch.hidden = true;
    torch.setAttribute("aria-pressed", "false");
    toggle.disabled = false;
    toggle.querySelector("span").textContent = t("start");
    if (box.getAttribute("data-camera") === "on") box.setAttribute("data-camera", "off");
  }

  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say(t("nocamera"));
    return;
  }
  toggle.hidden = false;
  toggle.addEventListener("click", function () { if (running) stop(); else start(); });
  torch.addEventListener("click", function () {
    var track = stream && stream.getVideoTracks()[0];
    if (!track) return;
    var on = torch.getAttribute("aria-pressed") !== "true";
    track.applyConstraints({ advanced: [{ torch: on }] }).then(function () {
      torch.setAttribute("aria-pressed", on ? "true" : "false");
    }).catch(function () { torch.hidden = true; });
  });
})();
