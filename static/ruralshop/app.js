// Ruralshop's only script besides htmx: small behaviours, no inline JavaScript.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target.closest("[data-remove-row]")) {
      target.closest("tr").remove();
    } else if (target.closest("[data-print]")) {
      window.print();
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
