// Progressive enhancement of the pages: the CSRF header on htmx requests, nothing else needs script.
(function () {
  "use strict";
  var meta = document.querySelector('meta[name="csrf-token"]');
  document.body.addEventListener("htmx:configRequest", function (event) {
    if (meta) { event.detail.headers["X-CSRF-Token"] = meta.getAttribute("content"); }
  });
  // The register form grows a petitioner or demand row at a time (a group may be large).
  document.querySelectorAll("button[data-add]").forEach(function (button) {
    button.addEventListener("click", function () {
      var rows = button.parentNode.querySelectorAll("." + button.dataset.add);
      var last = rows[rows.length - 1];
      var copy = last.cloneNode(true);
      var index = rows.length;
      copy.querySelectorAll("input, textarea, select").forEach(function (field) {
        field.removeAttribute("required");
        if (field.type === "checkbox") { field.checked = false; field.value = String(index); }
        else if (field.tagName !== "SELECT") { field.value = ""; }
      });
      copy.querySelectorAll("label").forEach(function (label) {
        var text = label.firstChild;
        if (text && text.nodeType === 3) { text.nodeValue = text.nodeValue.replace(/\d+\s*$/, String(index + 1)); }
      });
      last.parentNode.insertBefore(copy, button);
    });
  });
})();
