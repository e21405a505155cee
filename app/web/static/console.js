// Marketer console: live segment size, character counters, the send-time note, and
// campaign progress polling. Every page works without it (forms submit, pages reload).
"use strict";

(function () {
  // Same grouping as the server: narrow no-break spaces between thousands.
  function fmt(n) {
    return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "\u202f");
  }

  function getJSON(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, body: body }; });
      });
  }

  function segmentParams(form) {
    var params = new URLSearchParams();
    var program = form.elements.namedItem("program");
    if (program && program.value) params.set("program", program.value);
    form.querySelectorAll("[data-segment] [name]").forEach(function (el) {
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) return;
      if (el.value === "") return;
      params.append(el.name, el.value);
    });
    return params;
  }

  function showErrors(form, errors) {
    form.querySelectorAll("[data-segment] [data-error-for]").forEach(function (p) {
      var message = errors[p.dataset.errorFor] || "";
      p.textContent = message;
      p.hidden = !message;
      var input = p.parentElement.querySelector("input:not([type=checkbox]), select");
      if (!input) return;
      if (message) input.setAttribute("aria-invalid", "true");
      else input.removeAttribute("aria-invalid");
    });
  }

  function liveSize(form) {
    var segment = form.querySelector("[data-segment]");
    var out = form.querySelector("[data-segment-size]");
    if (!segment || !out) return;
    var box = out.closest(".seg-size");
    var carry = document.querySelectorAll("[data-carry-filters]");
    var timer = null;
    var seq = 0;

    function refresh() {
      var params = segmentParams(form);
      carry.forEach(function (a) { a.href = a.dataset.carryFilters + "?" + params.toString(); });
      var mine = ++seq;
      box.classList.add("loading");
      getJSON(form.dataset.sizeUrl + "?" + params.toString())
        .then(function (answer) {
          if (mine !== seq) return; // a newer request is on its way
          box.classList.remove("loading");
          if (answer.ok) {
            out.textContent = fmt(answer.body.size);
            showErrors(form, {});
          } else {
            out.textContent = "—";
            showErrors(form, answer.body.errors || {});
          }
        })
        .catch(function () { if (mine === seq) box.classList.remove("loading"); });
    }

    function schedule() {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    }
    segment.addEventListener("input", schedule);
    segment.addEventListener("change", schedule);
  }

  function counters() {
    document.querySelectorAll("[data-maxchars]").forEach(function (field) {
      var counter = document.querySelector('[data-count-for="' + field.id + '"]');
      if (!counter) return;
      var max = Number(field.dataset.maxchars);
      function update() {
        var length = Array.from(field.value).length;
        counter.textContent = counter.textContent.replace(/^\d+/, String(length));
        counter.classList.toggle("over", length > max);
      }
      field.addEventListener("input", update);
      update();
    });
  }

  function sendTime() {
    var box = document.querySelector("[data-send]");
    if (!box) return;
    var at = box.querySelector("input[type=datetime-local]");
    var note = box.querySelector("[data-quiet-moves]");
    var start = Number(box.dataset.quietStart);
    var end = Number(box.dataset.quietEnd);

    function quiet(hour) {
      return start > end ? hour >= start || hour < end : start <= hour && hour < end;
    }
    function update() {
      var chosen = box.querySelector("input[name=send]:checked");
      var later = chosen && chosen.value === "at";
      at.disabled = !later;
      at.required = later;
      var hour = parseInt((at.value || "").slice(11, 13), 10);
      note.hidden = !(later && !isNaN(hour) && quiet(hour));
    }
    box.addEventListener("change", update);
    box.addEventListener("input", update);
    update();
  }

  function progress() {
    var box = document.querySelector("[data-progress-url]");
    if (!box) return;
    var initial = box.dataset.status;
    var bar = box.querySelector("[data-bar]");
    var status = document.getElementById("status");
    var timer = setInterval(poll, 2000);

    function poll() {
      getJSON(box.dataset.progressUrl)
        .then(function (answer) {
          if (!answer.ok) return;
          var p = answer.body;
          ["targets", "holdout", "skipped", "applied", "pushed", "accepted", "failed", "pruned", "percent"].forEach(function (name) {
            var el = box.querySelector('[data-field="' + name + '"]');
            if (el) el.textContent = fmt(p[name]);
          });
          bar.setAttribute("aria-valuenow", p.percent);
          bar.firstElementChild.style.width = p.percent + "%";
          if (status) {
            status.textContent = p.status_text;
            status.className = "status status-" + p.status;
          }
          if (p.status !== "scheduled") {
            var notice = document.getElementById("scheduled-for");
            if (notice) notice.hidden = true;
          }
          if (p.status !== initial) {
            // Started or finished while we watched: reload to show the report.
            clearInterval(timer);
            window.location.reload();
          } else if (!p.live) {
            clearInterval(timer); // every phone has answered
          }
        })
        .catch(function () { /* keep polling: the next answer will do */ });
    }
  }

  // Widths and colours from data attributes: the CSP refuses inline style attributes,
  // not styles set from a script of ours.
  function dataStyles() {
    document.querySelectorAll("[data-percent]").forEach(function (el) {
      el.style.width = el.dataset.percent + "%";
    });
    document.querySelectorAll("[data-background]").forEach(function (el) {
      el.style.background = el.dataset.background;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    dataStyles();
    document.querySelectorAll("form[data-size-url]").forEach(liveSize);
    document.querySelectorAll("[data-submit-on-change]").forEach(function (el) {
      el.addEventListener("change", function () { el.form.submit(); });
    });
    counters();
    sendTime();
    progress();
  });
})();
