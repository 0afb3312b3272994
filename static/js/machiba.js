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
  // htmx sends Django's CSRF token on every request it makes.
  document.body.addEventListener("htmx:configRequest", function (event) {
    var match = document.cookie.match(/(?:^|; )csrftoken=([^;]+)/);
    if (match) {
      event.detail.headers["X-CSRFToken"] = decodeURIComponent(match[1]);
    }
  });
});
