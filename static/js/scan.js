// Scan pages (packing desk, pickup): a USB scanner types the number and Enter. After each answer the
// input is empty and focused again, the answer is coloured, and a short tone says how it went.
(function () {
  var input = document.querySelector(".scan-input");
  var audio = null;
  function tone(outcome) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var osc = audio.createOscillator();
      var gain = audio.createGain();
      var bad = outcome === "error";
      osc.type = bad ? "square" : "sine";
      osc.frequency.value = bad ? 220 : outcome === "already" ? 660 : 1320;
      gain.gain.value = 0.15;
      osc.connect(gain);
      gain.connect(audio.destination);
      osc.start();
      osc.stop(audio.currentTime + (bad ? 0.45 : 0.12));
    } catch (e) { /* no sound available: the colour still tells */ }
  }
  function settle(swapped) {
    // htmx wires up the forms it swapped in only when they settle, ~20 ms later: a scanner's Enter before then
    // would post the next form as a whole page. Wire them up now (htmx skips them then).
    if (swapped && window.htmx) window.htmx.process(swapped);
    var result = document.querySelector("[data-outcome]");
    var outcome = result ? result.getAttribute("data-outcome") : "idle";
    if (outcome !== "idle") tone(outcome);
    var confirm = document.querySelector(".confirm-button");
    if (confirm) { confirm.focus(); return; }  // Enter confirms the packed parcel
    if (input) { input.value = ""; input.focus(); }
  }
  document.body.addEventListener("htmx:afterSwap", function (event) { settle(event.detail.target); });
  document.body.addEventListener("htmx:responseError", function (event) {
    // 4xx answers carry the message to show: swap them in like a success.
    var target = document.getElementById(event.detail.target.id);
    if (target && event.detail.xhr.responseText) { target.innerHTML = event.detail.xhr.responseText; settle(target); }
  });
  if (input) input.focus();
})();
