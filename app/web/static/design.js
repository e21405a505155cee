// Card design page: the preview images follow the form as it is edited (debounced).
// Without this script the "Preview" button reloads the page with the values.
"use strict";

(function () {
  var form = document.getElementById("design-form");
  if (!form) return;
  var images = document.querySelectorAll("img[data-preview]");
  var button = document.getElementById("preview-button");
  if (button) button.hidden = true;
  var timer = null;

  function params() {
    var out = new URLSearchParams();
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || el.type === "submit") return;
      out.append(el.name, el.value);
    });
    out.set("hl", document.documentElement.lang || "ru");
    return out.toString();
  }

  function refresh() {
    var query = params();
    images.forEach(function (img) {
      var base = img.src.split("?")[0];
      // "v" names the published texts and images the picture also shows: keep it.
      var version = new URL(img.src).searchParams.get("v");
      var next = base + "?" + query + (version ? "&v=" + encodeURIComponent(version) : "");
      if (img.src === next) return;
      img.setAttribute("data-loading", "");
      img.src = next;
    });
  }

  images.forEach(function (img) {
    img.addEventListener("load", function () { img.removeAttribute("data-loading"); });
    img.addEventListener("error", function () { img.removeAttribute("data-loading"); });
  });

  function later() {
    if (timer) clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  }

  form.addEventListener("input", later);
  form.addEventListener("change", later);
})();
