// The resident's form: show or hide the fields that have a show_if condition as the person
// answers, look an address up from its postal code, and write a chosen date in 和暦.
// The server decides again on submit; this only keeps the page short and saves typing.
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
      // The question it waits for is on an earlier page: the server already decided.
      if (!target) return;
      var shown = target && !target.hidden &&
        valuesOf(form, box.dataset.showIfField).indexOf(box.dataset.showIfEquals.toLowerCase()) !== -1;
      box.hidden = !shown;
    });
  }

  // 和暦 as procedures/certificates/kinds.py wareki() writes it.
  var ERAS = [[2019, 5, 1, "令和"], [1989, 1, 8, "平成"], [1926, 12, 25, "昭和"],
              [1912, 7, 30, "大正"], [1868, 1, 25, "明治"]];
  function wareki(iso) {
    var m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(iso || "");
    if (!m) return "";
    var y = +m[1], mo = +m[2], d = +m[3];
    for (var i = 0; i < ERAS.length; i++) {
      var e = ERAS[i];
      if (y > e[0] || (y === e[0] && (mo > e[1] || (mo === e[1] && d >= e[2])))) {
        var n = y - e[0] + 1;
        return e[3] + (n === 1 ? "元" : n) + "年" + mo + "月" + d + "日（" + y + "年）";
      }
    }
    return y + "年" + mo + "月" + d + "日";
  }
  function showWareki(input) {
    var out = document.getElementById(input.dataset.wareki);
    if (out && document.documentElement.lang !== "en") out.textContent = wareki(input.value);
  }

  function lookUp(button) {
    var source = document.getElementById(button.dataset.postalSource);
    var target = document.getElementById(button.dataset.postalTarget);
    var status = button.parentNode.querySelector(".postal-status");
    var digits = (source.value || "").replace(/[^0-9０-９]/g, "")
      .replace(/[０-９]/g, function (c) { return String.fromCharCode(c.charCodeAt(0) - 0xFEE0); });
    status.textContent = "";
    if (digits.length !== 7) {
      status.textContent = button.dataset.msgDigits;
      return;
    }
    fetch(button.dataset.postalUrl.replace("0000000", digits), {headers: {"Accept": "application/json"}})
      .then(function (r) { return r.json().then(function (body) { return {ok: r.ok, body: body}; }); })
      .then(function (result) {
        if (!result.ok) {
          status.textContent = result.body.detail || button.dataset.msgNotFound;
          return;
        }
        var places = result.body.places;
        source.value = result.body.postal_code;
        if (places.length === 1) {
          target.value = places[0].address;
          status.textContent = button.dataset.msgFilled;
          target.focus();
          return;
        }
        status.textContent = button.dataset.msgChoose;
        places.forEach(function (place) {
          var choice = document.createElement("button");
          choice.type = "button";
          choice.className = "link-button postal-choice";
          choice.textContent = place.address;
          choice.addEventListener("click", function () {
            target.value = place.address;
            status.textContent = button.dataset.msgFilled;
            target.focus();
          });
          status.appendChild(document.createElement("br"));
          status.appendChild(choice);
        });
      })
      .catch(function () { status.textContent = button.dataset.msgNotFound; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form.application-form").forEach(function (form) {
      form.addEventListener("change", function () { update(form); });
      form.addEventListener("input", function () { update(form); });
      update(form);
      form.querySelectorAll("[data-wareki]").forEach(function (input) {
        input.addEventListener("change", function () { showWareki(input); });
        input.addEventListener("input", function () { showWareki(input); });
      });
      form.querySelectorAll(".postal-button").forEach(function (button) {
        button.hidden = false;
        button.addEventListener("click", function () { lookUp(button); });
      });
    });
  });
})();
