// The proposal page's chart: the district's overdue share per day over 14 days against its baseline.
// Data comes from the page's <script type="application/json" id="proposal-chart-data"> (no inline script: CSP).
(function () {
  "use strict";
  var source = document.getElementById("proposal-chart-data");
  var canvas = document.getElementById("proposal-chart");
  if (!source || !canvas || typeof Chart === "undefined") return;
  var data = JSON.parse(source.textContent);
  if (!data) return;
  new Chart(canvas, {
    type: "line",
    data: {
      labels: data.labels,
      datasets: [
        { label: data.share_label, data: data.share, borderColor: "#dc3545", backgroundColor: "#dc3545", spanGaps: true, tension: 0 },
        { label: data.baseline_label, data: data.baseline, borderColor: "#6c757d", borderDash: [6, 4], pointRadius: 0 },
      ],
    },
    options: {
      animation: false,
      maintainAspectRatio: false,
      scales: { y: { min: 0, max: 100, ticks: { callback: function (v) { return v + "%"; } } } },
    },
  });
  canvas.dataset.ready = "1";
})();
