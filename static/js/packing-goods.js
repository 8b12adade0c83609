// Packing desk, goods checked (验货): while a parcel still waits for its items, the scanner types into the item
// input, not into the parcel's. Runs after scan.js has settled the answer (and focused the parcel's input).
(function () {
  function focusItem() {
    var item = document.getElementById("item-code");
    if (item) { item.value = ""; item.focus(); }
  }
  document.body.addEventListener("htmx:afterSwap", focusItem);
  // scan.js swapped the refusal in by hand (and wired up its item form): the next item goes there too.
  document.body.addEventListener("htmx:responseError", function () { setTimeout(focusItem, 0); });
  focusItem();
})();
