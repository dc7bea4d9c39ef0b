// Ruralshop's only script besides htmx: small behaviours, no inline JavaScript.
(function () {
  "use strict";
  // The cart's total and count, in the cart and in the sticky bar, so the partner can tell the villager
  // what to pay before placing, and sees at once that a tap on "add" did something.
  function cartTotal() {
    var out = document.getElementById("cart-total");
    if (!out) {
      return;
    }
    var fen = 0;
    var count = 0;
    document.querySelectorAll("#cart-lines tr[data-price]").forEach(function (row) {
      var qty = parseInt(row.querySelector("input[name=quantity]").value, 10);
      if (qty > 0) {
        fen += Math.round(parseFloat(row.dataset.price) * 100) * qty;
        count += qty;
      }
    });
    out.textContent = (fen / 100).toFixed(2);
    var bar = document.getElementById("cart-bar");
    if (bar) {
      bar.querySelector("[data-cart-count]").textContent = count;
      bar.querySelector("[data-cart-total]").textContent = (fen / 100).toFixed(2);
      bar.hidden = count === 0;
    }
  }
  document.addEventListener("input", cartTotal);
  document.addEventListener("htmx:afterSwap", cartTotal);
  document.addEventListener("DOMContentLoaded", cartTotal);

  // "Add": a product already in the cart gets one more unit in its row instead of a second row, and a
  // second tap on the same product within a second (a double tap, an impatient tap) adds nothing.
  var REPEAT_MS = 1000;
  var lastAdded = {};
  var pending = {};
  function cartRow(productId) {
    return document.querySelector('#cart-lines tr[data-product="' + productId + '"]');
  }
  function showAdded(button) {
    if (button.dataset.label === undefined) {
      button.dataset.label = button.textContent;
    }
    button.textContent = button.dataset.added;
    button.classList.add("added");
    clearTimeout(button.addedTimer);
    button.addedTimer = setTimeout(function () {
      button.textContent = button.dataset.label;
      button.classList.remove("added");
    }, REPEAT_MS);
  }
  document.addEventListener("htmx:confirm", function (event) {
    var button = event.detail.elt;
    if (!button.matches || !button.matches("[data-add-product]")) {
      return;
    }
    var id = button.dataset.addProduct;
    var now = Date.now();
    var repeated = lastAdded[id] !== undefined && now - lastAdded[id] < REPEAT_MS;
    var row = cartRow(id);
    if (repeated || pending[id] || row) {
      event.preventDefault(); // no request: nothing, or one more unit in the row already there
    }
    if (repeated || pending[id]) {
      return;
    }
    lastAdded[id] = now;
    showAdded(button);
    if (row) {
      var qty = row.querySelector("input[name=quantity]");
      var max = parseInt(qty.max, 10) || 999;
      qty.value = Math.min((parseInt(qty.value, 10) || 0) + 1, max);
      cartTotal();
    } else {
      pending[id] = true;
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var button = event.detail.elt;
    if (button.matches && button.matches("[data-add-product]")) {
      delete pending[button.dataset.addProduct];
    }
  });

  // Choosing the villager fills the order form's hidden field on this page: no reload, so a cart put
  // together before the villager was chosen stays (the link still works without JavaScript).
  function chooseVillager(link) {
    var field = document.querySelector("#order-form input[name=villager]");
    var chosen = document.getElementById("villager-chosen");
    if (!field || !chosen) {
      return false;
    }
    field.value = link.dataset.chooseVillager;
    chosen.querySelector("[data-villager-name]").textContent = link.dataset.name;
    chosen.querySelector("[data-villager-phone]").textContent = link.dataset.phone;
    chosen.hidden = false;
    document.getElementById("villager-search").hidden = true;
    document.getElementById("villager-choices").textContent = "";
    return true;
  }
  function changeVillager() {
    var field = document.querySelector("#order-form input[name=villager]");
    if (!field) {
      return false;
    }
    field.value = "";
    document.getElementById("villager-chosen").hidden = true;
    document.getElementById("villager-search").hidden = false;
    document.getElementById("villager-q").focus();
    return true;
  }

  document.addEventListener("click", function (event) {
    var target = event.target;
    var villager = target.closest("[data-choose-villager]");
    if (villager) {
      if (chooseVillager(villager)) {
        event.preventDefault();
      }
    } else if (target.closest("[data-change-villager]")) {
      if (changeVillager()) {
        event.preventDefault();
      }
    } else if (target.closest("[data-remove-row]")) {
      var row = target.closest("tr");
      delete lastAdded[row.dataset.product];
      row.remove();
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
  // The slip with the pickup code is shown once, in the answer to "print": print it straight away.
  if (document.querySelector("[data-autoprint]")) {
    window.addEventListener("load", function () { setTimeout(function () { window.print(); }, 300); });
  }
  // A double tap on a slow link must not send a form twice (the server is idempotent anyway).  The form's
  // elements include a button outside it that names it (form="..."), such as the campaign preview's.
  document.addEventListener("submit", function (event) {
    var buttons = Array.prototype.filter.call(event.target.elements, function (el) {
      return el.matches("button[data-once]");
    });
    setTimeout(function () { buttons.forEach(function (b) { b.disabled = true; }); }, 0);
  });
})();
