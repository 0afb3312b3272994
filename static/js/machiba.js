// Small behaviours shared by every page. No inline scripts anywhere (CSP: script-src 'self').
document.addEventListener("DOMContentLoaded", function () {
  // Buttons that confirm before submitting: <button data-confirm="...">.
  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (!window.confirm(el.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });
  // GOV.UK error summary: focus moves to it when the page loads, so a screen reader reads it
  // first; each link moves focus to its answer and shows the answer's label too.
  var summary = document.querySelector("[data-module=error-summary]");
  if (summary) {
    summary.setAttribute("tabindex", "-1");
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest("a[href^='#']");
      var input = link && document.getElementById(link.getAttribute("href").slice(1));
      if (!input) return;
      event.preventDefault();
      var box = input.closest(".form-field") || input;
      box.scrollIntoView();
      input.focus({ preventScroll: true });
    });
  }
  // htmx sends Django's CSRF token on every request it makes.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (match) {
      event.detail.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
    }
  });
});
