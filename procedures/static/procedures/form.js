// Show or hide the fields that have a show_if condition as the person answers.
// The server decides again on submit; this only keeps the page short.
(function () {
  "use strict";
  function valuesOf(form, name) {
    var values = [];
    form.querySelectorAll('[name="' + name + '"]').forEach(function (input) {
      if ((input.type === "checkbox" || input.type === "radio") && !input.checked) return;
      values.push(String(input.value).toLowerCase());
    });
    return values;
  }
  function update(form) {
    form.querySelectorAll("[data-show-if-field]").forEach(function (box) {
      var target = form.querySelector("#field-" + box.dataset.showIfField);
      var shown = target && !target.hidden &&
        valuesOf(form, box.dataset.showIfField).indexOf(box.dataset.showIfEquals.toLowerCase()) !== -1;
      box.hidden = !shown;
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.application-form").forEach(function (form) {
      form.addEventListener("change", function () { update(form); });
      form.addEventListener("input", function () { update(form); });
      update(form);
    });
  });
})();
