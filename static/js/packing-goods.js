// Packing desk, goods checked (验货): while a parcel still waits for its items, the scanner types into the item
// input, not into the parcel's. Runs after scan.js has settled the answer (and focused the parcel's input).
(function () {
  function focusItem() {
    var item = document.getElementById("item-code");
    if (item) { item.value = ""; item.focus(); }
  }
  document.body.addEventListener("htmx:afterSwap", focusItem);
  document.body.addEventListener("htmx:responseError", function (event) {
    // scan.js swapped the refusal in by hand: let htmx wire up its item form too, so the next scan stays in place.
    var target = event.detail.target && document.getElementById(event.detail.target.id);
    if (target && window.htmx) window.htmx.process(target);
    setTimeout(focusItem, 0);
  });
  focusItem();
})();
