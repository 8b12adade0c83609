// "Scan with camera" on the pickup page: the rear camera, scanning Code 128 and QR continuously. The browser's
// BarcodeDetector where it has one (and it reads Code 128), else the vendored zxing-wasm decoder, loaded from
// this portal only when the camera starts. Each code read goes to the same queue as a typed one
// (window.pickupQueue, js/pickup-offline.js); the same code seen again within 3 s counts once. Each answer: a
// short beep, a vibration and a green or red flash. The typed input stays; without a camera the page says why.
(function () {
  "use strict";
  var box = document.getElementById("camera-scan");
  if (!box) return;
  var toggle = document.getElementById("camera-toggle");
  var torch = document.getElementById("torch-toggle");
  var view = document.getElementById("camera-view");
  var video = document.getElementById("camera-video");
  var message = document.getElementById("camera-message");
  var SAME_CODE_MS = 3000;
  var FRAME_MS = 120;
  var stream = null;
  var detect = null;  // function(video) -> Promise of [text]
  var running = false;
  var seen = {};  // code -> when it was last read
  var audio = null;
  var canvas = null;

  function t(name) { return box.getAttribute("data-t-" + name) || name; }
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
  // Every answer of the queue (typed or camera): sound, vibration, colour.
  document.addEventListener("pickup:result", function (event) {
    var good = event.detail.status === "shipped";
    beep(good);
    if (navigator.vibrate) navigator.vibrate(good ? 80 : [200, 80, 200]);
    flash(good);
  });

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
      var detector = new window.BarcodeDetector({ formats: ["code_128", "qr_code"].filter(function (f) { return formats.indexOf(f) >= 0; }) });
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
          formats: ["Code128", "QRCode"], tryHarder: true, maxNumberOfSymbols: 4,
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
      codes.forEach(function (code) {
        if (code && fresh(code) && window.pickupQueue) {
          box.setAttribute("data-last-code", code);
          box.setAttribute("data-decode-ms", String(Math.round(performance.now() - started)));
          window.pickupQueue.add(code, "camera");
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
