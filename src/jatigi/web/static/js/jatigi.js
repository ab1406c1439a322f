// Jatigi's own script: small, no inline code (the content security policy forbids it).
(function () {
  "use strict";
  // Every htmx request carries the session's CSRF token.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.dataset.csrf;
    if (token) { event.detail.headers["X-CSRF-Token"] = token; }
  });
  // Buttons that ask before acting (e.g. delete): data-confirm="question".
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) { event.preventDefault(); }
  });
})();
