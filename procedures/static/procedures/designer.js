// The form designer's questions page: drag a question (by its handle) within a page or to
// another page; on drop the new order is posted and saved as a new version. The up/down
// buttons beside each question do the same from the keyboard.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.getElementById("reorder-form");
    if (!form || typeof Sortable === "undefined") return;
    function submitOrder() {
      form.querySelectorAll('input[name="order"]').forEach(function (input) { input.remove(); });
      document.querySelectorAll("[data-page-id]").forEach(function (page) {
        var ids = [];
        page.querySelectorAll("[data-field-id]").forEach(function (item) { ids.push(item.dataset.fieldId); });
        var input = document.createElement("input");
        input.type = "hidden";
        input.name = "order";
        input.value = page.dataset.pageId + ":" + ids.join(",");
        form.appendChild(input);
      });
      form.submit();
    }
    document.querySelectorAll("[data-sortable-questions]").forEach(function (list) {
      Sortable.create(list, {
        group: "questions",
        handle: ".drag-handle",
        draggable: "[data-field-id]",
        animation: 150,
        onEnd: function (event) {
          if (event.from !== event.to || event.oldIndex !== event.newIndex) submitOrder();
        }
      });
    });
  });
})();
