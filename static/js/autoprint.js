// Label print page: the print button, and one print dialog on load when the page asks (data-autoprint="1").
(function () {
  var button = document.getElementById("print-button");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
  if (document.body.dataset.autoprint === "1") {
    window.addEventListener("load", function () { window.print(); });
  }
})();
