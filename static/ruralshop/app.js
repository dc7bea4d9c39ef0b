// Ruralshop's only script besides htmx: small behaviours, no inline JavaScript.
(function () {
  "use strict";
  // The cart's total, so the partner can tell the villager what to pay before placing.
  function cartTotal() {
    var out = document.getElementById("cart-total");
    if (!out) {
      return;
    }
    var fen = 0;
    document.querySelectorAll("#cart-lines tr[data-price]").forEach(function (row) {
      var qty = parseInt(row.querySelector("input[name=quantity]").value, 10);
      if (qty > 0) {
        fen += Math.round(parseFloat(row.dataset.price) * 100) * qty;
      }
    });
    out.textContent = (fen / 100).toFixed(2);
  }
  document.addEventListener("input", cartTotal);
  document.addEventListener("htmx:afterSwap", cartTotal);
  document.addEventListener("DOMContentLoaded", cartTotal);

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-remove-row]")) {
      target.closest("tr").remove();
      cartTotal();
    } else if (target.closest("[data-print]")) {
      window.print();
    }
  });
  // Receiving parcels: a scanner (or a finger) enters a label; jump to that parcel instead of submitting.
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (event.key !== "Enter" || !input.matches || !input.matches("[data-scan]")) {
      return;
    }
    event.preventDefault();
    var row = document.getElementById("parcel-" + input.value.trim().toUpperCase());
    if (row) {
      row.classList.add("scanned");
      row.scrollIntoView({block: "center"});
      input.value = "";
    } else {
      input.setCustomValidity("?");
      input.reportValidity();
      setTimeout(function () { input.setCustomValidity(""); }, 1500);
    }
  });
  // A double tap on a slow link must not send a form twice (the server is idempotent anyway).
  document.addEventListener("submit", function (event) {
    var button = event.target.querySelector("button[data-once]");
    if (button) {
      setTimeout(function () { button.disabled = true; }, 0);
    }
  });
})();
