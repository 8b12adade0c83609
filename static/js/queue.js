// Queue page: "select all on this page" ticks every order checkbox.
(function () {
  var all = document.getElementById("select-all");
  if (!all) return;
  all.addEventListener("change", function () {
    document.querySelectorAll(".order-check").forEach(function (box) { box.checked = all.checked; });
  });
})();
