// Queue page: "select all on this page" (the table's header box, or the one above the cards on a phone) ticks every order.
(function () {
  var boxes = ["select-all", "select-all-cards"].map(function (id) { return document.getElementById(id); })
    .filter(function (box) { return box; });
  boxes.forEach(function (all) {
    all.addEventListener("change", function () {
      document.querySelectorAll(".order-check").forEach(function (box) { box.checked = all.checked; });
      boxes.forEach(function (other) { other.checked = all.checked; });
    });
  });
})();
