// Forms that take a while (a 50,000-row import) show a spinner and cannot be sent twice.
document.querySelectorAll("form").forEach(function (form) {
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    var spinner = button.querySelector(".spinner-border");
    if (spinner) spinner.classList.remove("d-none");
    setTimeout(function () { button.disabled = true; }, 0);
  });
});
